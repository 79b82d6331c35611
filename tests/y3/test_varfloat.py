"""VarFloat against the Go repositories' vectors."""

from __future__ import annotations

import math

import pytest
import y3

# yomorun/y3-codec-golang pkg/encoding/varfloat_test.go and yomorun/y3
# encoding/varfloat_test.go (TestFloat32).
FLOAT32 = [
    (0.0, "00"),
    (1.0, "3F 80"),
    (25.0, "41 C8"),
    (-2.0, "C0"),
    (0.25, "3E 80"),
    (0.375, "3E C0"),
    (12.375, "41 46"),
    (68.123, "42 88 3E FA"),
]
# Same files, TestFloat64.
FLOAT64 = [
    (0.0, "00"),
    (1.0, "3F F0"),
    (2.0, "40"),
    (23.0, "40 37"),
    (-2.0, "C0"),
    (0.01171875, "3F 88"),
]


@pytest.mark.parametrize(("value", "hex_"), FLOAT32)
def test_float32_matches_go_vectors(value: float, hex_: str) -> None:
    encoded = bytes.fromhex(hex_)
    assert y3.encode_varfloat32(value) == encoded
    assert y3.decode_varfloat32(encoded) == pytest.approx(value, rel=1e-7)


@pytest.mark.parametrize(("value", "hex_"), FLOAT64)
def test_float64_matches_go_vectors(value: float, hex_: str) -> None:
    encoded = bytes.fromhex(hex_)
    assert y3.encode_varfloat64(value) == encoded
    assert y3.decode_varfloat64(encoded) == value


def test_negative_zero_keeps_its_sign() -> None:
    assert y3.encode_varfloat64(-0.0) == b"\x80"
    assert math.copysign(1.0, y3.decode_varfloat64(b"\x80")) == -1.0


def test_float32_out_of_range_is_refused() -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="float32"):
        y3.encode_varfloat32(1e39)


def test_float32_infinity_and_nan_pass() -> None:
    assert y3.decode_varfloat32(y3.encode_varfloat32(math.inf)) == math.inf
    assert math.isnan(y3.decode_varfloat32(y3.encode_varfloat32(math.nan)))


def test_float_value_length_limits() -> None:
    with pytest.raises(y3.TruncatedVarIntError, match="empty"):
        y3.decode_varfloat32(b"")
    with pytest.raises(y3.ValueOutOfRangeError, match="too long"):
        y3.decode_varfloat32(bytes(5))
    with pytest.raises(y3.ValueOutOfRangeError, match="too long"):
        y3.decode_varfloat64(bytes(9))

"""PVarInt and NVarInt against the Go repositories' vectors, plus width and error behaviour."""

from __future__ import annotations

import pytest
import y3

# PVarInt: yomorun/y3-codec-golang pkg/encoding/pvarint_test.go and yomorun/y3
# encoding/pvarint_test.go (TestPInt32; the y3 copy adds -3).
PVARINT32 = [
    (-1, "7F"),
    (-3, "7D"),  # yomorun/y3 encoding/pvarint_test.go only
    (-5, "7B"),
    (63, "3F"),
    (-65, "FF 3F"),
    (127, "80 7F"),
    (255, "81 7F"),
    (-4097, "DF 7F"),
    (-8193, "FF BF 7F"),
    (-2097152, "FF 80 80 00"),
    (-134217729, "FF BF FF FF 7F"),
    (-2147483648, "F8 80 80 80 00"),
]
# TestPUInt32 in the same two files.
PVARUINT32 = [
    (1, "01"),
    (127, "80 7F"),
    (128, "81 00"),
    (130, "81 02"),
    (1048576, "80 C0 80 00"),
    (134217728, "80 C0 80 80 00"),
    (4294967295, "7F"),
]
# TestPInt64 / TestPUInt64 in the same two files.
PVARINT64 = [(0, "00"), (1, "01"), (-1, "7F")]
PVARUINT64 = [(0, "00"), (1, "01"), (18446744073709551615, "7F")]

# NVarInt: yomorun/y3-codec-golang pkg/encoding/nvarint_test.go and yomorun/y3
# encoding/nvarint_test.go (TestNInt32, TestNUInt32, TestNInt64, TestNUInt64).
NVARINT32 = [
    (-1, "FF"),
    (-5, "FB"),
    (63, "3F"),
    (-65, "BF"),
    (127, "7F"),
    (255, "00 FF"),
    (-4097, "EF FF"),
    (-8193, "DF FF"),
    (-2097152, "E0 00 00"),
    (-134217729, "F7 FF FF FF"),
    (-2147483648, "80 00 00 00"),
]
NVARUINT32 = [
    (1, "01"),
    (127, "7F"),
    (128, "00 80"),
    (130, "00 82"),
    (1048576, "10 00 00"),
    (134217728, "08 00 00 00"),
    (4294967295, "FF"),
]
NVARINT64 = [(0, "00"), (1, "01"), (-1, "FF")]
NVARUINT64 = [(0, "00"), (1, "01"), (18446744073709551615, "FF")]

CASES = [
    (bits, signed, value, hex_)
    for bits, signed, table in [
        (32, True, PVARINT32),
        (32, False, PVARUINT32),
        (64, True, PVARINT64),
        (64, False, PVARUINT64),
    ]
    for value, hex_ in table
]
NCASES = [
    (bits, signed, value, hex_)
    for bits, signed, table in [
        (32, True, NVARINT32),
        (32, False, NVARUINT32),
        (64, True, NVARINT64),
        (64, False, NVARUINT64),
    ]
    for value, hex_ in table
]


@pytest.mark.parametrize(("bits", "signed", "value", "hex_"), CASES)
def test_pvarint_matches_go_vectors(bits: int, signed: bool, value: int, hex_: str) -> None:
    encoded = bytes.fromhex(hex_)
    assert y3.encode_pvarint(value, bits, signed=signed) == encoded
    assert y3.pvarint_size(value, bits, signed=signed) == len(encoded)
    assert y3.decode_pvarint(encoded, bits=bits, signed=signed) == (value, len(encoded))


@pytest.mark.parametrize(("bits", "signed", "value", "hex_"), NCASES)
def test_nvarint_matches_go_vectors(bits: int, signed: bool, value: int, hex_: str) -> None:
    encoded = bytes.fromhex(hex_)
    assert y3.encode_nvarint(value, bits, signed=signed) == encoded
    assert y3.nvarint_size(value, bits, signed=signed) == len(encoded)
    assert y3.decode_nvarint(encoded, bits=bits, signed=signed) == value


def test_pvarint_decode_ignores_bytes_after_the_last_byte() -> None:
    assert y3.decode_pvarint(bytes.fromhex("81 7F 55 66")) == (255, 2)


def test_pvarint_decode_starts_at_offset() -> None:
    assert y3.decode_pvarint(bytes.fromhex("00 00 FF 3F"), 2) == (-65, 4)


@pytest.mark.parametrize(
    ("bits", "signed", "value"),
    [
        (32, True, 1 << 31),
        (32, True, -(1 << 31) - 1),
        (32, False, -1),
        (32, False, 1 << 32),
        (64, True, 1 << 63),
        (64, False, 1 << 64),
    ],
)
def test_values_outside_the_declared_width_are_refused(bits: int, signed: bool, value: int) -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="does not fit"):
        y3.encode_pvarint(value, bits, signed=signed)
    with pytest.raises(y3.ValueOutOfRangeError, match="does not fit"):
        y3.encode_nvarint(value, bits, signed=signed)


def test_unsigned_decode_accepts_a_positive_encoding_of_a_large_value() -> None:
    # Go casts uint32 to int32 before encoding; a positive encoding of the same value (as
    # another encoder may write it) still fits uint32 and reads back.
    positive = y3.encode_pvarint(4294967295, 64)
    assert y3.decode_pvarint(positive, bits=32, signed=False) == (4294967295, len(positive))
    with pytest.raises(y3.ValueOutOfRangeError, match="does not fit int32"):
        y3.decode_pvarint(positive, bits=32, signed=True)


def test_truncated_pvarint_names_its_offset() -> None:
    with pytest.raises(y3.TruncatedVarIntError, match=r"at offset 1"):
        y3.decode_pvarint(bytes.fromhex("00 81 80"), 1)


def test_empty_pvarint_is_truncated() -> None:
    with pytest.raises(y3.TruncatedVarIntError):
        y3.decode_pvarint(b"")


def test_overlong_pvarint_is_refused_before_more_bytes_are_read() -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="longer than 5 bytes"):
        y3.decode_pvarint(bytes.fromhex("80 80 80 80 80"), bits=32)


def test_nvarint_length_limits() -> None:
    with pytest.raises(y3.TruncatedVarIntError, match="empty"):
        y3.decode_nvarint(b"")
    with pytest.raises(y3.ValueOutOfRangeError, match="too long"):
        y3.decode_nvarint(bytes(6), bits=32)
    with pytest.raises(y3.ValueOutOfRangeError, match="does not fit int32"):
        y3.decode_nvarint(bytes.fromhex("01 00 00 00 00"), bits=32)


def test_width_must_be_32_or_64() -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="32 or 64"):
        y3.encode_pvarint(1, 16)


def test_non_integers_are_refused() -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="expected an integer"):
        y3.encode_pvarint(1.5)  # type: ignore[arg-type]

"""VarFloat: IEEE-754 big-endian bytes with the trailing zero bytes dropped."""

from __future__ import annotations

import struct

from y3._errors import TruncatedVarIntError, ValueOutOfRangeError

__all__ = ["decode_varfloat32", "decode_varfloat64", "encode_varfloat32", "encode_varfloat64"]

Buffer = bytes | bytearray | memoryview

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_ZERO = b"\x00"


def _as_float(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueOutOfRangeError(f"expected a float, got {type(value).__name__}")
    return float(value)


def encode_varfloat32(value: float) -> bytes:
    """Encode as a float32 VarFloat (rounded to the nearest float32, as Go's conversion does).

    Raises ValueOutOfRangeError for a finite value beyond float32's range.
    """
    v = _as_float(value)
    try:
        packed = _F32.pack(v)
    except OverflowError:
        raise ValueOutOfRangeError(f"{value!r} does not fit float32") from None
    return packed.rstrip(_ZERO) or _ZERO


def encode_varfloat64(value: float) -> bytes:
    """Encode as a float64 VarFloat."""
    return _F64.pack(_as_float(value)).rstrip(_ZERO) or _ZERO


def _decode(raw: Buffer, width: int, codec: struct.Struct, offset: int) -> float:
    size = len(raw)
    if size == 0:
        raise TruncatedVarIntError("empty float value", offset=offset)
    if size > width:
        raise ValueOutOfRangeError(
            f"{size}-byte float is too long for {width * 8} bits", offset=offset
        )
    full = bytes(raw) + bytes(width - size) if size < width else raw
    value: float = codec.unpack(full)[0]
    return value


def decode_varfloat32(raw: Buffer, *, offset: int = 0) -> float:
    """Decode a float32 VarFloat (1 to 4 bytes; the missing low bytes are zero)."""
    return _decode(raw, 4, _F32, offset)


def decode_varfloat64(raw: Buffer, *, offset: int = 0) -> float:
    """Decode a float64 VarFloat (1 to 8 bytes)."""
    return _decode(raw, 8, _F64, offset)

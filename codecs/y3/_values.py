"""Typed primitive values: one encoder and one decoder per Kind, dialect-aware."""

from __future__ import annotations

from y3._errors import MalformedPacketError, UnsupportedTypeError, ValueOutOfRangeError
from y3._types import Dialect, Kind
from y3._varfloat import (
    decode_varfloat32,
    decode_varfloat64,
    encode_varfloat32,
    encode_varfloat64,
)
from y3._varint import (
    decode_nvarint,
    encode_nvarint,
    encode_pvarint,
    from_decoded,
    read_pvarint,
)

__all__ = [
    "decode_bool",
    "decode_int",
    "decode_str",
    "decode_value",
    "encode_value",
]

Buffer = bytes | bytearray | memoryview
Value = int | float | bool | str | bytes

# (bits, signed) of each integer kind.
_INTS: dict[Kind, tuple[int, bool]] = {
    Kind.INT32: (32, True),
    Kind.INT64: (64, True),
    Kind.UINT32: (32, False),
    Kind.UINT64: (64, False),
}
_PVARINT_MAX_BYTES = {32: 5, 64: 10}
_TRUE = b"\x01"
_FALSE = b"\x00"


def encode_value(kind: Kind, value: object, dialect: Dialect = Dialect.CODEC_GOLANG) -> Buffer:
    """Encode ``value`` as the value bytes of a primitive packet of ``kind``.

    Integers are PVarInt in the codec-golang dialect and NVarInt in y3 v1; a value that does not
    fit the kind's width raises ValueOutOfRangeError. ``BYTES`` returns a bytes-like value
    unchanged (no copy).
    """
    width = _INTS.get(kind)
    if width is not None:
        bits, signed = width
        if not isinstance(value, int):
            raise UnsupportedTypeError(f"{kind.value} needs an int, got {type(value).__name__}")
        if dialect is Dialect.V1:
            return encode_nvarint(value, bits, signed=signed)
        return encode_pvarint(value, bits, signed=signed)
    if kind is Kind.BYTES:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return value
        raise UnsupportedTypeError(f"bytes needs a bytes-like value, got {type(value).__name__}")
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise UnsupportedTypeError(f"str needs a str, got {type(value).__name__}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueOutOfRangeError(f"string cannot be encoded as UTF-8: {exc}") from None
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise UnsupportedTypeError(f"bool needs a bool, got {type(value).__name__}")
        return _TRUE if value else _FALSE
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise UnsupportedTypeError(f"{kind.value} needs a float, got {type(value).__name__}")
    if kind is Kind.FLOAT32:
        return encode_varfloat32(value)
    return encode_varfloat64(value)


def decode_int(raw: Buffer, bits: int, signed: bool, dialect: Dialect, offset: int = 0) -> int:
    """Decode an integer value of the given Go width and signedness."""
    if dialect is Dialect.V1:
        return decode_nvarint(raw, bits=bits, signed=signed, offset=offset)
    # Go stops at the varint's last byte and ignores whatever follows in the value.
    value, _ = read_pvarint(raw, 0, len(raw), _PVARINT_MAX_BYTES[bits], base=offset)
    return from_decoded(value, bits, signed, offset)


def decode_bool(raw: Buffer, dialect: Dialect, offset: int = 0) -> bool:
    """Decode a bool: true only for the varint 1 (Go's rule); empty is false in y3 v1."""
    if dialect is Dialect.V1 and len(raw) == 0:
        return False
    value, _ = read_pvarint(raw, 0, len(raw), _PVARINT_MAX_BYTES[64], base=offset)
    return value == 1


def decode_str(raw: Buffer, offset: int = 0) -> str:
    """Decode a UTF-8 string; invalid UTF-8 raises MalformedPacketError."""
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPacketError(
            f"string value is not valid UTF-8 ({exc.reason} at byte {exc.start})",
            offset=offset,
        ) from None


def decode_value(
    kind: Kind, raw: Buffer, dialect: Dialect = Dialect.CODEC_GOLANG, *, offset: int = 0
) -> Value:
    """Decode the value bytes of a primitive packet as ``kind``.

    ``offset`` (the value's position in the decoded buffer) only labels errors. Raises only
    Y3Error subclasses. ``BYTES`` returns a copy as ``bytes``.
    """
    width = _INTS.get(kind)
    if width is not None:
        return decode_int(raw, width[0], width[1], dialect, offset)
    if kind is Kind.BYTES:
        return bytes(raw)
    if kind is Kind.STR:
        return decode_str(raw, offset)
    if kind is Kind.BOOL:
        return decode_bool(raw, dialect, offset)
    if kind is Kind.FLOAT32:
        return decode_varfloat32(raw, offset=offset)
    return decode_varfloat64(raw, offset=offset)

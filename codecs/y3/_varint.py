"""Y3's two integer encodings, with Go's width semantics.

PVarInt ("padding signed bit", y3-codec-golang integers and every Y3 length): big-endian 7-bit
groups, every byte but the last has 0x80 set, the first group's bit 6 is the sign.

NVarInt (y3 v1 integers): minimal big-endian two's complement bytes; the value's byte count is
the packet's length, so there is no continuation bit.

Unsigned values are cast to the signed type of the same width before encoding (uint32
4294967295 is PVarInt ``7F``), exactly as the Go code does.
"""

from __future__ import annotations

from y3._errors import TruncatedVarIntError, ValueOutOfRangeError

__all__ = [
    "decode_nvarint",
    "decode_pvarint",
    "encode_nvarint",
    "encode_pvarint",
    "nvarint_size",
    "pvarint_size",
]

Buffer = bytes | bytearray | memoryview

# The longest PVarInt that can carry a value of each width (7 bits a byte, plus the sign).
_PVARINT_MAX_BYTES = {32: 5, 64: 10}
# NVarInt: Go writes at most width/8 bytes; one more is accepted on decode so that a positive
# unsigned value written by another encoder (``00 FF FF FF FF``) still reads back.
_NVARINT_MAX_BYTES = {32: 5, 64: 9}

# Single-byte PVarInts for -64..63: lengths and small values take this path.
_SMALL_PVARINT = {v: bytes((v & 0x7F,)) for v in range(-64, 64)}


def _check_bits(bits: int) -> None:
    if bits not in (32, 64):
        raise ValueOutOfRangeError(f"integer width must be 32 or 64 bits, not {bits}")


def to_signed(value: int, bits: int, signed: bool) -> int:
    """Check that ``value`` fits the declared Go type and return it as the signed type of the
    same width (Go's ``int32(uint32)`` cast)."""
    if not isinstance(value, int):
        raise ValueOutOfRangeError(f"expected an integer, got {type(value).__name__}")
    if signed:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if not low <= value <= high:
            raise ValueOutOfRangeError(f"{value} does not fit int{bits} [{low}, {high}]")
        return value
    if not 0 <= value < (1 << bits):
        raise ValueOutOfRangeError(f"{value} does not fit uint{bits} [0, {(1 << bits) - 1}]")
    return value - (1 << bits) if value >> (bits - 1) else value


def from_decoded(value: int, bits: int, signed: bool, offset: int | None) -> int:
    """Range-check a decoded (sign-extended) integer and convert it to the declared type.

    A signed type accepts its own range; an unsigned one accepts the signed range of its width
    (Go's cast) and the positive values up to its maximum, and returns the value modulo 2**bits.
    """
    if -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        if signed or value >= 0:
            return value
        return value + (1 << bits)
    if not signed and 0 <= value < (1 << bits):
        return value
    kind = f"int{bits}" if signed else f"uint{bits}"
    raise ValueOutOfRangeError(f"decoded value {value} does not fit {kind}", offset=offset)


def _pvarint_length(v: int) -> int:
    # 7 bits a byte, plus the sign bit.
    magnitude = ~v if v < 0 else v
    return max(1, (magnitude.bit_length() + 7) // 7)


def _nvarint_length(v: int) -> int:
    # 8 bits a byte, plus the sign bit.
    magnitude = ~v if v < 0 else v
    return max(1, (magnitude.bit_length() + 8) // 8)


def pvarint_size(value: int, bits: int = 32, *, signed: bool = True) -> int:
    """The number of bytes ``encode_pvarint`` writes for ``value``."""
    _check_bits(bits)
    return _pvarint_length(to_signed(value, bits, signed))


def encode_pvarint(value: int, bits: int = 32, *, signed: bool = True) -> bytes:
    """Encode ``value`` (a Go int32/int64, or uint32/uint64 with ``signed=False``) as a
    minimal PVarInt. Raises ValueOutOfRangeError if it does not fit the declared width."""
    _check_bits(bits)
    v = to_signed(value, bits, signed)
    small = _SMALL_PVARINT.get(v)
    if small is not None:
        return small
    size = _pvarint_length(v)
    out = bytearray(size)
    for i in range(size - 1):
        out[i] = ((v >> (7 * (size - 1 - i))) & 0x7F) | 0x80
    out[size - 1] = v & 0x7F
    return bytes(out)


def read_pvarint(
    buf: Buffer, pos: int, end: int, max_bytes: int, *, base: int = 0
) -> tuple[int, int]:
    """Read a sign-extended PVarInt from ``buf[pos:end]``; return (value, next position).

    Raises TruncatedVarIntError when ``end`` comes before the last byte and
    ValueOutOfRangeError when more than ``max_bytes`` bytes would be needed (checked first, so a
    streaming caller can tell "too long" from "not yet complete"). ``base`` is added to the
    offsets the errors report.
    """
    if pos >= end:
        raise TruncatedVarIntError("varint needs at least 1 byte", offset=base + pos)
    first = buf[pos]
    value = (first & 0x7F) - (0x80 if first & 0x40 else 0)
    if first < 0x80:
        return value, pos + 1
    i = pos + 1
    while True:
        if i - pos >= max_bytes:
            raise ValueOutOfRangeError(f"varint longer than {max_bytes} bytes", offset=base + pos)
        if i >= end:
            raise TruncatedVarIntError("varint ends before its last byte", offset=base + pos)
        b = buf[i]
        value = (value << 7) | (b & 0x7F)
        i += 1
        if b < 0x80:
            return value, i


def decode_pvarint(
    buf: Buffer, offset: int = 0, *, bits: int = 32, signed: bool = True
) -> tuple[int, int]:
    """Decode a PVarInt starting at ``offset``; return (value, end position).

    Bytes after the varint's last byte are ignored, as in Go. Raises TruncatedVarIntError,
    or ValueOutOfRangeError if the value does not fit the declared width.
    """
    _check_bits(bits)
    value, end = read_pvarint(buf, offset, len(buf), _PVARINT_MAX_BYTES[bits])
    return from_decoded(value, bits, signed, offset), end


def nvarint_size(value: int, bits: int = 32, *, signed: bool = True) -> int:
    """The number of bytes ``encode_nvarint`` writes for ``value``."""
    _check_bits(bits)
    return _nvarint_length(to_signed(value, bits, signed))


def encode_nvarint(value: int, bits: int = 32, *, signed: bool = True) -> bytes:
    """Encode ``value`` as a minimal NVarInt (big-endian two's complement)."""
    _check_bits(bits)
    v = to_signed(value, bits, signed)
    return v.to_bytes(_nvarint_length(v), "big", signed=True)


def decode_nvarint(raw: Buffer, *, bits: int = 32, signed: bool = True, offset: int = 0) -> int:
    """Decode a whole NVarInt value (every byte of ``raw``).

    ``offset`` only labels errors. Raises TruncatedVarIntError for an empty value and
    ValueOutOfRangeError for one too long or too large for the declared width.
    """
    _check_bits(bits)
    size = len(raw)
    if size == 0:
        raise TruncatedVarIntError("empty integer value", offset=offset)
    if size > _NVARINT_MAX_BYTES[bits]:
        raise ValueOutOfRangeError(
            f"{size}-byte integer is too long for {bits} bits", offset=offset
        )
    return from_decoded(int.from_bytes(raw, "big", signed=True), bits, signed, offset)

"""Packet encoders: a header (tag + PVarInt32 length) in front of value bytes."""

from __future__ import annotations

from collections.abc import Iterable

from y3._errors import KeyOutOfRangeError, ValueOutOfRangeError
from y3._varint import encode_pvarint

__all__ = [
    "encode_array_packet",
    "encode_header",
    "encode_node_packet",
    "encode_primitive_packet",
]

Buffer = bytes | bytearray | memoryview

_INT32_MAX = (1 << 31) - 1
# Tag+length headers for every one-byte length, per tag: most packets hit this table.
_SHORT_LENGTHS = [bytes((n,)) for n in range(64)]


def _check_key(key: int) -> None:
    if not 0 <= key <= 0x3F:
        raise KeyOutOfRangeError(f"key {key:#x} is outside 0x00-0x3F")


def encode_header(tag: int, length: int) -> bytes:
    """The tag byte and PVarInt32 length of a packet whose value has ``length`` bytes.

    Lets a caller send the header and a large value separately, without joining them.
    """
    if not 0 <= tag <= 0xFF:
        raise KeyOutOfRangeError(f"tag {tag:#x} is not a byte")
    if length < 64:
        if length < 0:
            raise ValueOutOfRangeError(f"length {length} is negative")
        return bytes((tag,)) + _SHORT_LENGTHS[length]
    if length > _INT32_MAX:
        raise ValueOutOfRangeError(f"a {length}-byte value exceeds the int32 length limit")
    return bytes((tag,)) + encode_pvarint(length)


def encode_primitive_packet(key: int, value: Buffer) -> bytes:
    """A primitive packet ``key | length | value`` (key 0x00-0x3F)."""
    _check_key(key)
    return encode_header(key, len(value)) + value


def encode_node_packet(key: int, children: Iterable[Buffer], *, is_array: bool = False) -> bytes:
    """A node packet whose value is the already-encoded ``children``, in order."""
    _check_key(key)
    parts = list(children)
    tag = key | 0x80 | (0x40 if is_array else 0)
    # One join for header and children: each value byte is copied once.
    return b"".join([encode_header(tag, sum(map(len, parts))), *parts])


def encode_array_packet(key: int, items: Iterable[Buffer]) -> bytes:
    """An array node (tag ``0xC0 | key``); items are encoded packets, conventionally keyed 0x00."""
    return encode_node_packet(key, items, is_array=True)

"""Decoded packets and the two decoders, with Go's semantics.

A packet is ``tag | length | value``. The tag's bit 7 marks a node (its value is a run of child
packets), bit 6 an array node, bits 5..0 are the key (sequence id). The length is a PVarInt32.

Decoders return the packet and the position just past it; bytes after that are not read (Go:
"end position, trailing bytes ignored"). Values are memoryview slices of the input: nothing is
copied until a typed accessor asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from y3._errors import (
    BeyondBoundaryError,
    NegativeLengthError,
    PacketTooShortError,
    ValueOutOfRangeError,
)
from y3._types import Dialect
from y3._values import decode_bool, decode_int, decode_str
from y3._varfloat import decode_varfloat32, decode_varfloat64
from y3._varint import read_pvarint

__all__ = [
    "NodePacket",
    "Packet",
    "PrimitivePacket",
    "decode_header",
    "decode_node_packet",
    "decode_packet",
    "decode_primitive_packet",
]

Buffer = bytes | bytearray | memoryview

NODE_FLAG = 0x80
ARRAY_FLAG = 0x40
KEY_MASK = 0x3F
INT32_MAX = (1 << 31) - 1
LENGTH_MAX_BYTES = 5


def read_length(buf: Buffer, pos: int, end: int, *, base: int = 0) -> tuple[int, int]:
    """Read the packet length at ``pos`` (a PVarInt that must end before ``end``) and check
    it; return (length, value start). ``base`` is added to the offsets errors report.

    Raises TruncatedVarIntError, NegativeLengthError or ValueOutOfRangeError.
    """
    length, start = read_pvarint(buf, pos, end, LENGTH_MAX_BYTES, base=base)
    if length < 0:
        raise NegativeLengthError(f"packet length {length} is negative", offset=base + pos)
    if length > INT32_MAX:
        raise ValueOutOfRangeError(f"packet length {length} exceeds int32", offset=base + pos)
    return length, start


def decode_header(buf: Buffer, pos: int, limit: int) -> tuple[int, int, int]:
    """Parse the tag and length of the packet at ``pos``; return (tag, value start, value end).

    ``limit`` is the end of the region the packet must fit in (the buffer, or its parent's
    value). Raises PacketTooShortError, TruncatedVarIntError, NegativeLengthError,
    ValueOutOfRangeError or BeyondBoundaryError. For walking packets without building objects.
    """
    if limit - pos < 2:
        raise PacketTooShortError(
            f"a packet needs at least 2 bytes, {max(0, limit - pos)} left", offset=pos
        )
    tag = buf[pos]
    first = buf[pos + 1]
    if first < 0x40:  # the common case: a one-byte positive length
        start = pos + 2
        end = start + first
    else:
        length, start = read_length(buf, pos + 1, limit)
        end = start + length
    if end > limit:
        raise BeyondBoundaryError(
            f"beyond the boundary: a {end - start}-byte value ends at {end}, "
            f"past the boundary at {limit}",
            offset=pos,
        )
    return tag, start, end


def as_view(buf: Buffer) -> memoryview:
    """A flat unsigned-byte view of ``buf``."""
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


class _TaggedPacket:
    """What every packet has (its tag, value bytes and dialect) and reads from its tag."""

    __slots__ = ("dialect", "offset", "raw", "tag")
    tag: int
    raw: memoryview
    dialect: Dialect
    offset: int

    @property
    def key(self) -> int:
        """The sequence id (bits 5..0 of the tag)."""
        return self.tag & KEY_MASK

    @property
    def is_array(self) -> bool:
        """Whether the tag's array bit (0x40) is set."""
        return bool(self.tag & ARRAY_FLAG)


class PrimitivePacket(_TaggedPacket):
    """A primitive (value) packet: its tag, its raw value bytes and the dialect to read them in.

    ``raw`` is a memoryview of the decoded buffer (no copy); ``offset`` is where the value
    starts in that buffer. The typed accessors raise Y3Error subclasses only.
    """

    __slots__ = ()
    is_node = False

    def __init__(
        self,
        tag: int,
        raw: memoryview,
        dialect: Dialect = Dialect.CODEC_GOLANG,
        offset: int = 0,
    ) -> None:
        self.tag = tag
        self.raw = raw
        self.dialect = dialect
        self.offset = offset

    def to_int32(self) -> int:
        """The value as a Go int32."""
        return decode_int(self.raw, 32, True, self.dialect, self.offset)

    def to_int64(self) -> int:
        """The value as a Go int64."""
        return decode_int(self.raw, 64, True, self.dialect, self.offset)

    def to_uint32(self) -> int:
        """The value as a Go uint32."""
        return decode_int(self.raw, 32, False, self.dialect, self.offset)

    def to_uint64(self) -> int:
        """The value as a Go uint64."""
        return decode_int(self.raw, 64, False, self.dialect, self.offset)

    def to_float32(self) -> float:
        """The value as a float32 VarFloat."""
        return decode_varfloat32(self.raw, offset=self.offset)

    def to_float64(self) -> float:
        """The value as a float64 VarFloat."""
        return decode_varfloat64(self.raw, offset=self.offset)

    def to_bool(self) -> bool:
        """The value as a bool (true only for 1)."""
        return decode_bool(self.raw, self.dialect, self.offset)

    def to_str(self) -> str:
        """The value as a UTF-8 string."""
        return decode_str(self.raw, self.offset)

    def to_bytes(self) -> bytes:
        """A copy of the value bytes (``raw`` is the zero-copy view)."""
        return bytes(self.raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrimitivePacket):
            return NotImplemented
        return (self.tag, self.dialect, self.raw) == (other.tag, other.dialect, other.raw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PrimitivePacket(tag={self.tag:#04x}, raw={bytes(self.raw)!r})"


class NodePacket(_TaggedPacket):
    """A node packet: its tag, its children in wire order and its raw value bytes.

    Lookup by key follows the dialect: codec-golang returns the first child with the key,
    y3 v1 (whose Go decoder fills a map) the last one. ``primitive`` and ``node`` look only
    among children of that kind, as y3 v1's separate maps do.
    """

    __slots__ = ("_index", "children")
    is_node = True

    def __init__(
        self,
        tag: int,
        raw: memoryview,
        children: tuple[Packet, ...],
        dialect: Dialect = Dialect.CODEC_GOLANG,
        offset: int = 0,
    ) -> None:
        self.tag = tag
        self.raw = raw
        self.children = children
        self.dialect = dialect
        self.offset = offset
        self._index: tuple[dict[int, Packet], dict[int, Packet], dict[int, Packet]] | None = None

    def _lookup(self) -> tuple[dict[int, Packet], dict[int, Packet], dict[int, Packet]]:
        if self._index is None:
            anyone: dict[int, Packet] = {}
            prims: dict[int, Packet] = {}
            nodes: dict[int, Packet] = {}
            ordered = self.children if self.dialect is Dialect.V1 else reversed(self.children)
            for child in ordered:  # later writes win: reversed order keeps the first
                key = child.tag & KEY_MASK
                anyone[key] = child
                (nodes if child.is_node else prims)[key] = child
            self._index = (anyone, prims, nodes)
        return self._index

    def get(self, key: int) -> Packet | None:
        """The child with ``key`` (see the class docstring for duplicates), or None."""
        return self._lookup()[0].get(key)

    def primitive(self, key: int) -> PrimitivePacket | None:
        """The primitive child with ``key``, or None."""
        found = self._lookup()[1].get(key)
        return found if isinstance(found, PrimitivePacket) else None

    def node(self, key: int) -> NodePacket | None:
        """The node child with ``key``, or None."""
        found = self._lookup()[2].get(key)
        return found if isinstance(found, NodePacket) else None

    def __getitem__(self, key: int) -> Packet:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._lookup()[0]

    def __iter__(self) -> Iterator[Packet]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NodePacket):
            return NotImplemented
        return (self.tag, self.dialect, self.children) == (other.tag, other.dialect, other.children)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NodePacket(tag={self.tag:#04x}, children={list(self.children)!r})"


Packet = PrimitivePacket | NodePacket


def decode_primitive_packet(
    buf: Buffer, dialect: Dialect = Dialect.CODEC_GOLANG, *, offset: int = 0
) -> tuple[PrimitivePacket, int]:
    """Decode the packet at ``offset`` as a primitive packet; return it and its end position.

    Like Go's ``DecodePrimitivePacket``, the tag's node bit is not checked.
    """
    view = as_view(buf)
    tag, start, end = decode_header(buf if isinstance(buf, bytes) else view, offset, len(view))
    return PrimitivePacket(tag, view[start:end], dialect, start), end


def decode_node_packet(
    buf: Buffer, dialect: Dialect = Dialect.CODEC_GOLANG, *, offset: int = 0
) -> tuple[NodePacket, int]:
    """Decode the packet at ``offset`` as a node packet, children and all; return it and its
    end position.

    Each child must fit inside its parent's value. Nesting depth is unbounded (the walk is
    iterative, not recursive). Like Go's ``DecodeNodePacket``, the tag's node bit is not checked.
    """
    view = as_view(buf)
    data: Buffer = buf if isinstance(buf, bytes) else view
    tag, start, end = decode_header(data, offset, len(view))
    children: list[Packet] = []
    # The open ancestors of the current node: (tag, value start, value end, children so far).
    stack: list[tuple[int, int, int, list[Packet]]] = []
    pos = start
    while True:
        if pos >= end:
            node = NodePacket(tag, view[start:end], tuple(children), dialect, start)
            if not stack:
                return node, end
            tag, start, end, children = stack.pop()
            children.append(node)
            continue
        length = data[pos + 1] if end - pos >= 2 else 0x40
        if length < 0x40:  # inline fast path: a one-byte length that fits
            child_tag = data[pos]
            child_start = pos + 2
            child_end = child_start + length
            if child_end > end:
                decode_header(data, pos, end)  # raises the precise error
        else:
            child_tag, child_start, child_end = decode_header(data, pos, end)
        if child_tag & NODE_FLAG:
            stack.append((tag, start, end, children))
            tag, start, end, children = child_tag, child_start, child_end, []
            pos = child_start
        else:
            children.append(
                PrimitivePacket(child_tag, view[child_start:child_end], dialect, child_start)
            )
            pos = child_end


def decode_packet(
    buf: Buffer, dialect: Dialect = Dialect.CODEC_GOLANG, *, offset: int = 0
) -> tuple[Packet, int]:
    """Decode the packet at ``offset`` as a node or a primitive, as its tag says."""
    if offset < len(buf) and buf[offset] & NODE_FLAG:
        return decode_node_packet(buf, dialect, offset=offset)
    return decode_primitive_packet(buf, dialect, offset=offset)

"""The high-level marshaller: Go's ``y3.NewCodec(key).Marshal(x)`` and its decoding side.

``Codec(0x10).marshal(x)`` writes ``81 L [signals 0x02-0x0F] <x under key 0x10>``: a primitive
becomes a primitive packet, a list an array node of items keyed 0x00, a dataclass a node of its
keyed fields (a top-level list of dataclasses is a plain node of item nodes, as in Go).

Unlike Go's struct encoder, empty strings, empty bytes and empty nested structs are written,
not dropped, so that a field whose default is not empty still reads back as written. Go's
decoders read both forms the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from y3._encoder import encode_header, encode_primitive_packet
from y3._errors import KeyOutOfRangeError, MalformedPacketError, UnsupportedTypeError
from y3._packet import NodePacket, Packet, PrimitivePacket, decode_packet
from y3._schema import (
    USER_KEYS,
    ZERO_VALUES,
    ListShape,
    PrimShape,
    Shape,
    StructShape,
    infer_shape,
    shape_of,
)
from y3._types import Dialect, Kind
from y3._values import decode_value, encode_value

__all__ = ["ROOT_KEY", "SIGNAL_KEYS", "Codec"]

Buffer = bytes | bytearray | memoryview
SignalValue = str | bytes | int | float | bool
T = TypeVar("T")

ROOT_KEY = 0x01
ROOT_TAG = 0x81
NODE_TAG = 0x80
ARRAY_TAG = 0xC0
ITEM_KEY = 0x00
SIGNAL_KEYS = range(0x02, 0x10)


def _encode(shape: Shape, key: int, value: Any, dialect: Dialect, out: list[Buffer]) -> int:
    """Append the packet of ``value`` to ``out`` as parts; return its size in bytes.

    Parts are joined once at the end, so a large value is copied once, not once per level.
    """
    if isinstance(shape, PrimShape):
        raw = encode_value(shape.kind, value, dialect)
        header = encode_header(key, len(raw))
        out += (header, raw)
        return len(header) + len(raw)
    slot = len(out)
    out.append(b"")  # the header, once the value's size is known
    size = 0
    if isinstance(shape, ListShape):
        if not isinstance(value, (list, tuple)):
            raise UnsupportedTypeError(
                f"expected a list for key {key:#x}, got {type(value).__name__}"
            )
        tag = key | ARRAY_TAG
        for item in value:
            size += _encode(shape.item, ITEM_KEY, item, dialect, out)
    else:
        if not isinstance(value, shape.cls):
            raise UnsupportedTypeError(
                f"expected {shape.cls.__name__} for key {key:#x}, got {type(value).__name__}"
            )
        tag = key | NODE_TAG
        for f in shape.fields:
            size += _encode(f.shape, f.key, getattr(value, f.name), dialect, out)
    header = encode_header(tag, size)
    out[slot] = header
    return len(header) + size


def _zero(shape: Shape, key: int, building: frozenset[type] = frozenset()) -> Any:
    if isinstance(shape, PrimShape):
        return ZERO_VALUES[shape.kind]
    if isinstance(shape, ListShape):
        return () if shape.as_tuple else []
    if shape.cls in building:
        raise MalformedPacketError(f"missing key {key:#x} for a {shape.cls.__name__}")
    inner = building | {shape.cls}
    kwargs = {f.name: _zero(f.shape, f.key, inner) for f in shape.fields if not f.has_default}
    return shape.cls(**kwargs)


def _decode(shape: Shape, packet: Packet) -> Any:
    if isinstance(shape, PrimShape):
        if not isinstance(packet, PrimitivePacket):
            raise MalformedPacketError(
                f"key {packet.key:#x}: expected a primitive packet, got a node",
                offset=packet.offset,
            )
        return decode_value(shape.kind, packet.raw, packet.dialect, offset=packet.offset)
    if not isinstance(packet, NodePacket):
        raise MalformedPacketError(
            f"key {packet.key:#x}: expected a node packet, got a primitive", offset=packet.offset
        )
    if isinstance(shape, ListShape):
        items = [_decode(shape.item, child) for child in packet.children]
        return tuple(items) if shape.as_tuple else items
    kwargs: dict[str, Any] = {}
    for f in shape.fields:
        child = packet.get(f.key)
        if child is not None:
            kwargs[f.name] = _decode(f.shape, child)
        elif not f.has_default:
            kwargs[f.name] = _zero(f.shape, f.key)
    return shape.cls(**kwargs)


class Codec:
    """Marshal Python values under one observed key, as Go's ``y3.NewCodec(key)`` does.

    ``key`` is a user key (0x10-0x3F). Values map to Y3 as follows: ``bool``, ``str``,
    ``bytes``; ``int`` as int64 and ``float`` as float64 unless a ``Kind`` says otherwise
    (``type_=Kind.INT32``, ``Annotated[int, Kind.INT32]``, ``y3_field(..., kind=...)``); lists
    and ``tuple[T, ...]``; dataclasses whose fields carry ``y3_field(key)``.
    """

    def __init__(self, key: int, dialect: Dialect = Dialect.CODEC_GOLANG) -> None:
        if key not in USER_KEYS:
            raise KeyOutOfRangeError(f"codec key {key:#x} is outside the user keys 0x10-0x3F")
        self.key = key
        self.dialect = dialect

    def __repr__(self) -> str:
        return f"Codec({self.key:#04x}, {self.dialect})"

    def encode_payload(self, value: object, *, type_: object = None) -> bytes:
        """The packet of ``value`` under this codec's key, without the root node."""
        out: list[Buffer] = []
        self._encode_payload(value, type_, out)
        return b"".join(out)

    def _encode_payload(self, value: object, type_: object, out: list[Buffer]) -> int:
        shape = infer_shape(value) if type_ is None else _shape(type_)
        if isinstance(shape, PrimShape) and isinstance(value, (list, tuple)):
            shape = ListShape(shape, as_tuple=isinstance(value, tuple))  # type_=Kind for items
        if isinstance(shape, ListShape) and isinstance(shape.item, StructShape):
            # Go's struct encoder writes a root slice of structs as a plain node.
            if not isinstance(value, (list, tuple)):
                raise UnsupportedTypeError(f"expected a list, got {type(value).__name__}")
            slot = len(out)
            out.append(b"")
            size = sum(_encode(shape.item, ITEM_KEY, v, self.dialect, out) for v in value)
            out[slot] = encode_header(self.key | NODE_TAG, size)
            return len(out[slot]) + size
        return _encode(shape, self.key, value, self.dialect, out)

    def marshal(
        self,
        value: object,
        *,
        type_: object = None,
        signals: Mapping[int, SignalValue] | None = None,
    ) -> bytes:
        """``81 L [signals] <value>``: the bytes Go's ``NewCodec(key).Marshal(value)`` writes.

        ``type_`` is a Kind or a type expression for ``value`` (default: inferred).
        ``signals`` maps signal keys (0x02-0x0F) to str, bytes, int (int64), float (float64)
        or bool values, written before the value in the mapping's order.
        """
        out: list[Buffer] = [b""]
        size = 0
        if signals:
            for key, signal in signals.items():
                packet = self._signal(key, signal)
                out.append(packet)
                size += len(packet)
        size += self._encode_payload(value, type_, out)
        out[0] = encode_header(ROOT_TAG, size)
        return b"".join(out)

    def _signal(self, key: int, value: SignalValue) -> bytes:
        if key not in SIGNAL_KEYS:
            raise KeyOutOfRangeError(f"signal key {key:#x} is outside 0x02-0x0F")
        shape = infer_shape(value)
        if not isinstance(shape, PrimShape):
            raise UnsupportedTypeError(f"a signal is a primitive, not a {type(value).__name__}")
        return encode_primitive_packet(key, encode_value(shape.kind, value, self.dialect))

    @overload
    def unmarshal(self, data: Buffer, type_: type[T]) -> T: ...

    @overload
    def unmarshal(self, data: Buffer, type_: Kind) -> Any: ...

    @overload
    def unmarshal(self, data: Buffer, type_: object) -> Any: ...

    def unmarshal(self, data: Buffer, type_: object) -> Any:
        """Decode what ``marshal`` wrote (the whole root packet), or just the packet under this
        codec's key (what a ``KeyObserver`` hands out), as ``type_``.

        Raises only Y3Error subclasses for bad bytes (UnsupportedTypeError for a bad ``type_``).
        """
        shape = _shape(type_)
        packet, _ = decode_packet(data, self.dialect)
        if packet.tag == ROOT_TAG and isinstance(packet, NodePacket):
            found = _child(packet, self.key)
            if found is None:
                raise MalformedPacketError(f"no packet with key {self.key:#x} in the root node")
            packet = found
        elif packet.key != self.key:
            raise MalformedPacketError(
                f"packet key {packet.key:#x} is not this codec's key {self.key:#x}", offset=0
            )
        return _decode(shape, packet)


def _child(node: NodePacket, key: int) -> Packet | None:
    """``node.get(key)`` without building the node's index: a root is looked up once."""
    found = None
    for child in node.children:
        if child.tag & 0x3F == key:
            if node.dialect is not Dialect.V1:
                return child  # codec-golang: the first one
            found = child  # y3 v1: the last one
    return found


_SHAPES: dict[object, Shape] = {}


def _shape(type_: object) -> Shape:
    """``shape_of`` with a cache: type expressions are hashable and shapes never change."""
    try:
        return _SHAPES[type_]
    except KeyError:
        pass
    except TypeError:  # an unhashable type expression: no caching
        return shape_of(type_)
    shape = _SHAPES[type_] = shape_of(type_)
    return shape

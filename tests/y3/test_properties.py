"""Property tests: round trips, minimal sizes, chunking, and hostile input."""

# y3_field is a dataclass field specifier (it returns dataclasses.field(...)), which RUF009
# cannot know.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
import itertools
import math
import struct
from collections.abc import Callable
from typing import Annotated, Any

import y3
from hypothesis import given, settings
from hypothesis import strategies as st
from y3 import Dialect, Kind, y3_field

DIALECTS = st.sampled_from(list(Dialect))
KEYS = st.integers(0x00, 0x3F)
# A generous deadline: it still catches a hang, but does not fail on a busy shared machine.
PATIENT = settings(deadline=2000)

INT_RANGES = {
    Kind.INT32: (-(1 << 31), (1 << 31) - 1),
    Kind.UINT32: (0, (1 << 32) - 1),
    Kind.INT64: (-(1 << 63), (1 << 63) - 1),
    Kind.UINT64: (0, (1 << 64) - 1),
}
VALUES: dict[Kind, st.SearchStrategy[Any]] = {
    **{kind: st.integers(low, high) for kind, (low, high) in INT_RANGES.items()},
    Kind.FLOAT32: st.floats(width=32),
    Kind.FLOAT64: st.floats(),
    Kind.BOOL: st.booleans(),
    Kind.STR: st.text(),
    Kind.BYTES: st.binary(),
}
kind_and_value = st.sampled_from(list(Kind)).flatmap(
    lambda kind: st.tuples(st.just(kind), VALUES[kind])
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or struct.pack(">d", a) == struct.pack(">d", b)
    return bool(a == b) and type(a) is type(b)


# --- round trips -----------------------------------------------------------------------------


@PATIENT
@given(kind_and_value, DIALECTS)
def test_every_kind_round_trips_in_both_dialects(kv: tuple[Kind, Any], dialect: Dialect) -> None:
    kind, value = kv
    assert same(y3.decode_value(kind, y3.encode_value(kind, value, dialect), dialect), value)


@PATIENT
@given(kind_and_value, DIALECTS, KEYS)
def test_primitive_packets_round_trip(kv: tuple[Kind, Any], dialect: Dialect, key: int) -> None:
    kind, value = kv
    wire = y3.encode_primitive_packet(key, y3.encode_value(kind, value, dialect))
    packet, end = y3.decode_primitive_packet(wire, dialect)
    assert end == len(wire)
    assert packet.key == key
    accessor = "to_" + kind.value
    assert same(getattr(packet, accessor)(), bytes(value) if kind is Kind.BYTES else value)


@PATIENT
@given(st.sampled_from(list(INT_RANGES)), st.integers(), DIALECTS)
def test_integers_outside_their_width_are_refused(kind: Kind, value: int, dialect: Dialect) -> None:
    low, high = INT_RANGES[kind]
    try:
        encoded = y3.encode_value(kind, value, dialect)
    except y3.ValueOutOfRangeError:
        assert not low <= value <= high
    else:
        assert low <= value <= high
        assert y3.decode_value(kind, encoded, dialect) == value


# --- minimal sizes ---------------------------------------------------------------------------


def signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def smallest(value: int, unit: int) -> int:
    """The fewest ``unit``-bit groups that hold ``value`` as two's complement."""
    n = 1
    while not -(1 << (unit * n - 1)) <= value < 1 << (unit * n - 1):
        n += 1
    return n


@PATIENT
@given(st.sampled_from(list(INT_RANGES)).flatmap(lambda k: st.tuples(st.just(k), VALUES[k])))
def test_integer_encodings_are_minimal(kv: tuple[Kind, int]) -> None:
    kind, value = kv
    bits = 32 if kind in (Kind.INT32, Kind.UINT32) else 64
    s = signed(value, bits)
    assert len(y3.encode_value(kind, value, Dialect.CODEC_GOLANG)) == smallest(s, 7)
    assert len(y3.encode_value(kind, value, Dialect.V1)) == smallest(s, 8)


@PATIENT
@given(st.floats(width=32), st.floats())
def test_float_encodings_drop_exactly_the_trailing_zero_bytes(f32: float, f64: float) -> None:
    for encoded, full in [
        (y3.encode_varfloat32(f32), struct.pack(">f", f32)),
        (y3.encode_varfloat64(f64), struct.pack(">d", f64)),
    ]:
        assert full.startswith(encoded)
        assert not full[len(encoded) :].strip(b"\x00")
        assert len(encoded) == 1 or encoded[-1] != 0


@PATIENT
@given(st.integers(0, (1 << 31) - 1))
def test_lengths_are_minimal_pvarints(length: int) -> None:
    header = y3.encode_header(0x01, length)
    assert len(header) == 1 + smallest(length, 7)


# --- packet trees ------------------------------------------------------------------------------

leaves = st.builds(lambda k, v: y3.encode_primitive_packet(k, v), KEYS, st.binary(max_size=70))
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        lambda k, arr, kids: (y3.encode_array_packet if arr else y3.encode_node_packet)(k, kids),
        KEYS,
        st.booleans(),
        st.lists(children, max_size=5),
    ),
    max_leaves=20,
)
roots = st.builds(lambda kids: y3.encode_node_packet(0x01, kids), st.lists(trees, max_size=6))


def reencode(packet: y3.Packet) -> bytes:
    if isinstance(packet, y3.PrimitivePacket):
        return y3.encode_primitive_packet(packet.key, bytes(packet.raw))
    return y3.encode_node_packet(
        packet.key, [reencode(c) for c in packet.children], is_array=packet.is_array
    )


@PATIENT
@given(trees, DIALECTS)
def test_packet_trees_round_trip(wire: bytes, dialect: Dialect) -> None:
    packet, end = y3.decode_packet(wire, dialect)
    assert end == len(wire)
    assert reencode(packet) == wire


# --- the Codec ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Leaf:
    label: str = y3_field(0x10)
    blob: bytes = y3_field(0x11)
    flag: bool = y3_field(0x12)


@dataclasses.dataclass
class Everything:
    i32: Annotated[int, Kind.INT32] = y3_field(0x10)
    i64: int = y3_field(0x11)
    u32: Annotated[int, Kind.UINT32] = y3_field(0x12)
    u64: int = y3_field(0x13, kind=Kind.UINT64)
    f32: Annotated[float, Kind.FLOAT32] = y3_field(0x14)
    f64: float = y3_field(0x15)
    leaf: Leaf = y3_field(0x16)
    leaves: list[Leaf] = y3_field(0x17)
    numbers: tuple[Annotated[int, Kind.INT32], ...] = y3_field(0x18)
    nested: list[list[str]] = y3_field(0x19)


finite32 = st.floats(width=32, allow_nan=False)
leaf_values = st.builds(Leaf, st.text(max_size=10), st.binary(max_size=10), st.booleans())
everything = st.builds(
    Everything,
    VALUES[Kind.INT32],
    VALUES[Kind.INT64],
    VALUES[Kind.UINT32],
    VALUES[Kind.UINT64],
    finite32,
    st.floats(allow_nan=False),
    leaf_values,
    st.lists(leaf_values, max_size=3),
    st.lists(VALUES[Kind.INT32], max_size=4).map(tuple),
    st.lists(st.lists(st.text(max_size=5), max_size=3), max_size=3),
)


@PATIENT
@given(everything, DIALECTS, st.integers(0x10, 0x3F))
def test_dataclasses_round_trip(value: Everything, dialect: Dialect, key: int) -> None:
    codec = y3.Codec(key, dialect)
    wire = codec.marshal(value, signals={0x02: "s"})
    assert codec.unmarshal(wire, Everything) == value
    observed = y3.KeyObserver(key).feed(wire)
    assert codec.unmarshal(observed[0].packet, Everything) == value


@PATIENT
@given(kind_and_value, DIALECTS)
def test_codec_primitives_and_lists_round_trip(kv: tuple[Kind, Any], dialect: Dialect) -> None:
    kind, value = kv
    codec = y3.Codec(0x10, dialect)
    assert same(codec.unmarshal(codec.marshal(value, type_=kind), kind), value)
    values = [value, value]
    decoded = codec.unmarshal(codec.marshal(values, type_=kind), list[Annotated[Any, kind]])
    assert all(same(a, b) for a, b in zip(decoded, values, strict=True))


# --- streaming ---------------------------------------------------------------------------------


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@PATIENT
@given(st.lists(trees, max_size=8), st.lists(st.integers(0, 10_000), max_size=12))
def test_stream_decoder_gives_the_same_packets_however_the_input_is_cut(
    packets: list[bytes], cuts: list[int]
) -> None:
    decoder = y3.StreamDecoder()
    out: list[bytes] = []
    for chunk in split(b"".join(packets), cuts):
        out += [bytes(p) for p in decoder.feed(chunk)]
    decoder.close()
    assert out == packets


def first_observed(packet: y3.NodePacket, keys: frozenset[int], nested: bool) -> bytes | None:
    for child in packet.children:
        if child.key in keys:
            return reencode(child)
        if nested and isinstance(child, y3.NodePacket):
            found = first_observed(child, keys, nested)
            if found is not None:
                return found
    return None


@PATIENT
@given(
    st.lists(roots, min_size=1, max_size=5),
    st.frozensets(KEYS, min_size=1, max_size=4),
    st.booleans(),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_key_observer_matches_a_full_decode_however_the_input_is_cut(
    packets: list[bytes], keys: frozenset[int], nested: bool, cuts: list[int]
) -> None:
    expected = []
    for wire in packets:
        found = first_observed(y3.decode_node_packet(wire)[0], keys, nested)
        if found is not None:
            expected.append(found)
    observer = y3.KeyObserver(keys, nested=nested)
    out: list[bytes] = []
    for chunk in split(b"".join(packets), cuts):
        out += [bytes(o.packet) for o in observer.feed(chunk)]
    assert out == expected


# --- hostile input -----------------------------------------------------------------------------


def only_codec_errors(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args)``, or None if it raised a codec error (any other exception fails)."""
    try:
        return call(*args, **kwargs)
    except y3.Y3Error:
        return None


def exercise(data: bytes, cuts: list[int]) -> None:
    for dialect in Dialect:
        for decode in (y3.decode_primitive_packet, y3.decode_node_packet, y3.decode_packet):
            result = only_codec_errors(decode, data, dialect)
            if result is None:
                continue
            packet, end = result
            assert 0 < end <= len(data)
            stack = [packet]
            while stack:
                p = stack.pop()
                if isinstance(p, y3.NodePacket):
                    stack.extend(p.children)
                    continue
                for kind in Kind:
                    only_codec_errors(getattr(p, "to_" + kind.value))
        for kind in Kind:
            only_codec_errors(y3.decode_value, kind, data, dialect)
        codec = y3.Codec(0x10, dialect)
        for type_ in (Everything, list[Leaf], Kind.INT32, list[str], tuple[int, ...]):
            only_codec_errors(codec.unmarshal, data, type_)
    for bits in (32, 64):
        only_codec_errors(y3.decode_pvarint, data, bits=bits)
        only_codec_errors(y3.decode_nvarint, data, bits=bits)
    decoder = y3.StreamDecoder(max_packet_size=256)
    observers = [y3.KeyObserver(range(0x40), nested=n, max_packet_size=256) for n in (False, True)]
    for chunk in split(data, cuts):
        only_codec_errors(decoder.feed, chunk)
        for observer in observers:
            only_codec_errors(observer.feed, chunk)
    only_codec_errors(decoder.close)


@PATIENT
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_arbitrary_bytes_raise_only_codec_errors(data: bytes, cuts: list[int]) -> None:
    exercise(data, cuts)


def mutate(wire: bytes, data: st.DataObject) -> bytes:
    buf = bytearray(wire)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if action == "insert" or not buf:
            buf.insert(position, data.draw(st.integers(0, 255)))
        elif action == "delete":
            del buf[position]
        elif action == "truncate":
            del buf[position:]
        else:
            buf[position] ^= 1 << data.draw(st.integers(0, 7))
    return bytes(buf)


@PATIENT
@given(st.one_of(roots, everything.map(lambda v: y3.Codec(0x10).marshal(v))), st.data())
def test_mutated_packets_raise_only_codec_errors(wire: bytes, data: st.DataObject) -> None:
    exercise(mutate(wire, data), data.draw(st.lists(st.integers(0, 400), max_size=4)))

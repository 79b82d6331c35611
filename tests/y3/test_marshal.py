"""The high-level Codec against y3-codec-golang's marshal tests (codec-golang dialect)."""

# y3_field is a dataclass field specifier (it returns dataclasses.field(...)), which RUF009
# cannot know.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pytest
import y3
from y3 import Codec, Dialect, Kind, y3_field

I32 = Annotated[int, Kind.INT32]
U32 = Annotated[int, Kind.UINT32]
U64 = Annotated[int, Kind.UINT64]
F32 = Annotated[float, Kind.FLOAT32]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def as_primitive(packet: y3.Packet | None) -> y3.PrimitivePacket:
    """``packet``, checked to be a primitive packet."""
    assert isinstance(packet, y3.PrimitivePacket)
    return packet


def observed(buf: bytes, key: int) -> memoryview:
    """The first-level child keyed ``key`` of the root, as Go's Subscribe(key) hands it over."""
    found = y3.KeyObserver(key).feed(buf)
    assert len(found) == 1
    return found[0].packet


# yomorun/y3-codec-golang codec_test.go: exampleData, thermometer, exampleSlice, exampleSliceNil
@dataclasses.dataclass
class Thermometer:
    temperature: F32 = y3_field(0x13)
    humidity: F32 = y3_field(0x14)


@dataclasses.dataclass
class ExampleData:
    name: str = y3_field(0x10)
    noise: F32 = y3_field(0x11)
    therm: Thermometer = y3_field(0x12)


@dataclasses.dataclass
class ExampleSlice:
    therms: list[Thermometer] = y3_field(0x12)


@dataclasses.dataclass
class ExampleSliceNil:
    names: list[str] = y3_field(0x10)


# yomorun/y3-codec-golang internal/tester/data.go (Go's embedded structs become named fields)
@dataclasses.dataclass
class BasicTestData:
    vstring: str = y3_field(0x10)
    vint32: I32 = y3_field(0x11)
    vint64: int = y3_field(0x12)
    vuint32: U32 = y3_field(0x13)
    vuint64: U64 = y3_field(0x14)
    vfloat32: F32 = y3_field(0x15)
    vfloat64: float = y3_field(0x16)
    vbool: bool = y3_field(0x17)


@dataclasses.dataclass
class EmbeddedTestData:
    basic: BasicTestData = y3_field(0x1A)
    vaction: str = y3_field(0x1B)


@dataclasses.dataclass
class EmbeddedMoreTestData:
    embedded: EmbeddedTestData = y3_field(0x1C)
    vanimal: str = y3_field(0x1D)


@dataclasses.dataclass
class NamedTestData:
    base: BasicTestData = y3_field(0x1E)
    vaction: str = y3_field(0x1F)


@dataclasses.dataclass
class NamedMoreTestData:
    my_nest: NamedTestData = y3_field(0x2A)
    vanimal: str = y3_field(0x2B)


@dataclasses.dataclass
class SliceTestData:
    vfoo: str = y3_field(0x30)
    vbar: list[str] = y3_field(0x31)
    vint32_slice: list[I32] = y3_field(0x32)
    vint64_slice: list[int] = y3_field(0x33)
    vuint32_slice: list[U32] = y3_field(0x34)
    vuint64_slice: list[U64] = y3_field(0x35)
    vfloat32_slice: list[F32] = y3_field(0x36)
    vfloat64_slice: list[float] = y3_field(0x37)


@dataclasses.dataclass
class ArrayTestData:  # Go's fixed-size arrays: tuple[T, ...]
    vfoo: str = y3_field(0x20)
    vbar: tuple[str, ...] = y3_field(0x21)
    vint32_array: tuple[I32, ...] = y3_field(0x22)
    vint64_array: tuple[int, ...] = y3_field(0x23)
    vuint32_array: tuple[U32, ...] = y3_field(0x24)
    vuint64_array: tuple[U64, ...] = y3_field(0x25)
    vfloat32_array: tuple[F32, ...] = y3_field(0x26)
    vfloat64_array: tuple[float, ...] = y3_field(0x27)


@dataclasses.dataclass
class SliceStructTestData:
    vstring: str = y3_field(0x2E)
    base_list: list[BasicTestData] = y3_field(0x2F)
    named_more_list: list[NamedMoreTestData] = y3_field(0x3A)
    embedded_more_list: list[EmbeddedMoreTestData] = y3_field(0x3B)


@dataclasses.dataclass
class Sub3NestedTestData:
    basic_list: list[BasicTestData] = y3_field(0x3D)


@dataclasses.dataclass
class Sub2NestedTestData:
    sub_nested: Sub3NestedTestData = y3_field(0x3C)


@dataclasses.dataclass
class Sub1NestedTestData:
    sub_nested: Sub2NestedTestData = y3_field(0x3B)


@dataclasses.dataclass
class NestedTestData:
    sub_nested: Sub1NestedTestData = y3_field(0x3A)


def new_basic() -> BasicTestData:
    # yomorun/y3-codec-golang structure_decoder_test.go newBasic
    return BasicTestData("foo", 127, -1, 130, 18446744073709551615, 0.25, 23.0, True)


def test_marshal_int32_with_signals_matches_go() -> None:
    # yomorun/y3-codec-golang basic_test.go TestBasicEncoderWithSignals; the bytes are those of
    # internal/utils/format_test.go TestFormatBytes
    wire = Codec(0x10).marshal(456, type_=Kind.INT32, signals={0x02: "a", 0x03: "b"})
    assert wire == h("81 0A 02 01 61 03 01 62 10 02 83 48")
    assert y3.decode_primitive_packet(wire[8:])[0].to_int32() == 456


def test_marshal_struct_matches_go_observable_vector() -> None:
    # yomorun/y3-codec-golang observable_test.go TestObservable: one of its three packets is
    # NewCodec(0x30).Marshal(exampleData{"yomo", 456, {30, 40}}) from codec_test.go
    wire = Codec(0x30).marshal(ExampleData("yomo", 456.0, Thermometer(30.0, 40.0)))
    assert wire == h("81 16 B0 14 10 04 79 6F 6D 6F 11 02 43 E4 92 08 13 02 41 F0 14 02 42 20")


@dataclasses.dataclass
class ObservableTestData:
    a: F32 = y3_field(0x10)
    b: str = y3_field(0x11)


def test_marshal_small_struct_matches_go() -> None:
    # yomorun/y3-codec-golang internal/tester/data_test.go TestObservableTestData
    wire = Codec(0x20).marshal(ObservableTestData(456.0, "y3"))
    assert wire == h("81 0A A0 08 10 02 43 E4 11 02 79 33")
    assert Codec(0x20).unmarshal(wire, ObservableTestData) == ObservableTestData(456.0, "y3")


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        (456, Kind.INT32),  # codec_test.go TestMarshalInt32
        (456, Kind.UINT32),  # TestMarshalUInt32
        (456, Kind.INT64),  # TestMarshalInt64
        (456, Kind.UINT64),  # TestMarshalUInt64
        (456.0, Kind.FLOAT32),  # TestMarshalFloat32
        (23.0, Kind.FLOAT64),  # TestMarshalFloat64
        (True, Kind.BOOL),  # TestMarshalBool
        ("yomo", Kind.STR),  # TestMarshalUTF8String
        ("", Kind.STR),  # TestMarshalEmptyUTF8String
        (127, Kind.INT32),  # types_test.go TestToInt32
        (128, Kind.UINT32),  # TestToUInt32
        (123, Kind.INT64),  # TestToInt64
        (567, Kind.UINT64),  # TestToUInt64
        (b"\x01\x02", Kind.BYTES),
    ],
)
def test_marshal_basic_values_round_trip_through_the_observer(value: Any, type_: Kind) -> None:
    # yomorun/y3-codec-golang codec_test.go testMarshalBasic: marshal under 0x10, observe 0x10
    codec = Codec(0x10)
    wire = codec.marshal(value, type_=type_)
    packet = observed(wire, 0x10)
    assert codec.unmarshal(packet, type_) == value
    assert codec.unmarshal(wire[2:], type_) == value  # types_test.go: ToXxx(inputBuf[2:])


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        ([123, 456], list[I32]),  # codec_test.go TestMarshalInt32Slice
        ([], list[I32]),  # TestMarshalInt32SliceNil
        ([11, 22], list[U32]),  # TestMarshalUInt32Slice
        ([-4097, 255], list[int]),  # TestMarshalInt64Slice
        ([0, 1], list[U64]),  # TestMarshalUInt64Slice
        ([0.25, 0.375], list[F32]),  # TestMarshalFloat32Slice
        ([0.12, 0.45], list[float]),  # TestMarshalFloat64Slice
        ([True, False], list[bool]),  # TestMarshalBoolSlice
        (["a", "b"], list[str]),  # TestMarshalUTF8StringSlice
        ([], list[str]),  # TestMarshalUTF8StringSliceNil
        ([-1, 127], list[I32]),  # types_test.go TestToInt32Slice
        ([128, 130], list[U32]),  # TestToUInt32Slice
        ([1, -1], list[int]),  # TestToInt64Slice
        ([0, 256], list[U64]),  # TestToUInt64Slice
        ([1.0, 2.0], list[float]),  # TestFloat64Slice
        (["iot", "edge"], list[str]),  # TestToUTF8StringSlice
    ],
)
def test_marshal_slices_round_trip(value: list[Any], type_: Any) -> None:
    # yomorun/y3-codec-golang codec_test.go testMarshalBasicSlice
    codec = Codec(0x10)
    wire = codec.marshal(value, type_=type_)
    packet = observed(wire, 0x10)
    assert packet[0] == 0xD0  # an array node under key 0x10
    assert codec.unmarshal(packet, type_) == value


def test_marshal_int32_slice_bytes() -> None:
    # basic_test.go TestBasicSliceEncoderWithSignals: items keyed 0x00 after the two signals
    wire = Codec(0x10).marshal([123, 456], type_=Kind.INT32, signals={0x02: "a", 0x03: "b"})
    assert wire == h("81 10 02 01 61 03 01 62 D0 08 00 02 80 7B 00 02 83 48")


def test_marshal_object_observed_by_nested_key() -> None:
    # yomorun/y3-codec-golang codec_test.go TestMarshalObject: observe 0x12 inside 0x30
    wire = Codec(0x30).marshal(ExampleData("yomo", 456.0, Thermometer(30.0, 40.0)))
    found = y3.KeyObserver(0x12, nested=True).feed(wire)
    assert Codec(0x12).unmarshal(found[0].packet, Thermometer) == Thermometer(30.0, 40.0)


def test_marshal_object_pointer() -> None:
    # codec_test.go TestMarshalObjectPointer: observe 0x30, decode the whole struct
    value = ExampleData("yomo", 456.0, Thermometer(30.0, 40.0))
    wire = Codec(0x30).marshal(value)
    assert Codec(0x30).unmarshal(observed(wire, 0x30), ExampleData) == value


def test_marshal_object_slice() -> None:
    # codec_test.go TestMarshalObjectSlice
    value = ExampleSlice([Thermometer(30.0, 40.0), Thermometer(50.0, 60.0)])
    wire = Codec(0x30).marshal(value)
    therms = y3.KeyObserver(0x12, nested=True).feed(wire)[0].packet
    assert Codec(0x12).unmarshal(therms, list[Thermometer]) == value.therms
    assert Codec(0x30).unmarshal(wire, ExampleSlice) == value


def test_marshal_object_slice_nil() -> None:
    # codec_test.go TestMarshalObjectSliceNil
    wire = Codec(0x30).marshal(ExampleSliceNil([]))
    names = y3.KeyObserver(0x10, nested=True).feed(wire)[0].packet
    assert bytes(names) == h("D0 00")
    assert Codec(0x10).unmarshal(names, list[str]) == []


def test_to_object_and_to_object_slice() -> None:
    # yomorun/y3-codec-golang types_test.go TestToObject, TestToObjectSlice
    therm = Thermometer(30.0, 40.0)
    assert Codec(0x12).unmarshal(Codec(0x12).marshal(therm)[2:], Thermometer) == therm
    wire = Codec(0x12).marshal([therm])
    assert wire[2] == 0x92  # Go writes a root slice of structs as a plain node
    assert Codec(0x12).unmarshal(wire[2:], list[Thermometer]) == [therm]


def test_struct_encoder_with_signals() -> None:
    # yomorun/y3-codec-golang structure_encoder_test.go TestStructEncoderWithSignals,
    # TestStructSliceEncoderWithSignals: the struct follows the two signals
    value = ExampleData("yomo", 456.0, Thermometer(30.0, 40.0))
    wire = Codec(0x30).marshal(value, signals={0x02: "a", 0x03: "b"})
    assert Codec(0x30).unmarshal(wire[2 + 3 + 3 :], ExampleData) == value
    slice_value = ExampleSlice([Thermometer(30.0, 40.0), Thermometer(50.0, 60.0)])
    wire = Codec(0x30).marshal(slice_value, signals={0x02: "a", 0x03: "b"})
    assert Codec(0x30).unmarshal(wire, ExampleSlice) == slice_value


@pytest.mark.parametrize(
    "value",
    [
        new_basic(),  # structure_decoder_test.go TestBasic_Struct
        EmbeddedTestData(new_basic(), "drink"),  # TestDecode_Embedded
        EmbeddedMoreTestData(EmbeddedTestData(new_basic(), "drink"), "bird"),  # ...EmbeddedMore
        NamedTestData(new_basic(), "drink"),  # TestDecoder_Named
        NamedMoreTestData(NamedTestData(new_basic(), "drink"), "bird"),  # TestDecoder_NamedMore
        ArrayTestData(
            "foo", ("foo", "bar"), (1, 2), (1, 2), (1, 2), (1, 2), (1.0, 2.0), (1.0, 2.0)
        ),
        SliceTestData(
            "foo", ["foo", "bar"], [1, 2], [1, 2], [1, 2], [1, 2], [1.0, 2.0], [1.0, 2.0]
        ),
        SliceTestData("foo", [], [], [], [], [], [], []),  # TestEmptySlice
        SliceStructTestData(  # TestSliceStruct
            "foo",
            [new_basic(), new_basic()],
            [NamedMoreTestData(NamedTestData(new_basic(), "drink"), "bird")] * 2,
            [EmbeddedMoreTestData(EmbeddedTestData(new_basic(), "drink"), "bird")] * 2,
        ),
        NestedTestData(  # TestNested
            Sub1NestedTestData(Sub2NestedTestData(Sub3NestedTestData([new_basic(), new_basic()])))
        ),
    ],
    ids=lambda v: type(v).__name__,
)
def test_struct_round_trips(value: Any) -> None:
    # yomorun/y3-codec-golang structure_decoder_test.go: newStructEncoder(0x3f, root) then decode
    codec = Codec(0x3F)
    assert codec.unmarshal(codec.marshal(value), type(value)) == value


def test_root_slices_of_structs_round_trip() -> None:
    # structure_decoder_test.go TestRootSliceWithBasicStruct, TestRootSliceWithSliceStruct
    codec = Codec(0x3F)
    basics = [new_basic(), new_basic()]
    assert codec.unmarshal(codec.marshal(basics), list[BasicTestData]) == basics
    item = SliceStructTestData("foo", [new_basic()], [], [])
    assert codec.unmarshal(codec.marshal([item, item]), list[SliceStructTestData]) == [item, item]


@pytest.mark.parametrize("key", [0x00, 0x01, 0x02, 0x0F, 0x40])
def test_codec_refuses_keys_outside_the_user_range(key: int) -> None:
    # basic_test.go TestBasicForbidUserKey, structure_encoder_test.go TestStructForbidUserKey
    with pytest.raises(y3.KeyOutOfRangeError, match="user keys"):
        Codec(key)


def test_signal_keys() -> None:
    # basic_test.go TestBasicAllowSignalKey and internal/utils/key_test.go
    # TestAllowableSignalKey: 0x02 is a signal key, 0x01 is not (nor is a user key)
    assert Codec(0x10).marshal(1, signals={0x02: "a"})[2] == 0x02
    for key in (0x01, 0x10):
        with pytest.raises(y3.KeyOutOfRangeError, match="signal key"):
            Codec(0x10).marshal(1, signals={key: "a"})


def test_user_key_0x10_is_allowed() -> None:
    # yomorun/y3-codec-golang internal/utils/key_test.go TestForbiddenCustomizedKey
    assert Codec(0x10).key == 0x10


def test_signal_value_types() -> None:
    wire = Codec(0x10).marshal(b"", signals={0x02: 7, 0x03: 1.0, 0x04: b"z", 0x05: True})
    root, _ = y3.decode_node_packet(wire)
    assert as_primitive(root.primitive(0x02)).to_int64() == 7
    assert as_primitive(root.primitive(0x03)).to_float64() == 1.0
    assert as_primitive(root.primitive(0x04)).to_bytes() == b"z"
    assert as_primitive(root.primitive(0x05)).to_bool() is True


def test_defaults_are_int64_and_float64() -> None:
    codec = Codec(0x10)
    assert codec.marshal(-1) == h("81 03 10 01 7F")
    assert codec.marshal(1.0) == h("81 04 10 02 3F F0")
    assert codec.marshal(1 << 40)[2:4] == h("10 06")


def test_width_errors_reach_the_caller() -> None:
    with pytest.raises(y3.ValueOutOfRangeError, match="int32"):
        Codec(0x10).marshal(1 << 31, type_=Kind.INT32)
    with pytest.raises(y3.ValueOutOfRangeError):
        Codec(0x10).marshal(BasicTestData("x", 1 << 31, 0, 0, 0, 0.0, 0.0, False))


def test_empty_strings_are_written_so_non_empty_defaults_survive() -> None:
    @dataclasses.dataclass
    class WithDefault:
        label: str = y3_field(0x10, default="unnamed")

    codec = Codec(0x20)
    assert codec.unmarshal(codec.marshal(WithDefault("")), WithDefault) == WithDefault("")


def test_missing_fields_take_defaults_or_zero_values() -> None:
    wire = Codec(0x3F).marshal(NamedTestData(new_basic(), "x"))  # keys 0x1E, 0x1F only
    decoded = Codec(0x3F).unmarshal(wire, BasicTestData)
    assert decoded == BasicTestData("", 0, 0, 0, 0, 0.0, 0.0, False)


def test_fields_without_a_key_keep_their_default() -> None:
    @dataclasses.dataclass
    class Partial:
        value: int = y3_field(0x10)
        note: str = "local only"

    codec = Codec(0x20)
    assert codec.marshal(Partial(1, "x")) == codec.marshal(Partial(1))
    assert codec.unmarshal(codec.marshal(Partial(1, "x")), Partial) == Partial(1)


def test_v1_dialect_uses_nvarint() -> None:
    codec = Codec(0x10, Dialect.V1)
    assert codec.marshal(255, type_=Kind.INT32) == h("81 04 10 02 00 FF")
    assert codec.unmarshal(h("81 04 10 02 00 FF"), Kind.INT32) == 255


def test_unmarshal_errors_are_codec_errors() -> None:
    codec = Codec(0x10)
    with pytest.raises(y3.MalformedPacketError, match="no packet with key 0x10"):
        codec.unmarshal(h("81 03 11 01 01"), Kind.INT32)
    with pytest.raises(y3.MalformedPacketError, match="not this codec's key"):
        codec.unmarshal(h("11 01 01"), Kind.INT32)
    with pytest.raises(y3.MalformedPacketError, match="expected a node"):
        codec.unmarshal(h("10 01 01"), Thermometer)
    with pytest.raises(y3.MalformedPacketError, match="expected a primitive"):
        codec.unmarshal(h("90 00"), Kind.INT32)


def test_unsupported_types_are_refused_clearly() -> None:
    codec = Codec(0x10)
    with pytest.raises(y3.UnsupportedTypeError, match="no Y3 type"):
        codec.marshal({"a": 1})
    with pytest.raises(y3.UnsupportedTypeError, match="does not fit"):
        codec.marshal(1, type_=Annotated[int, Kind.FLOAT32])
    with pytest.raises(y3.UnsupportedTypeError, match="tuple"):
        codec.unmarshal(h("10 00"), tuple[int, str])

    @dataclasses.dataclass
    class NoKey:
        value: int

    with pytest.raises(y3.UnsupportedTypeError, match="no Y3 key"):
        codec.marshal(NoKey(1))


def test_field_keys_must_be_user_keys() -> None:
    with pytest.raises(y3.KeyOutOfRangeError):
        y3_field(0x05)


@dataclasses.dataclass
class Tree:
    name: str = y3_field(0x10)
    kids: list[Tree] = y3_field(0x11, default_factory=list)


def test_self_referential_dataclasses_round_trip() -> None:
    tree = Tree("a", [Tree("b"), Tree("c", [Tree("d")])])
    wire = Codec(0x20).marshal(tree)
    assert Codec(0x20).unmarshal(wire, Tree) == tree


def test_duplicate_field_keys_are_refused() -> None:
    @dataclasses.dataclass
    class Twice:
        a: int = y3_field(0x10)
        b: int = y3_field(0x10)

    with pytest.raises(y3.UnsupportedTypeError, match="reuses key 0x10"):
        Codec(0x20).marshal(Twice(1, 2))


def test_unresolvable_annotations_are_refused_clearly() -> None:
    @dataclasses.dataclass
    class Dangling:
        a: Undefined = y3_field(0x10)  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(y3.UnsupportedTypeError, match="cannot resolve the annotations"):
        Codec(0x20).marshal(Dangling(1))

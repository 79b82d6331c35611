"""Packet encoders and decoders against the Go repositories' vectors, in both dialects."""

from __future__ import annotations

import pytest
import y3
from y3 import Dialect

CG = Dialect.CODEC_GOLANG
V1 = Dialect.V1


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def as_primitive(packet: y3.Packet | None) -> y3.PrimitivePacket:
    """``packet``, checked to be a primitive packet."""
    assert isinstance(packet, y3.PrimitivePacket)
    return packet


# --- codec-golang dialect -------------------------------------------------------------------


def test_cg_a_packet_needs_two_bytes() -> None:
    # yomorun/y3-codec-golang primitive_test.go TestLackLengthPacket
    with pytest.raises(y3.PacketTooShortError, match="at least 2 bytes"):
        y3.decode_primitive_packet(h("01"), CG)


def test_cg_zero_length_packet_ends_after_its_header() -> None:
    # yomorun/y3-codec-golang primitive_test.go TestPacketWrongLength
    packet, end = y3.decode_primitive_packet(h("04 00 02 01"), CG)
    assert (packet.key, bytes(packet.raw), end) == (0x04, b"", 2)


def test_cg_packet_read() -> None:
    # yomorun/y3-codec-golang primitive_test.go TestPacketRead: {0x04: -1}
    packet, end = y3.decode_primitive_packet(h("04 01 7F"), CG)
    assert (packet.key, bytes(packet.raw), end) == (0x04, b"\x7f", 3)
    assert packet.to_int32() == -1


def test_cg_parse_int32() -> None:
    # yomorun/y3-codec-golang primitive_test.go TestParseInt32
    packet, _ = y3.decode_primitive_packet(h("0A 02 81 7F"), CG)
    assert packet.to_int32() == 255


@pytest.mark.parametrize(("hex_", "text"), [("0B 01 43", "C"), ("0B 00", "")])
def test_cg_parse_string(hex_: str, text: str) -> None:
    # yomorun/y3-codec-golang primitive_test.go TestParseString, TestParseEmptyString
    packet, _ = y3.decode_primitive_packet(h(hex_), CG)
    assert packet.to_str() == text


def test_cg_simple_node() -> None:
    # yomorun/y3-codec-golang node_test.go TestSimple1Node: 0x84 {0x01: -1}
    node, end = y3.decode_node_packet(h("84 03 01 01 7F"), CG)
    assert (node.key, end, len(node)) == (0x04, 5, 1)
    assert as_primitive(node.children[0]).to_int32() == -1


def test_cg_simple_node_with_two_children() -> None:
    # yomorun/y3-codec-golang node_test.go TestSimple2Nodes
    node, end = y3.decode_node_packet(h("83 06 01 01 7F 02 01 01"), CG)
    values = [as_primitive(child).to_int32() for child in node.children]
    assert (values, end) == ([-1, 1], 8)


def test_cg_complex_nodes() -> None:
    # yomorun/y3-codec-golang node_test.go TestComplexNodes
    buf = h("85 0D 84 06 01 01 7F 02 01 43 83 03 01 01 7E")
    node, end = y3.decode_node_packet(buf, CG)
    assert end == len(buf)
    first, second = node.children
    assert isinstance(first, y3.NodePacket)
    assert isinstance(second, y3.NodePacket)
    assert as_primitive(first.primitive(0x01)).to_int32() == -1
    assert as_primitive(first.primitive(0x02)).to_str() == "C"
    assert as_primitive(second.primitive(0x01)).to_int32() == -2


def test_cg_encoders() -> None:
    # yomorun/y3-codec-golang encoder_test.go: TestEncoderPrimitiveInt32, ...String,
    # TestEncoderNode1, TestEncoderNode2, TestEncoderPrimitiveBinary(+WithEmptyValue)
    int32 = y3.encode_value(y3.Kind.INT32, -1, CG)
    assert y3.encode_primitive_packet(0x01, int32) == h("01 01 7F")
    assert y3.encode_primitive_packet(0x01, b"YoMo") == h("01 04 59 6F 4D 6F")
    yomo = y3.encode_primitive_packet(0x02, b"YoMo")
    assert y3.encode_node_packet(0x01, [yomo]) == h("81 06 02 04 59 6F 4D 6F")
    inner = y3.encode_node_packet(0x03, [y3.encode_primitive_packet(0x04, b"C")])
    one = y3.encode_primitive_packet(0x02, y3.encode_value(y3.Kind.INT32, 1, CG))
    assert y3.encode_node_packet(0x01, [one, inner]) == h("81 08 02 01 01 83 03 04 01 43")
    assert y3.encode_primitive_packet(0x01, h("01 23 FF")) == h("01 03 01 23 FF")
    assert y3.encode_primitive_packet(0x01, b"") == h("01 00")


@pytest.mark.parametrize("dialect", list(Dialect))
def test_bool_encoding(dialect: Dialect) -> None:
    # yomorun/y3-codec-golang pkg/encoding/pvarbool_test.go and yomorun/y3
    # encoding/pvarbool_test.go TestPVarBool
    assert y3.encode_value(y3.Kind.BOOL, True, dialect) == h("01")
    assert y3.encode_value(y3.Kind.BOOL, False, dialect) == h("00")
    assert y3.decode_value(y3.Kind.BOOL, h("01"), dialect) is True
    assert y3.decode_value(y3.Kind.BOOL, h("00"), dialect) is False


def test_cg_tag() -> None:
    # yomorun/y3-codec-golang internal/mark/tag_test.go TestIsNode
    node, _ = y3.decode_node_packet(h("81 00"), CG)
    assert node.tag == 0x81
    assert node.key == 0x01
    assert not node.is_array


def test_cg_array_node() -> None:
    # yomorun/y3-codec-golang examples/packet/decode.go: 0xc1:[0x02, 0x04]
    items = [y3.encode_primitive_packet(0x00, bytes((v,))) for v in (0x02, 0x04)]
    encoded = y3.encode_array_packet(0x01, items)
    assert encoded == h("C1 06 00 01 02 00 01 04")
    node, _ = y3.decode_node_packet(encoded, CG)
    assert node.is_array
    assert node.key == 0x01
    assert [as_primitive(c).to_int32() for c in node.children] == [2, 4]


def test_cg_nested_array_example() -> None:
    # yomorun/y3-codec-golang examples/packet/decode.go: 0xc1:[0xc2:["a1", "b2"], 0x05:"c"]
    node, _ = y3.decode_node_packet(h("C1 0D C2 08 00 02 61 31 00 02 62 32 05 01 63"), CG)
    inner = node.node(0x02)
    assert inner is not None
    assert inner.is_array
    assert [as_primitive(c).to_str() for c in inner.children] == ["a1", "b2"]
    assert as_primitive(node.primitive(0x05)).to_str() == "c"


def test_cg_negative_length_is_an_error() -> None:
    # Go's codec-golang reports it as "beyond the boundary" (uint32 cast); here it has its own type.
    with pytest.raises(y3.NegativeLengthError):
        y3.decode_primitive_packet(h("04 74 01 01"), CG)


def test_cg_empty_value_has_no_integer() -> None:
    packet, _ = y3.decode_primitive_packet(h("04 00"), CG)
    with pytest.raises(y3.TruncatedVarIntError):
        packet.to_int32()
    with pytest.raises(y3.TruncatedVarIntError):
        packet.to_bool()  # y3-codec-golang: decodePVarInt on an empty buffer fails


def test_cg_lookup_keeps_the_first_duplicate() -> None:
    node, _ = y3.decode_node_packet(h("81 06 10 01 01 10 01 02"), CG)
    assert as_primitive(node[0x10]).to_int32() == 1


# --- y3 v1 dialect ----------------------------------------------------------------------------


def test_v1_nil_length_packet() -> None:
    # yomorun/y3 primitive_test.go TestNilLengthPrimitivePacket
    with pytest.raises(y3.PacketTooShortError):
        y3.decode_primitive_packet(h("01"), V1)


def test_v1_zero_length_packet() -> None:
    # yomorun/y3 primitive_test.go TestZeroLengthPrimitivePacket
    packet, end = y3.decode_primitive_packet(h("04 00 03"), V1)
    assert (bytes(packet.raw), end) == (b"", 2)
    packet, end = y3.decode_primitive_packet(h("04 00"), V1)
    assert end == 2
    assert not packet.is_array


@pytest.mark.parametrize("hex_", ["04 74 01 01", "0A 70 01 02"])
def test_v1_negative_length(hex_: str) -> None:
    # yomorun/y3 primitive_test.go TestNagetiveLengthPrimitivePacket, TestWrongLenPrimitivePacket
    with pytest.raises(y3.NegativeLengthError, match=r"negative.*at offset 1"):
        y3.decode_primitive_packet(h(hex_), V1)


def test_v1_packet_read() -> None:
    # yomorun/y3 primitive_test.go TestPacketRead
    packet, end = y3.decode_primitive_packet(h("04 01 7F"), V1)
    assert (packet.key, bytes(packet.raw), end) == (0x04, b"\x7f", 3)


@pytest.mark.parametrize(
    ("kind", "accessor"),
    [
        (y3.Kind.INT32, "to_int32"),
        (y3.Kind.INT64, "to_int64"),
        (y3.Kind.UINT32, "to_uint32"),
        (y3.Kind.UINT64, "to_uint64"),
    ],
)
def test_v1_integers_255(kind: y3.Kind, accessor: str) -> None:
    # yomorun/y3 primitive_test.go TestInt32, TestInt64, TestUInt32, TestUInt64: {0x0A: 255}
    encoded = y3.encode_primitive_packet(0x0A, y3.encode_value(kind, 255, V1))
    assert encoded == h("0A 02 00 FF")
    packet, end = y3.decode_primitive_packet(encoded, V1)
    assert getattr(packet, accessor)() == 255
    assert end == 4


def test_v1_floats() -> None:
    # yomorun/y3 primitive_test.go TestFloat32, TestFloat64: {0x0A: 1}
    f32 = y3.encode_primitive_packet(0x0A, y3.encode_value(y3.Kind.FLOAT32, 1.0, V1))
    f64 = y3.encode_primitive_packet(0x0A, y3.encode_value(y3.Kind.FLOAT64, 1.0, V1))
    assert (f32, f64) == (h("0A 02 3F 80"), h("0A 02 3F F0"))
    assert y3.decode_primitive_packet(f32, V1)[0].to_float32() == 1.0
    assert y3.decode_primitive_packet(f64, V1)[0].to_float64() == 1.0


@pytest.mark.parametrize(
    ("key", "text", "hex_"), [(0x0B, "yomo", "0B 04 79 6F 6D 6F"), (0x0C, "", "0C 00")]
)
def test_v1_strings(key: int, text: str, hex_: str) -> None:
    # yomorun/y3 primitive_test.go TestString, TestParseEmptyString
    encoded = y3.encode_primitive_packet(key, y3.encode_value(y3.Kind.STR, text, V1))
    assert encoded == h(hex_)
    assert y3.decode_primitive_packet(encoded, V1)[0].to_str() == text


@pytest.mark.parametrize(
    ("hex_", "value"), [("2C 01 01", True), ("2C 00", False), ("2C 01 08", False)]
)
def test_v1_bools(hex_: str, value: bool) -> None:
    # yomorun/y3 primitive_test.go TestPrimitivePacketBool, ...Bool2, ...Bool3
    packet, end = y3.decode_primitive_packet(h(hex_), V1)
    assert packet.to_bool() is value
    assert end == len(h(hex_))
    if value:
        assert y3.encode_primitive_packet(0x2C, y3.encode_value(y3.Kind.BOOL, True, V1)) == h(hex_)


def test_v1_bytes_with_two_byte_length() -> None:
    # yomorun/y3 primitive_test.go TestPrimitivePacketBytes: 255 bytes, length 81 7F
    value = bytes(range(255))
    encoded = y3.encode_primitive_packet(0x01, value)
    assert encoded == h("01 81 7F") + value
    packet, end = y3.decode_primitive_packet(encoded, V1)
    assert (packet.to_bytes(), end) == (value, 258)


def test_v1_empty_nodes() -> None:
    # yomorun/y3 node_test.go TestEmptyNode, TestSubEmptyNode
    assert y3.encode_node_packet(0x06, []) == h("86 00")
    node, end = y3.decode_node_packet(h("86 00"), V1)
    assert (len(node), end) == (0, 2)
    sub = y3.encode_node_packet(0x03, [])
    assert y3.encode_node_packet(0x06, [sub]) == h("86 02 83 00")
    node, end = y3.decode_node_packet(h("86 02 83 00"), V1)
    child = node.node(0x03)
    assert end == 4
    assert child is not None
    assert len(child) == 0
    assert bytes(node.raw) == h("83 00")


def test_v1_simple_nodes() -> None:
    # yomorun/y3 node_test.go TestSimple1Node, TestSimpleNodes, TestSimple2Nodes
    prim = y3.encode_primitive_packet(0x01, y3.encode_value(y3.Kind.INT32, -1, V1))
    assert prim == h("01 01 FF")
    assert y3.encode_node_packet(0x04, [prim]) == h("84 03 01 01 FF")
    node, end = y3.decode_node_packet(h("85 05 84 03 01 01 FF"), V1)
    inner = node.node(0x04)
    assert end == 7
    assert inner is not None
    assert as_primitive(inner.primitive(0x01)).to_int32() == -1
    node, end = y3.decode_node_packet(h("83 06 01 01 FF 02 01 01"), V1)
    assert [as_primitive(c).to_int32() for c in node.children] == [-1, 1]


def test_v1_complex_nodes() -> None:
    # yomorun/y3 node_test.go TestComplexNodes
    buf = h("85 0D 84 06 01 01 FF 02 01 43 83 03 01 01 FE")
    node, end = y3.decode_node_packet(buf, V1)
    n1, n2 = node.node(0x04), node.node(0x03)
    assert end == len(buf)
    assert n1 is not None
    assert n2 is not None
    assert bytes(n1.raw) == h("01 01 FF 02 01 43")
    assert as_primitive(n1.primitive(0x01)).to_int32() == -1
    assert as_primitive(n1.primitive(0x02)).to_str() == "C"
    assert as_primitive(n2.primitive(0x01)).to_int32() == -2


def test_v1_tags() -> None:
    # yomorun/y3 tag_test.go TestNodeTag, TestSliceTag; encoder_test.go TestEncoderWriteTag*
    node, _ = y3.decode_node_packet(h("81 00"), V1)
    assert (node.key, node.is_array) == (0x01, False)
    prim, _ = y3.decode_primitive_packet(h("42 00"), V1)
    assert (prim.key, prim.is_array) == (0x02, True)
    assert y3.encode_node_packet(0x00, [])[0] == 0x80
    assert y3.encode_primitive_packet(0x00, b"")[0] == 0x00
    assert y3.encode_array_packet(0x00, [])[0] == 0xC0
    with pytest.raises(y3.KeyOutOfRangeError, match="0x40"):
        y3.encode_primitive_packet(0x40, b"")


def test_v1_empty_bool_is_false() -> None:
    packet, _ = y3.decode_primitive_packet(h("2C 00"), V1)
    assert packet.to_bool() is False


def test_v1_lookup_keeps_the_last_duplicate() -> None:
    # y3 v1's NodePacket holds map[byte]PrimitivePacket: a later key overwrites.
    node, _ = y3.decode_node_packet(h("81 06 10 01 01 10 01 02"), V1)
    assert as_primitive(node[0x10]).to_int32() == 2


# --- both -------------------------------------------------------------------------------------


def test_child_past_its_parent_is_beyond_the_boundary() -> None:
    with pytest.raises(y3.BeyondBoundaryError, match=r"beyond the boundary.*at offset 2"):
        y3.decode_node_packet(h("81 03 01 05 00 00 00 00"), CG)


def test_value_past_the_buffer_is_beyond_the_boundary() -> None:
    with pytest.raises(y3.BeyondBoundaryError):
        y3.decode_primitive_packet(h("01 05 00"), V1)


def test_truncated_length_varint() -> None:
    with pytest.raises(y3.TruncatedVarIntError):
        y3.decode_primitive_packet(h("01 81"), V1)


def test_decoders_return_views_not_copies() -> None:
    buf = bytearray(h("01 03 AA BB CC"))
    packet, _ = y3.decode_primitive_packet(buf, V1)
    buf[2] = 0x11
    assert bytes(packet.raw) == h("11 BB CC")


def test_decoding_starts_at_offset_and_reports_absolute_end() -> None:
    packet, end = y3.decode_primitive_packet(h("FF FF 04 01 7F 99"), CG, offset=2)
    assert (packet.to_int32(), end) == (-1, 5)


def test_deep_nesting_does_not_recurse() -> None:
    depth = 2000
    encoded = y3.encode_primitive_packet(0x01, b"x")
    for _ in range(depth):
        encoded = y3.encode_node_packet(0x02, [encoded])
    node, _ = y3.decode_node_packet(encoded, V1)
    for _ in range(depth - 1):
        child = node.node(0x02)
        assert child is not None
        node = child
    assert as_primitive(node.primitive(0x01)).to_str() == "x"


def test_invalid_utf8_is_a_malformed_packet() -> None:
    packet, _ = y3.decode_primitive_packet(h("01 02 C3 28"), V1)
    with pytest.raises(y3.MalformedPacketError, match="UTF-8"):
        packet.to_str()


def test_long_values_use_multi_byte_lengths() -> None:
    value = bytes(70_000)
    encoded = y3.encode_primitive_packet(0x10, value)
    assert encoded[:4] == bytes((0x10,)) + y3.encode_pvarint(70_000)
    packet, end = y3.decode_primitive_packet(encoded, V1)
    assert len(packet.raw) == 70_000
    assert end == len(encoded)


def test_decode_packet_dispatches_on_the_node_bit() -> None:
    assert isinstance(y3.decode_packet(h("81 00"))[0], y3.NodePacket)
    assert isinstance(y3.decode_packet(h("01 00"))[0], y3.PrimitivePacket)

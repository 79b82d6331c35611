"""StreamDecoder and KeyObserver: Go's stream vectors, chunking, limits and error handling."""

from __future__ import annotations

import pytest
import y3


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def feed_bytewise(decoder: y3.StreamDecoder, data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for i in range(len(data)):
        out += [bytes(p) for p in decoder.feed(data[i : i + 1])]
    return out


# yomorun/y3-codec-golang observable_test.go TestObservable: three identical root packets
OBSERVABLE = h("81 16 B0 14 10 04 79 6F 6D 6F 11 02 43 E4 92 08 13 02 41 F0 14 02 42 20") * 3


def test_read_packet() -> None:
    # yomorun/y3 parser_test.go TestStreamParser1 (its reader returns one byte per Read)
    data = h("01 03 01 02 03")
    assert feed_bytewise(y3.StreamDecoder(), data) == [data]


def test_read_packet_leaves_the_next_byte() -> None:
    # yomorun/y3 parser_test.go TestStreamParser2
    decoder = y3.StreamDecoder()
    assert feed_bytewise(decoder, h("01 03 01 02 03 04")) == [h("01 03 01 02 03")]
    assert decoder.pending == 1


@pytest.mark.parametrize("data", ["01 03 01 02", "01"])
def test_stream_ending_inside_a_packet_is_malformed(data: str) -> None:
    # yomorun/y3 parser_test.go TestStreamParser3, TestStreamParser5 (ErrMalformed)
    decoder = y3.StreamDecoder()
    assert feed_bytewise(decoder, h(data)) == []
    with pytest.raises(y3.PacketTooShortError, match="stream ended inside a packet"):
        decoder.close()


def test_empty_stream_closes_cleanly() -> None:
    # yomorun/y3 parser_test.go TestStreamParser4 reads nothing from an empty stream
    decoder = y3.StreamDecoder()
    assert decoder.feed(b"") == []
    decoder.close()


def test_stream_parser_two_packets() -> None:
    # yomorun/y3 stream_decoder_test.go TestStreamParser
    data = h("11 03 01 02 03 12 02 01 02")
    packets = y3.StreamDecoder().feed(data)
    assert [(p[0], bytes(p[2:])) for p in packets] == [(0x11, h("01 02 03")), (0x12, h("01 02"))]


def test_stream_encoder_vector() -> None:
    # yomorun/y3 stream_encode_test.go TestStreamEncoder: 0x10 wrapping 0x11 and a streamed 0x12
    inner = y3.encode_primitive_packet(0x11, h("01 02")) + y3.encode_primitive_packet(
        0x12, h("01 02 03 04 05")
    )
    expected = h("10 0B 11 02 01 02 12 05 01 02 03 04 05")
    assert y3.encode_primitive_packet(0x10, inner) == expected
    assert feed_bytewise(y3.StreamDecoder(), expected) == [expected]


def test_observable_vector_nested() -> None:
    # yomorun/y3-codec-golang observable_test.go TestObservable: Subscribe(0x11) and
    # Subscribe(0x13) each see 3 values (11 02 43 E4 and 13 02 41 F0), nested in 0x30
    for key, tlv in [(0x11, h("11 02 43 E4")), (0x13, h("13 02 41 F0"))]:
        observer = y3.KeyObserver(key, nested=True)
        found = []
        for start in range(0, len(OBSERVABLE), 7):  # Go's FromStream reads in chunks
            found += observer.feed(OBSERVABLE[start : start + 7])
        assert [(o.key, bytes(o.packet)) for o in found] == [(key, tlv)] * 3


def test_observable_first_level_only_by_default() -> None:
    # The only first-level child of each root is 0x30; 0x11 and 0x13 live deeper.
    assert y3.KeyObserver(0x11).feed(OBSERVABLE) == []
    found = y3.KeyObserver(0x30).feed(OBSERVABLE)
    assert [o.key for o in found] == [0x30] * 3
    assert bytes(found[0].packet) == OBSERVABLE[2:24]


def test_keys_are_never_matched_inside_a_value() -> None:
    # "S" is 0x53, whose low six bits are 0x13: a byte scanner would match it.
    wire = y3.Codec(0x10).marshal("SSS")
    assert y3.KeyObserver(0x13, nested=True).feed(wire) == []


def test_first_observed_child_wins_and_the_rest_is_skipped() -> None:
    root = y3.encode_node_packet(
        0x01,
        [
            y3.encode_primitive_packet(0x12, b"a"),
            y3.encode_primitive_packet(0x11, b"b"),
            y3.encode_primitive_packet(0x12, b"c"),
            y3.encode_primitive_packet(0x3F, b"\xff" * 100),  # never walked into
        ],
    )
    found = y3.KeyObserver({0x11, 0x12}).feed(root + root)
    assert [(o.key, bytes(o.packet)) for o in found] == [(0x12, h("12 01 61"))] * 2


def test_observer_handles_every_split() -> None:
    wire = y3.Codec(0x10).marshal(bytes(200), signals={0x02: "a"}) * 2
    expected = y3.KeyObserver(0x10).feed(wire)
    for cut in range(len(wire) + 1):
        observer = y3.KeyObserver(0x10)
        found = observer.feed(wire[:cut]) + observer.feed(wire[cut:])
        assert [bytes(o.packet) for o in found] == [bytes(o.packet) for o in expected]


def test_primitive_roots_yield_nothing() -> None:
    assert y3.KeyObserver(0x10).feed(h("10 01 01")) == []


def test_large_value_in_one_chunk_is_not_copied() -> None:
    wire = y3.Codec(0x10).marshal(bytes(100_000))
    (found,) = y3.KeyObserver(0x10).feed(wire)
    assert found.packet.obj is wire


def test_large_value_across_chunks_is_joined_once() -> None:
    wire = y3.Codec(0x10).marshal(bytes(range(256)) * 1000)
    decoder = y3.StreamDecoder()
    out = []
    for start in range(0, len(wire), 4096):
        out += decoder.feed(wire[start : start + 4096])
    assert len(out) == 1
    assert bytes(out[0]) == wire
    assert decoder.pending == 0


def test_max_packet_size_is_enforced_from_the_header() -> None:
    decoder = y3.StreamDecoder(max_packet_size=64)
    with pytest.raises(y3.PacketTooLargeError, match="exceeds max_packet_size 64"):
        decoder.feed(h("81 81 00"))  # declares 128 value bytes, none sent
    with pytest.raises(y3.PacketTooLargeError):
        decoder.feed(b"")  # the stream cannot be resynchronised


def test_max_packet_size_counts_the_header() -> None:
    decoder = y3.StreamDecoder(max_packet_size=4)
    assert len(decoder.feed(h("01 02 AA BB"))) == 1
    with pytest.raises(y3.PacketTooLargeError):
        decoder.feed(h("01 03"))


def test_max_packet_size_must_allow_a_packet() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        y3.StreamDecoder(max_packet_size=1)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (h("01 40"), y3.NegativeLengthError),
        (h("01 80 80 80 80 80"), y3.ValueOutOfRangeError),
        (h("01 8F FF FF FF 7F"), y3.ValueOutOfRangeError),
    ],
)
def test_bad_headers_fail_the_stream(data: bytes, error: type[y3.Y3Error]) -> None:
    decoder = y3.StreamDecoder(max_packet_size=None)
    with pytest.raises(error):
        decoder.feed(data)


def test_packets_before_an_error_are_returned_first() -> None:
    decoder = y3.StreamDecoder()
    assert [bytes(p) for p in decoder.feed(h("01 01 AA 01 40"))] == [h("01 01 AA")]
    with pytest.raises(y3.NegativeLengthError, match="at offset 4"):
        decoder.feed(h("01 01 BB"))


def test_a_malformed_root_packet_does_not_stop_the_observer() -> None:
    bad = h("81 03 10 05 00")  # the child claims 5 bytes, its root has 1 left
    good = y3.Codec(0x10).marshal(1)
    observer = y3.KeyObserver(0x10)
    with pytest.raises(y3.BeyondBoundaryError, match="at offset 2"):
        observer.feed(bad + good)
    assert [bytes(o.packet) for o in observer.feed(b"")] == [good[2:]]


def test_observations_before_a_malformed_packet_are_returned_first() -> None:
    good = y3.Codec(0x10).marshal(1)
    bad = h("81 02 10 05")
    observer = y3.KeyObserver(0x10)
    assert len(observer.feed(good + bad + good)) == 1
    with pytest.raises(y3.BeyondBoundaryError):
        observer.feed(b"")
    assert len(observer.feed(b"")) == 1


def test_observed_keys_are_checked() -> None:
    with pytest.raises(y3.KeyOutOfRangeError):
        y3.KeyObserver(0x40)
    with pytest.raises(y3.KeyOutOfRangeError):
        y3.KeyObserver([])


def test_stream_offsets_count_from_the_stream_start() -> None:
    decoder = y3.StreamDecoder()
    decoder.feed(h("01 00 01 00"))
    with pytest.raises(y3.NegativeLengthError, match="at offset 5"):
        decoder.feed(h("02 7F"))

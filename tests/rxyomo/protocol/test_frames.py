"""YoMo v1.22 frames: Go's vectors, malformed input, streaming, and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxyomo.protocol.frames import (
    ClientType,
    ConnectToFrame,
    DataFrame,
    Frame,
    FrameDecoder,
    FrameError,
    FrameTooLargeError,
    FrameType,
    GoawayFrame,
    HandshakeAckFrame,
    HandshakeFrame,
    RejectedFrame,
    decode_frame,
    encode_frame,
    is_reserved_tag,
)

# A generous deadline: it still catches a hang, but does not fail on a busy machine.
PATIENT = settings(deadline=2000)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# yomorun/yomo v1.22.3 pkg/frame-codec/y3codec/codec_test.go (TestCodec)
GO_VECTORS: list[tuple[Frame, bytes]] = [
    (
        DataFrame(tag=0x15, metadata=b"metadata", payload=b"yomo"),
        h("bf 13 01 01 15 03 08 6d 65 74 61 64 61 74 61 02 04 79 6f 6d 6f"),
    ),
    (
        HandshakeFrame(
            name="the-name",
            id="the-id",
            client_type=104,
            observed_data_tags=(ord("a"), ord("b"), ord("c")),
            auth_name="ddddd",
            auth_payload="eeeee",
            version="2014-01-03",
            function_definition=b"handshake-metadata",
            want_target="the-wanted-target",
        ),
        h(
            "b1 80 64 01 08 74 68 65 2d 6e 61 6d 65 03 06 74 68 65 2d 69 64 02 01 68 06 0c 61 00"
            "00 00 62 00 00 00 63 00 00 00 04 05 64 64 64 64 64 05 05 65 65 65 65 65 07 0a 32 30"
            "31 34 2d 30 31 2d 30 33 09 12 68 61 6e 64 73 68 61 6b 65 2d 6d 65 74 61 64 61 74 61"
            "08 11 74 68 65 2d 77 61 6e 74 65 64 2d 74 61 72 67 65 74"
        ),
    ),
    (HandshakeAckFrame(), h("a9 00")),
    (
        RejectedFrame(message="rejected error"),
        h("b9 10 01 0e 72 65 6a 65 63 74 65 64 20 65 72 72 6f 72"),
    ),
    (
        GoawayFrame(message="goaway error"),
        h("ae 0e 01 0c 67 6f 61 77 61 79 20 65 72 72 6f 72"),
    ),
    (
        ConnectToFrame(endpoint="11.11.11.11:8080"),
        h("be 12 01 10 31 31 2e 31 31 2e 31 31 2e 31 31 3a 38 30 38 30"),
    ),
]


@pytest.mark.parametrize(("frame", "wire"), GO_VECTORS, ids=lambda v: type(v).__name__)
def test_frames_match_go_vectors(frame: Frame, wire: bytes) -> None:
    assert encode_frame(frame) == wire
    assert decode_frame(wire) == frame


def test_read_packet_round_trip_of_a_small_handshake() -> None:
    # yomorun/yomo v1.22.3 pkg/frame-codec/y3codec/codec_test.go TestReadPacket
    frame = HandshakeFrame(name="a", id="b", client_type=0x10, observed_data_tags=(1, 2, 3))
    wire = encode_frame(frame)
    decoder = FrameDecoder()
    assert decoder.feed(wire) == [frame]
    assert wire[0] & 0x7F == FrameType.HANDSHAKE
    assert decoder.pending == 0


def test_client_types_are_gos_values() -> None:
    # yomorun/yomo v1.22.3 core/client_type.go
    assert (ClientType.SOURCE, ClientType.UPSTREAM_ZIPPER, ClientType.STREAM_FUNCTION) == (
        0x5F,
        0x5E,
        0x5D,
    )
    decoded = decode_frame(encode_frame(HandshakeFrame(name="s", client_type=0x5F)))
    assert isinstance(decoded, HandshakeFrame)
    assert decoded.client_type is ClientType.SOURCE


def test_frame_types_are_gos_values() -> None:
    # yomorun/yomo v1.22.3 core/frame/frame.go
    assert [int(t) for t in FrameType] == [0x3F, 0x31, 0x29, 0x39, 0x2E, 0x3E]


def test_large_payload_round_trips() -> None:
    payload = bytes(range(256)) * 160  # a 40 KB JPEG's size
    frame = DataFrame(tag=0x33, payload=payload, metadata=b"\x80")
    assert decode_frame(encode_frame(frame)) == frame


def test_missing_fields_take_defaults() -> None:
    # Go's decoder leaves fields it does not find at their zero value.
    assert decode_frame(h("bf 00")) == DataFrame(tag=0, payload=b"")
    assert decode_frame(h("b9 00")) == RejectedFrame("")


def test_repeated_field_keeps_the_last_and_unknown_fields_are_ignored() -> None:
    wire = h("bf 0d 02 01 61 02 01 62 01 01 07 30 02 01 02")
    assert decode_frame(wire) == DataFrame(tag=7, payload=b"b")


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (h("bf"), "at least 2 bytes"),
        (h("bf 05 01 01"), "beyond the boundary"),
        (h("bf 03 01 01 15 00"), "after the frame"),
        (h("3f 03 01 01 15"), "not a node"),
        (h("a0 00"), "unknown frame type"),
        (h("ff 00"), "unknown frame type"),
        (h("bf 74"), "negative"),
        (h("bf 02 01 00"), "empty integer"),
        (h("bf 07 01 05 01 00 00 00 00"), "does not fit uint32"),
        (h("b9 04 01 02 c3 28"), "UTF-8"),
        (h("b1 02 02 00"), "client type must be 1 byte"),
        (h("b1 08 02 01 5f 06 03 01 02 03"), "multiple of 4"),
    ],
)
def test_malformed_frames_raise_frame_error(wire: bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        decode_frame(wire)


def test_handshake_with_only_a_client_type_decodes() -> None:
    assert decode_frame(h("b1 03 02 01 5f")) == HandshakeFrame(name="", client_type=0x5F)


@pytest.mark.parametrize("tag", [-1, 1 << 32])
def test_data_tag_must_be_uint32(tag: int) -> None:
    with pytest.raises(FrameError, match="uint32"):
        DataFrame(tag=tag, payload=b"")


def test_handshake_checks_its_fields() -> None:
    with pytest.raises(FrameError, match="not a byte"):
        HandshakeFrame(name="x", client_type=256)
    with pytest.raises(FrameError, match="uint32"):
        HandshakeFrame(name="x", client_type=1, observed_data_tags=(1 << 32,))
    # A list where a tuple is declared, on purpose: the frame freezes it.
    frame = HandshakeFrame(name="x", client_type=1, observed_data_tags=[1, 2])  # type: ignore[arg-type]
    assert frame.observed_data_tags == (1, 2)


class _Huge(bytes):
    """Bytes that claim Y3's length limit, so that the test allocates nothing."""

    def __len__(self) -> int:
        return 1 << 31


@pytest.mark.parametrize(
    "frame",
    [
        DataFrame(tag=1, payload=_Huge()),
        HandshakeFrame(name="x", client_type=1, function_definition=_Huge()),
    ],
    ids=["data", "handshake"],
)
def test_values_over_the_length_limit_raise_frame_error(frame: Frame) -> None:
    with pytest.raises(FrameError, match="int32"):
        encode_frame(frame)


def test_encoding_a_non_frame_is_an_error() -> None:
    with pytest.raises(FrameError, match="not a frame"):
        encode_frame("hello")  # type: ignore[arg-type]


def test_reserved_tags() -> None:
    # yomorun/yomo v1.22.3 core/frame/frame.go IsReservedTag: [0xF000, 0xFFFF]
    assert [is_reserved_tag(t) for t in (0xEFFF, 0xF000, 0xFFFF, 0x10000)] == [
        False,
        True,
        True,
        False,
    ]


def test_decoder_handles_every_split() -> None:
    frames: list[Frame] = [
        DataFrame(tag=1, payload=b"x" * 100, metadata=b"m"),
        HandshakeAckFrame(),
        GoawayFrame("bye"),
    ]
    wire = b"".join(encode_frame(f) for f in frames)
    for cut in range(len(wire) + 1):
        decoder = FrameDecoder()
        assert decoder.feed(wire[:cut]) + decoder.feed(wire[cut:]) == frames


def test_decoder_refuses_a_frame_over_the_limit_from_its_header() -> None:
    decoder = FrameDecoder(max_frame_size=100)
    header = encode_frame(DataFrame(tag=1, payload=bytes(200)))[:3]
    with pytest.raises(FrameTooLargeError, match="exceeds"):
        decoder.feed(header)
    with pytest.raises(FrameTooLargeError):
        decoder.feed(b"more")  # the stream cannot be resynchronised


def test_decoder_returns_good_frames_before_raising() -> None:
    decoder = FrameDecoder()
    good = encode_frame(HandshakeAckFrame())
    assert decoder.feed(good + h("a0 00")) == [HandshakeAckFrame()]
    with pytest.raises(FrameError, match="unknown frame type"):
        decoder.feed(b"")


# --- properties -------------------------------------------------------------------------------

FRAME_TYPES = (
    DataFrame,
    HandshakeFrame,
    HandshakeAckFrame,
    RejectedFrame,
    GoawayFrame,
    ConnectToFrame,
)

uint32 = st.integers(0, 0xFFFF_FFFF)
text = st.text(max_size=40)
frames_strategy: st.SearchStrategy[Frame] = st.one_of(
    st.builds(
        DataFrame, tag=uint32, payload=st.binary(max_size=300), metadata=st.binary(max_size=40)
    ),
    st.builds(
        HandshakeFrame,
        name=text,
        client_type=st.integers(0, 255),
        id=text,
        auth_name=text,
        auth_payload=text,
        observed_data_tags=st.lists(uint32, max_size=8).map(tuple),
        version=text,
        want_target=text,
        function_definition=st.binary(max_size=60),
    ),
    st.just(HandshakeAckFrame()),
    st.builds(RejectedFrame, text),
    st.builds(GoawayFrame, text),
    st.builds(ConnectToFrame, text),
)


@PATIENT
@given(frames_strategy)
def test_every_frame_round_trips(frame: Frame) -> None:
    assert decode_frame(encode_frame(frame)) == frame


@PATIENT
@given(st.lists(frames_strategy, max_size=6), st.lists(st.integers(0, 4000), max_size=8))
def test_decoder_gives_the_same_frames_however_the_stream_is_cut(
    frames: list[Frame], cuts: list[int]
) -> None:
    wire = b"".join(encode_frame(f) for f in frames)
    bounds = sorted({0, len(wire), *(c % (len(wire) + 1) for c in cuts)})
    decoder = FrameDecoder()
    out: list[Frame] = []
    for start, end in itertools.pairwise(bounds):
        out += decoder.feed(wire[start:end])
    assert out == frames
    assert decoder.pending == 0


@PATIENT
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_frame_errors(data: bytes) -> None:
    try:
        frame = decode_frame(data)
    except FrameError:
        pass
    else:
        assert encode_frame(frame)  # whatever decodes is a frame that can be written back
    decoder = FrameDecoder(max_frame_size=150)
    try:
        frames = decoder.feed(data)
    except FrameError:
        pass
    else:
        assert all(isinstance(f, FRAME_TYPES) for f in frames)


@PATIENT
@given(frames_strategy, st.data())
def test_mutated_frames_raise_only_frame_errors(frame: Frame, data: st.DataObject) -> None:
    wire = bytearray(encode_frame(frame))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(wire)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or not wire:
            wire.insert(position, data.draw(st.integers(0, 255)))
        elif action == "delete":
            del wire[min(position, len(wire) - 1)]
        else:
            wire[min(position, len(wire) - 1)] ^= 1 << data.draw(st.integers(0, 7))
    try:
        decoded = decode_frame(bytes(wire))
    except FrameError:
        pass
    else:
        assert isinstance(decoded, FRAME_TYPES)


def test_a_decoded_data_frame_re_encodes_to_the_bytes_it_came_from() -> None:
    wire = encode_frame(DataFrame(tag=0x15, payload=b"yomo", metadata=b"metadata"))
    frame = decode_frame(wire)
    assert isinstance(frame, DataFrame)
    assert frame.raw == wire
    assert encode_frame(frame) == wire


def test_replacing_a_field_drops_the_received_encoding() -> None:
    import dataclasses

    frame = decode_frame(encode_frame(DataFrame(tag=1, payload=b"old")))
    assert isinstance(frame, DataFrame)
    changed = dataclasses.replace(frame, payload=b"new")
    assert changed.raw is None
    assert decode_frame(encode_frame(changed)) == DataFrame(tag=1, payload=b"new")

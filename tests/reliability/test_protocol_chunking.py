"""The zipper's protocol core decides the same whatever the transport's chunking.

A byte stream from a client (a handshake, data pipelined right after it, garbage at the
end) must give the same events and the same close, whether it arrives in one chunk or
split anywhere: QUIC and TCP chunk the same bytes differently on every run.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from rxyomo.protocol.connection import Connection, ConnectionConfig, Role
from rxyomo.protocol.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    HandshakeReceived,
)
from rxyomo.protocol.frames import ClientType, DataFrame, HandshakeFrame, encode_frame

CONFIG = ConnectionConfig(max_frame_size=4096)
HELLO = HandshakeFrame(name="src", client_type=ClientType.SOURCE)

Outcome = tuple[list[object], bool, bool | None]


def drive(chunks: list[bytes], *, accept: bool = True) -> Outcome:
    """Feed ``chunks`` to a server core as the zipper does; what it reported, and how it
    ended (closed?, may the client reconnect?)."""
    core = Connection(Role.SERVER, 0.0, CONFIG)
    seen: list[object] = []
    reconnect: bool | None = None

    def handle(events: list[Event]) -> None:
        nonlocal reconnect
        for event in events:
            if isinstance(event, HandshakeReceived):
                seen.append(("hello", event.handshake.name))
                handle(core.accept(0.0) if accept else core.reject("go away", 0.0))
            elif isinstance(event, DataReceived):
                seen.append(("data", event.frame.tag, event.frame.payload))
            elif isinstance(event, ConnectionTerminated):
                reconnect = event.reconnect

    for chunk in chunks:
        handle(core.receive_data(chunk, 0.0))
    return seen, core.is_closed, reconnect


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


frames = st.lists(
    st.builds(DataFrame, tag=st.integers(0, 0xEFFF), payload=st.binary(max_size=64)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    frames=frames,
    tail=st.sampled_from([b"", b"\x00\x00", b"\xff\xff\xff", b"\xbf\x01\x05"]),
    cuts=st.lists(st.integers(0, 10_000), max_size=8),
    accept=st.booleans(),
)
def test_the_same_bytes_give_the_same_outcome_however_they_are_chunked(
    frames: list[DataFrame], tail: bytes, cuts: list[int], accept: bool
) -> None:
    stream = encode_frame(HELLO) + b"".join(encode_frame(f) for f in frames) + tail
    assert drive(split(stream, cuts), accept=accept) == drive([stream], accept=accept)


def test_data_pipelined_behind_the_handshake_is_delivered_after_the_accept() -> None:
    stream = encode_frame(HELLO) + encode_frame(DataFrame(tag=0x10, payload=b"early"))
    seen, closed, _ = drive([stream])
    assert seen == [("hello", "src"), ("data", 0x10, b"early")]
    assert not closed


def test_data_pipelined_behind_a_rejected_handshake_goes_nowhere() -> None:
    stream = encode_frame(HELLO) + encode_frame(DataFrame(tag=0x10, payload=b"early"))
    seen, closed, reconnect = drive([stream], accept=False)
    assert seen == [("hello", "src")]
    assert closed
    assert reconnect is False


def test_garbage_after_good_frames_closes_at_once_and_keeps_the_good_ones() -> None:
    good = encode_frame(DataFrame(tag=0x10, payload=b"kept"))
    seen, closed, reconnect = drive([encode_frame(HELLO) + good + b"\x00\x00"])
    assert seen == [("hello", "src"), ("data", 0x10, b"kept")]
    assert closed
    assert reconnect is True

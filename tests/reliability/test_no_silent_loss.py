"""No silent loss: every frame a source wrote is delivered, or counted as dropped with a
reason, by the source (in flight when its connection broke) or by the zipper (no
observer, in flight to a lost connection), however often connections break.

The in-memory transport acknowledges exactly what it handed to the peer, so the books
must balance to the frame; the same accounting over QUIC under SIGKILL is in
``test_faults.py``.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator

import pytest

from rxyomo.client import ReconnectPolicy, Sink, Source
from rxyomo.delivery.stats import BY_ZIPPER, CLOSED_UNCONFIRMED, LOST_UNCONFIRMED
from rxyomo.protocol.metadata import TID
from rxyomo.transport import Channel, StreamHandler, Transport
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.zipper import Zipper, parse_workflow
from rxyomo.zipper.server import LOST_IN_FLIGHT
from tests.rxyomo.transport._support import Accepted, Recorder, Tap, make_transport, within
from tests.waiting import eventually

FAST = ReconnectPolicy(initial_delay=0.005, max_delay=0.02)
TAG = 0x10
WORKFLOW = "name: books\nhost: memory\nport: 7\nfunctions:\n  - name: sink\n"


@pytest.fixture
async def zipper() -> AsyncIterator[Zipper]:
    # Tapped: a test can reach the zipper's end of a connection, as the network would.
    zipper = Zipper(parse_workflow(WORKFLOW), Tap(MemoryTransport(registry=MemoryRegistry())))
    await zipper.start()
    yield zipper
    await zipper.close()


def client_kwargs(zipper: Zipper, tap: Tap | None = None) -> dict[str, object]:
    """Where and how a client connects: through ``tap``, if given, to reach its channels."""
    return {"zipper": "memory:7", "transport": tap or zipper.transport, "reconnect": FAST}


def tap_of(zipper: Zipper) -> Tap:
    """A tap of its own for a client of ``zipper``, over the zipper's in-memory network."""
    assert isinstance(zipper.transport, Tap)
    return Tap(zipper.transport.inner)


def cut(tap: Tap) -> None:
    """Break the tapped client's connection as a network failure would (no goodbye
    either way)."""
    channel = tap.connected[-1]
    assert not channel.is_closing(), "the client was not connected"
    channel.abort()


def accepted_channel(zipper: Zipper, name: str) -> Channel:
    """The zipper's end of the connection of the client called ``name``."""
    assert isinstance(zipper.transport, Tap)
    [peer] = [c.peer for c in zipper.stats.connections.values() if c.name == name]
    return zipper.transport.accepted_from(peer)


until = functools.partial(eventually, timeout=10.0, poll=0.005)


async def break_connections_while_writing(
    source: tuple[Source, Tap], sink: tuple[Sink, Tap]
) -> int:
    """Write 630 numbered frames, cutting the source's or the sink's connection after
    every burst of 20; return how many were written, once the source has closed."""
    (writer, writer_tap), (reader, reader_tap) = source, sink
    await within(reader.connect())
    await within(writer.connect())
    written = 0
    for round_ in range(30):
        # A burst is in flight when the cut comes: handed to the transport, not
        # yet delivered.
        for _ in range(20):
            await writer.write(TAG, str(written).encode(), metadata={TID: str(written)})
            written += 1
        await asyncio.sleep(0)  # scenario: the link hands its coalesced burst on, then the cut
        cut(writer_tap if round_ % 3 else reader_tap)
        await within(writer.write(TAG, str(written).encode(), metadata={TID: str(written)}))
        written += 1
        await asyncio.sleep(0.01)  # scenario: traffic flows a moment between cuts
        # The next cut must find a connection to break.
        await until(lambda: writer.is_connected and reader.is_connected, "reconnecting")
    await within(writer.close())
    return written


async def test_every_frame_is_delivered_or_counted_while_connections_break(
    zipper: Zipper,
) -> None:
    # Without receipts: the source counts what the zipper's transport never had, the
    # zipper what it could not pass on, and the books balance.
    got: list[int] = []
    sink_tap, source_tap = tap_of(zipper), tap_of(zipper)
    sink = Sink(
        "sink",
        observe=[TAG],
        handler=lambda d: got.append(int(d)),
        **client_kwargs(zipper, sink_tap),
    )
    source = Source("source", receipts=False, **client_kwargs(zipper, source_tap))
    written = await break_connections_while_writing((source, source_tap), (sink, sink_tap))
    zipper_drops = zipper.stats.drops
    counted = source.delivery.dropped + source.delivery.unknown
    await until(lambda: len(got) + counted + sum(zipper_drops.values()) >= written)
    await within(sink.join())

    assert len(got) == len(set(got)), "a frame was delivered twice"
    assert got == sorted(got), "frames of one source arrived out of order"
    dropped_by_source = {int(str(key)) for key in source.delivery.dropped_keys}
    assert not dropped_by_source & set(got), "a frame counted as dropped was delivered"
    counted = source.delivery.dropped + source.delivery.unknown
    assert len(got) + counted + sum(zipper_drops.values()) == written
    # Every kind of loss happened, and each was counted under its own reason.
    assert source.delivery.unknowns[LOST_UNCONFIRMED] > 0
    assert zipper_drops[LOST_IN_FLIGHT] > 0
    assert zipper_drops[f"no observer for tag 0x{TAG:X}"] > 0
    assert source.delivery.written == written
    assert source.delivery.in_flight == 0
    await sink.close()


async def test_with_receipts_the_source_names_every_frame_not_delivered(zipper: Zipper) -> None:
    got: list[int] = []
    sink_tap, source_tap = tap_of(zipper), tap_of(zipper)
    sink = Sink(
        "sink",
        observe=[TAG],
        handler=lambda d: got.append(int(d)),
        **client_kwargs(zipper, sink_tap),
    )
    source = Source("source", receipts=True, **client_kwargs(zipper, source_tap))
    written = await break_connections_while_writing((source, source_tap), (sink, sink_tap))
    await within(sink.join())
    assert len(got) == len(set(got))
    assert got == sorted(got)
    delivery = source.delivery
    assert delivery.written == written
    assert delivery.in_flight == 0
    dropped = {int(str(key)) for key in delivery.dropped_keys}
    unknown = {int(str(key)) for key in delivery.unknown_keys}
    missing = set(range(written)) - set(got)
    assert not missing - dropped - unknown, f"missing without a count: {missing - dropped}"
    assert not dropped & set(got), "a frame counted as dropped was delivered"
    # What the zipper dropped (in flight to the cut sink, no observer while it was away)
    # came back by receipt, named.
    assert delivery.drops[f"{BY_ZIPPER}{LOST_IN_FLIGHT}"] > 0
    assert delivery.drops[f"{BY_ZIPPER}no observer for tag 0x{TAG:X}"] > 0
    await sink.close()


async def test_frames_a_closing_source_could_not_get_confirmed_are_counted_and_stay_lost(
    zipper: Zipper,
) -> None:
    got: list[bytes] = []
    sink = Sink("sink", observe=[TAG], handler=got.append, **client_kwargs(zipper))
    source = Source("source", **client_kwargs(zipper))
    await within(sink.connect())
    await within(source.connect())
    await within(source.write(TAG, b"before"))
    await until(lambda: got == [b"before"])
    # The zipper stops reading from the source: nothing more is confirmed.
    stalled = accepted_channel(zipper, "source")
    stalled.pause_reading()
    for number in range(5):
        await within(source.write(TAG, b"stuck %d" % number))
    await within(source.close(timeout=0.2))
    # Its fate unknown to the source (the zipper's transport had it), and never delivered.
    assert source.delivery.unknowns == {CLOSED_UNCONFIRMED: 5}
    assert source.delivery.drops == {}
    assert source.delivery.confirmed == 1
    assert source.delivery.in_flight == 0
    stalled.resume_reading()
    # Whatever the resumed channel still held is handed on before a new source's frame.
    marker = Source("marker", **client_kwargs(zipper))
    await within(marker.connect())
    await within(marker.write(TAG, b"marker"))
    await until(lambda: b"marker" in got, "the marker")
    assert got == [b"before", b"marker"], "frames counted as dropped were delivered after all"
    await marker.close()
    await sink.close()


class _Quiet(StreamHandler):
    def connection_made(self, channel: Channel) -> None:
        self.channel = channel

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        pass


@pytest.mark.parametrize("name", ["memory", "quic"])
async def test_acknowledged_bytes_count_what_the_peer_received_even_after_a_crash(
    name: str, config_dir: object
) -> None:
    transport: Transport = make_transport(name)
    accepted = Accepted()
    listener = await within(transport.serve("127.0.0.1", 0, accepted))
    try:
        client = _Quiet()
        channel = await within(transport.connect("127.0.0.1", listener.address[1], client))
        payload = os.urandom(300_000)
        channel.write(payload)
        server: Recorder = await accepted.first()
        await server.wait_bytes(len(payload))
        await until(lambda: channel.acknowledged_bytes() == len(payload))
        # The server end dies in the middle of a second burst.
        for _ in range(50):
            channel.write(os.urandom(10_000))
        await server.until(lambda: len(server.received) > len(payload))
        assert server.channel is not None
        server.channel.abort()
        await within(channel.wait_closed())
        acknowledged = channel.acknowledged_bytes()
        assert acknowledged is not None
        assert len(payload) <= acknowledged <= len(server.received)
    finally:
        listener.close()
        await within(listener.wait_closed())


async def test_frames_to_a_sink_that_closes_mid_stream_are_delivered_or_counted(
    zipper: Zipper,
) -> None:
    got: list[int] = []
    sink = Sink(
        "sink", observe=[TAG], handler=lambda d: got.append(int(d)), **client_kwargs(zipper)
    )
    source = Source("source", **client_kwargs(zipper))
    await within(sink.connect())
    await within(source.connect())
    written = 0

    async def stream() -> None:
        nonlocal written
        for _ in range(2000):
            await source.write(TAG, str(written).encode())
            written += 1
            if written % 10 == 0:
                await asyncio.sleep(0)  # scenario: let the zipper and the sink read as it streams

    streaming = asyncio.ensure_future(stream())
    await until(lambda: written > 500)
    await within(sink.close())  # a graceful close, while frames keep coming
    await within(streaming)
    await within(source.close())
    drops = zipper.stats.drops
    await until(lambda: len(got) + sum(drops.values()) + sink.discarded >= written)
    print(f"written {written}, delivered {len(got)}, discarded {sink.discarded}, {dict(drops)}")
    assert len(got) + sum(drops.values()) + sink.discarded == written, (
        f"{written - len(got) - sum(drops.values()) - sink.discarded} frames vanished"
    )

"""Limits against hostile clients: oversized frames, slow and incomplete handshakes, floods
of connections. The limits hold, the zipper stays responsive (a healthy pair keeps
flowing through it) and its memory stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import y3

from devtools.fuzzing import PROBE, RawClient
from devtools.processes import Child, ProcessGroup, free_udp_port
from rxyomo.client import Sink, Source
from rxyomo.client.stats import fetch_stats
from rxyomo.protocol.extensions import STATS
from rxyomo.protocol.frames import ClientType, DataFrame, HandshakeFrame, encode_frame
from rxyomo.transport import Channel
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper import Zipper, parse_workflow
from rxyomo.zipper.stats import MAX_DROP_REASONS, OTHER_REASONS
from tests.waiting import eventually

pytestmark = pytest.mark.network

MAX_FRAME = 65536
MAX_CONNECTIONS = 40
# A raw rxyomo client: it announces extensions, so the zipper tells it why it closes.
HELLO = encode_frame(
    HandshakeFrame(name="raw", client_type=ClientType.SOURCE, extensions=frozenset({STATS}))
)
WAIT = 30.0


@dataclass
class Live:
    """A zipper process with a healthy source and sink running through it."""

    zipper: Child
    port: int
    source: Source
    got: list[int]
    transport: QuicTransport

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def rss(self) -> int:
        assert self.zipper.proc is not None
        return int(psutil.Process(self.zipper.proc.pid).memory_info().rss)

    async def connect_raw(self) -> tuple[RawClient, Channel]:
        client = RawClient()
        channel = await asyncio.wait_for(
            self.transport.connect("127.0.0.1", self.port, client), WAIT
        )
        return client, channel

    async def still_flows(self, count: int = 20) -> None:
        """The healthy pair still gets frames through, promptly and complete."""
        start = len(self.got)
        base = self.got[-1] + 1 if self.got else 0
        for seq in range(base, base + count):
            await asyncio.wait_for(self.source.write(0x10, str(seq).encode()), WAIT)
        await eventually(lambda: len(self.got) >= start + count, "the healthy frames", timeout=WAIT)
        assert self.got == list(range(len(self.got)))
        assert len(self.got) == start + count


@pytest.fixture
async def live(
    request: pytest.FixtureRequest, tmp_path: Path, processes: ProcessGroup
) -> AsyncIterator[Live]:
    # Short by default, so cut-off handshakes are cut off quickly; a test that opens many
    # connections at once asks for more, since on a busy machine the zipper's first read of
    # a handshake can come later than a second after the connection is up.
    handshake_timeout = getattr(request, "param", 1.0)
    port = free_udp_port()
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(
        f"name: limits\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: sink\n"
        f"limits:\n  max_frame_size: {MAX_FRAME}\n  max_connections: {MAX_CONNECTIONS}\n"
        f"  handshake_timeout: {handshake_timeout}\n"
    )
    zipper = processes.zipper(workflow, tmp_path / "zipper.log")
    address, tls = f"127.0.0.1:{port}", dev_client_tls()
    got: list[int] = []
    sink = Sink(
        "sink", observe=[0x10], handler=lambda d: got.append(int(d)), zipper=address, tls=tls
    )
    source = Source("source", zipper=address, tls=tls)
    await asyncio.wait_for(sink.connect(), WAIT)
    await asyncio.wait_for(source.connect(), WAIT)
    yield Live(zipper, port, source, got, QuicTransport(TransportOptions(tls=tls)))
    await source.close(timeout=1.0)
    await sink.close(timeout=1.0)
    assert zipper.running, "the zipper died"
    assert "Traceback" not in zipper.output


async def close_all(channels: list[Channel]) -> None:
    for channel in channels:
        if not channel.is_closing():
            channel.abort()
    for channel in channels:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(channel.wait_closed(), WAIT)


async def test_an_oversized_frame_is_refused_at_its_header(live: Live) -> None:
    client, channel = await live.connect_raw()
    # A frame announcing 16 MB; only its header and a little of its body ever come.
    channel.write(HELLO + y3.encode_header(0xBF, 16 << 20) + os.urandom(1000))
    assert await client.until(lambda: client.lost.done(), WAIT)
    assert client.closing_frame is not None
    assert client.closing_frame.message.startswith("frame too large")
    # A frame of exactly the limit is fine.
    payload = b"x" * (MAX_FRAME - len(encode_frame(DataFrame(0x20, b""))) - 4)
    frame = encode_frame(DataFrame(0x20, payload))
    assert len(frame) <= MAX_FRAME
    client, channel = await live.connect_raw()
    channel.write(HELLO + frame + PROBE)
    assert await client.until(lambda: client.stats_answers == 1, WAIT)
    assert client.closing_frame is None
    await close_all([channel])
    await live.still_flows()


async def test_slow_and_incomplete_handshakes_are_cut_off(live: Live) -> None:
    silent, silent_channel = await live.connect_raw()
    half, half_channel = await live.connect_raw()
    half_channel.write(HELLO[: len(HELLO) // 2])
    trickle, trickle_channel = await live.connect_raw()

    async def slowloris() -> None:
        # One byte every 0.1 s: each keeps the connection busy, none completes in time.
        for byte in HELLO:
            if trickle_channel.is_closing():
                return
            trickle_channel.write(bytes([byte]))
            await asyncio.sleep(0.1)  # scenario: the slowloris's pace

    dripping = asyncio.ensure_future(slowloris())
    await live.still_flows()
    for client in (silent, half, trickle):
        assert await client.until(client.lost.done, WAIT)
    dripping.cancel()
    # Who they are was never said, and a YoMo client stops for good on a Goaway: the
    # transport's close is all they get.
    for client in (half, trickle):
        assert client.closing_frame is None
    await close_all([silent_channel, half_channel, trickle_channel])
    await live.still_flows()


def _answered_or_lost(client: RawClient) -> bool:
    return client.stats_answers >= 1 or client.lost.done()


@pytest.mark.parametrize("live", [10.0], indirect=True)
async def test_a_flood_of_connections_is_held_at_the_limit(live: Live) -> None:
    rss_before = live.rss
    flood = 150
    connected = await asyncio.gather(*(live.connect_raw() for _ in range(flood)))
    for _, channel in connected:
        channel.write(HELLO + PROBE)
    await asyncio.sleep(0)  # scenario: one loop turn, so that the handshakes leave as one flood
    outcomes = []
    for client, _ in connected:
        assert await client.until(functools.partial(_answered_or_lost, client), WAIT)
        outcomes.append("served" if client.stats_answers else "refused")
    # Two connections are the healthy pair's.
    assert outcomes.count("served") <= MAX_CONNECTIONS - 2
    refused = [client for client, _ in connected if not client.stats_answers]
    assert len(refused) >= flood - (MAX_CONNECTIONS - 2)
    assert all(
        c.closing_frame is not None and "too many connections" in c.closing_frame.message
        for c in refused
    )
    await live.still_flows()
    rss_flooded = live.rss
    await close_all([channel for _, channel in connected])
    stats = await fetch_stats(live.address, tls=dev_client_tls(), timeout=WAIT)
    assert {c["name"] for c in stats["connections"]} <= {"source", "sink", "rxyomo-stats"}
    await live.still_flows()
    print(
        f"zipper RSS: {rss_before >> 20} MB before, {rss_flooded >> 20} MB flooded by "
        f"{flood} connections, {live.rss >> 20} MB after"
    )
    # Generous, but far below what a leak of every connection's state would reach.
    assert rss_flooded - rss_before < 100 << 20


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


async def test_a_flood_of_bogus_quic_initials_leaves_the_zipper_serving(
    live: Live, udp: socket.socket
) -> None:
    rss_before = live.rss
    for number in range(3000):
        # A long header, QUIC v1, an 8-byte destination id, and garbage: padded to the
        # 1200 bytes an Initial must have, so each one makes the server try a handshake.
        dcid = number.to_bytes(8, "big")
        datagram = b"\xc3\x00\x00\x00\x01\x08" + dcid + b"\x00" + os.urandom(1200)
        udp.sendto(datagram, ("127.0.0.1", live.port))
        if number % 100 == 99:
            await asyncio.sleep(0.01)  # scenario: the flood in bursts of 100
    await live.still_flows()
    print(
        f"zipper RSS: {rss_before >> 20} MB before, {live.rss >> 20} MB after 3000 bogus Initials"
    )
    assert live.rss - rss_before < 100 << 20


async def test_drop_reasons_cannot_grow_without_bound() -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(parse_workflow("name: z\nhost: m\nport: 1\n"), transport)
    await zipper.start()
    source = Source("source", zipper="m:1", transport=transport)
    try:
        await source.connect()
        for tag in range(1000):  # a tag nobody observes, each time another
            await source.write(0x100 + tag, b"")
        await eventually(lambda: sum(zipper.stats.drops.values()) >= 1000, "the drops", timeout=5)
        assert sum(zipper.stats.drops.values()) == 1000
        assert len(zipper.stats.drops) == MAX_DROP_REASONS + 1
        assert zipper.stats.drops[OTHER_REASONS] == 1000 - MAX_DROP_REASONS
    finally:
        await source.close()
        await zipper.close()

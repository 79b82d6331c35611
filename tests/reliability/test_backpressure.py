"""A slow sink: back-pressure reaches the source, the zipper's buffers stay within their
watermarks, and nothing is dropped (sequence numbers checked end to end)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rxyomo.client import Sink, Source
from rxyomo.transport.base import FlowControl, TransportOptions
from rxyomo.transport.certs import dev_client_tls
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper import Zipper, parse_workflow
from tests.rxyomo.transport._support import Tap
from tests.waiting import eventually

pytestmark = pytest.mark.network

FRAMES = 1500
PAYLOAD = 1024
# Small buffers everywhere, so that back-pressure shows with little data.
FLOW = FlowControl(high_watermark=64 * 1024, low_watermark=16 * 1024)
WINDOW = 64 * 1024
PENDING = 16


async def test_a_slow_sink_slows_the_source_and_loses_nothing(config_dir: Path) -> None:
    transport = QuicTransport(
        TransportOptions(tls=dev_client_tls(), flow=FLOW), receive_window=WINDOW
    )
    # Tapped, to read how much the zipper's end of each connection holds.
    tap = Tap(transport)
    zipper = Zipper(
        parse_workflow("name: z\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: sink\n"),
        tap,
    )
    host, port = await zipper.start()
    handled: list[int] = []

    async def slow(data: bytes) -> None:
        await asyncio.sleep(0.001)  # scenario: the slow sink
        handled.append(int(data[:8]))

    common = {"zipper": f"{host}:{port}", "transport": transport}
    sink = Sink("sink", observe=[0x10], handler=slow, max_pending=PENDING, **common)
    source = Source("source", **common)
    try:
        await asyncio.wait_for(sink.connect(), 30)
        await asyncio.wait_for(source.connect(), 30)
        backlog: list[int] = []
        buffered: list[int] = []

        async def watch() -> None:
            while True:
                backlog.append(source.delivery.written - len(handled))
                buffered.append(max((c.get_write_buffer_size() for c in tap.accepted), default=0))
                await asyncio.sleep(0.005)  # scenario: a sample every 5 ms

        watcher = asyncio.ensure_future(watch())
        for seq in range(FRAMES):
            await asyncio.wait_for(source.write(0x10, b"%08d" % seq + bytes(PAYLOAD)), 60)
        await eventually(lambda: len(handled) >= FRAMES, "the slow sink's frames", timeout=60)
        watcher.cancel()

        assert handled == list(range(FRAMES)), "the slow sink lost or reordered frames"
        assert zipper.stats.drops == {}
        assert source.delivery.dropped == 0
        # Without back-pressure the source would be done long before the sink, with the
        # whole stream (1500 frames) queued somewhere. With it, what is written and not
        # yet handled is what the buffers on the way hold: both ends' windows and
        # watermarks, the sink's queue.
        bound = (2 * WINDOW + 3 * FLOW.high_watermark) // PAYLOAD + PENDING
        assert max(backlog) <= bound, f"backlog {max(backlog)} frames, bound {bound}"
        # The zipper queues at most one watermark (plus what one read batch added).
        assert max(buffered) <= FLOW.high_watermark + WINDOW
        print(
            f"slow sink: most frames written and not handled {max(backlog)} "
            f"(bound {bound}), most bytes queued in the zipper {max(buffered)}"
        )
    finally:
        await source.close()
        await sink.close()
        await zipper.close()

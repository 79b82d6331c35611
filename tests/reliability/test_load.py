"""Load: 100 concurrent clients (96 sources, 4 sinks) through one zipper process for a
bounded time. Nothing is lost, every source's frames arrive in order, and the latency
from write to delivery is reported (``--runslow``: 400 clients for longer)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict
from pathlib import Path

import pytest

from devtools.processes import ProcessGroup, free_udp_port
from rxyomo.client import Sink, Source
from rxyomo.client.stats import fetch_stats
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_client_tls
from rxyomo.transport.quic import QuicTransport
from tests.waiting import eventually

pytestmark = pytest.mark.network

SINKS = 4
WAIT = 60.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.parametrize(
    ("clients", "seconds"), [(100, 4.0), pytest.param(400, 30.0, marks=pytest.mark.slow)]
)
async def test_many_clients_lose_nothing(
    clients: int, seconds: float, tmp_path: Path, processes: ProcessGroup
) -> None:
    port = free_udp_port()
    workflow = tmp_path / "workflow.yaml"
    sinks_yaml = "".join(f"  - name: sink-{i}\n" for i in range(SINKS))
    workflow.write_text(
        f"name: load\nhost: 127.0.0.1\nport: {port}\nfunctions:\n{sinks_yaml}"
        f"limits:\n  max_connections: {clients + 16}\n"
    )
    processes.zipper(workflow, tmp_path / "zipper.log")
    address = f"127.0.0.1:{port}"
    transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
    got: dict[str, list[int]] = defaultdict(list)
    latencies: list[float] = []

    def collect(data: bytes) -> None:
        name, seq, sent = data.split(b"|")
        got[name.decode()].append(int(seq))
        latencies.append(time.monotonic() - float(sent))

    sinks = [
        Sink(f"sink-{i}", observe=[0x100 + i], handler=collect, zipper=address, transport=transport)
        for i in range(SINKS)
    ]
    sources = [
        Source(f"source-{i}", zipper=address, transport=transport) for i in range(clients - SINKS)
    ]
    try:
        for client in sinks:
            await asyncio.wait_for(client.connect(), WAIT)
        # Connect in small groups: a hundred handshakes at once is a flood of its own.
        for first in range(0, len(sources), 10):
            await asyncio.wait_for(
                asyncio.gather(*(s.connect() for s in sources[first : first + 10])), WAIT
            )
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds

        async def stream(index: int, source: Source) -> int:
            seq = 0
            while loop.time() < until:
                data = f"{source.name}|{seq}|{time.monotonic()!r}".encode()
                await source.write(0x100 + index % SINKS, data)
                seq += 1
                await asyncio.sleep(0.05)  # scenario: 20 frames per second per source
            return seq

        written = await asyncio.wait_for(
            asyncio.gather(*(stream(i, s) for i, s in enumerate(sources))), seconds + WAIT
        )
        total = sum(written)
        await eventually(lambda: sum(map(len, got.values())) >= total, "delivery", timeout=WAIT)
        assert dict(got) == {s.name: list(range(n)) for s, n in zip(sources, written, strict=True)}
        stats = await fetch_stats(address, tls=dev_client_tls(), timeout=WAIT)
        assert stats["drops"] == {}
        print(
            f"{clients} clients, {total} frames in {seconds:.0f} s: latency p50 "
            f"{statistics.median(latencies) * 1e3:.1f} ms, p99 "
            f"{percentile(latencies, 0.99) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms"
        )
    finally:
        await asyncio.gather(*(c.close(timeout=2.0) for c in (*sources, *sinks)))
    assert all(s.delivery.dropped == 0 for s in sources)

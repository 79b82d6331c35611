"""Prometheus metrics of a live zipper over QUIC, scraped over HTTP and checked against
what the test sent: frames and bytes by tag and kind, drops by reason, connections,
function call times, round trips, process memory; and `rxyomo serve --metrics`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devtools.processes import free_tcp_port, free_udp_port
from rxyomo import Context, Sink, Source, StreamFunction, Zipper, parse_workflow
from rxyomo.observe.web import ObserveServer
from rxyomo.transport.quic import QuicTransport
from tests.extras import needs
from tests.scraping import scrape, value
from tests.waiting import eventually

pytestmark = [needs("prometheus_client", "aiohttp"), pytest.mark.network]

FRAMES = 48
SIZE = 100
UNOBSERVED = 3


async def traffic(address: str, transport: QuicTransport, started: list[Any]) -> Source:
    """A function answering 0x10 with 0x11, a sink of 0x11, and a source that wrote
    FRAMES frames of SIZE bytes under 0x10 and UNOBSERVED under 0x99."""
    answered: list[bytes] = []

    def upper(ctx: Context) -> None:
        ctx.write(0x11, ctx.data.upper())

    function = StreamFunction(
        "upper", observe=[0x10], handler=upper, zipper=address, transport=transport
    )
    sink = Sink("log", observe=[0x11], handler=answered.append, zipper=address, transport=transport)
    source = Source("camera", zipper=address, transport=transport)
    for client in (function, sink, source):
        await client.connect()
        started.append(client)
    for seq in range(FRAMES):
        await source.write(0x10, seq.to_bytes(2, "big") * (SIZE // 2))
    for _ in range(UNOBSERVED):
        await source.write(0x99, b"nobody")
    await eventually(lambda: len(answered) == FRAMES, "every answer at the sink", timeout=20)
    return source


async def test_a_live_zipper_s_metrics_count_what_was_sent(
    quic: QuicTransport, started: list[Any]
) -> None:
    workflow = parse_workflow(
        "name: europe\nhost: 127.0.0.1\nport: 0\nmetrics: 127.0.0.1:0\n"
        "functions:\n  - name: upper\n  - name: log\n"
    )
    zipper = Zipper(workflow, quic)
    await zipper.start()
    started.append(zipper)
    (server,) = zipper.observe_servers
    await traffic(f"127.0.0.1:{zipper.address[1]}", quic, started)
    await eventually(lambda: zipper.stats.drops, "the drops counted")
    samples = await asyncio.to_thread(scrape, server.url + "metrics")

    def traffic_of(direction: str, kind: str, client: str, tag: str) -> tuple[float, float]:
        labels = {"kind": kind, "client": client, "tag": tag}
        return (
            value(samples, f"rxyomo_zipper_frames_{direction}_total", **labels),
            value(samples, f"rxyomo_zipper_bytes_{direction}_total", **labels),
        )

    assert traffic_of("received", "source", "camera", "0x10") == (FRAMES, FRAMES * SIZE)
    assert traffic_of("received", "source", "camera", "0x99") == (UNOBSERVED, UNOBSERVED * 6)
    assert traffic_of("received", "function", "upper", "0x11") == (FRAMES, FRAMES * SIZE)
    assert traffic_of("sent", "function", "upper", "0x10") == (FRAMES, FRAMES * SIZE)
    assert traffic_of("sent", "function", "log", "0x11") == (FRAMES, FRAMES * SIZE)
    drops = "rxyomo_zipper_drops_total"
    assert value(samples, drops, reason="no observer for tag 0x99") == UNOBSERVED
    assert value(samples, "rxyomo_zipper_connections", kind="source") == 1
    assert value(samples, "rxyomo_zipper_connections", kind="function") == 2
    assert value(samples, "rxyomo_zipper_connections_accepted_total") == 3
    assert value(samples, "rxyomo_zipper_connections_rejected_total") == 0
    # The functions run in this process: their call times are the zipper's metrics too.
    calls = "rxyomo_function_calls_seconds_count"
    assert value(samples, calls, function="upper", tag="0x10") == FRAMES
    assert value(samples, calls, function="log", tag="0x11") == FRAMES
    assert value(samples, "rxyomo_function_errors_total", function="upper", tag="0x10") == 0
    round_trips = value(
        samples, "rxyomo_zipper_function_round_trip_seconds_count", function="upper", tag="0x10"
    )
    assert 1 <= round_trips <= FRAMES
    assert value(samples, "process_resident_memory_bytes") > 10_000_000


async def test_a_process_without_a_zipper_serves_its_function_metrics_alone() -> None:
    server = ObserveServer(None, metrics=True, dashboard=False)
    await server.start("127.0.0.1", 0)
    try:
        samples = await asyncio.to_thread(scrape, server.url + "metrics")
    finally:
        await server.close()
    assert value(samples, "process_resident_memory_bytes") > 0
    assert not any(name.startswith("rxyomo_zipper_") for name, _ in samples)


def test_rxyomo_serve_metrics_serves_them_from_another_process(
    tmp_path: Path, quic: QuicTransport
) -> None:
    port, metrics_port = free_udp_port(), free_tcp_port()
    config = tmp_path / "workflow.yaml"
    config.write_text(
        f"name: cli\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: upper\n  - name: log\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    zipper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxyomo",
            "serve",
            "-c",
            str(config),
            "--stats-interval",
            "0",
            "--metrics",
            f"127.0.0.1:{metrics_port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:

        async def run() -> dict[Any, float]:
            await eventually(lambda: _answers(url), "the metrics server", timeout=30, poll=0.1)
            started: list[Any] = []
            try:
                await traffic(f"127.0.0.1:{port}", quic, started)

                async def counted() -> bool:
                    # The zipper counts the last drops after the source's write returns.
                    got = await asyncio.to_thread(scrape, url)
                    key = ("rxyomo_zipper_drops_total", (("reason", "no observer for tag 0x99"),))
                    return got.get(key) == UNOBSERVED

                await eventually(counted, "the unobserved frames counted", timeout=30, poll=0.05)
            finally:
                for client in reversed(started):
                    await client.close()
            return await asyncio.to_thread(scrape, url)

        samples = asyncio.run(run())
    finally:
        zipper.terminate()
        _, stderr = zipper.communicate(timeout=20)
    labels = {"kind": "source", "client": "camera", "tag": "0x10"}
    assert value(samples, "rxyomo_zipper_frames_received_total", **labels) == FRAMES
    drops = "rxyomo_zipper_drops_total"
    assert value(samples, drops, reason="no observer for tag 0x99") == UNOBSERVED
    assert zipper.returncode == 0, stderr


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def test_back_pressure_time_is_counted_per_sender_until_it_resumes() -> None:
    from types import SimpleNamespace

    from rxyomo.observe.zipper import ZipperObserver

    zipper: Any = SimpleNamespace(workflow=SimpleNamespace(name="z"), peers={})
    observer = ZipperObserver(zipper)
    camera: Any = SimpleNamespace(conn_id=1, stats=SimpleNamespace(name="camera"))
    zipper.peers[1] = camera
    observer.paused(camera)
    observer.paused(camera)  # already paused: the pause goes on
    time_paused = observer.backpressure_now()["camera"]
    assert time_paused[1] == 1
    assert time_paused[0] >= 0
    observer.resumed(camera)
    observer.resumed(camera)  # not paused: nothing more
    (spent, pauses) = observer.backpressure["camera"]
    assert pauses == 1
    assert spent >= time_paused[0]
    observer.paused(camera)
    observer.gone(camera)  # a sender lost while paused: its pause ends there
    assert observer.backpressure["camera"][1] == 2

"""Bad input at a live zipper: 100,000 fuzzed frames and handshakes per run over QUIC
(a million with ``--runslow``), while a healthy source and sink run through it.

The zipper runs as users run it (``python -m rxyomo serve``). It must not crash or log an
internal error, must end every misbehaving connection as the oracle predicts and with a
reason (see :mod:`devtools.fuzzing`), and the healthy pair must lose nothing.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
import pytest

from devtools.fuzzing import (
    PROBE,
    Corpus,
    Oracle,
    Planner,
    RawClient,
    run_campaign,
)
from devtools.processes import ProcessGroup, free_udp_port
from rxyomo.client import Sink, Source
from rxyomo.client.stats import fetch_stats
from rxyomo.delivery.stats import BY_ZIPPER
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_client_tls
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper import load_workflow
from tests.waiting import eventually

pytestmark = pytest.mark.network

TOKEN = "s3cret"
HEALTHY_TAG = 0x10
HEALTHY = b"healthy:"
WORKFLOW = """\
name: fuzz
host: 127.0.0.1
port: {port}
functions:
  - name: collector
  - name: fuzz-fn
auth:
  type: token
  token: {token}
limits:
  max_frame_size: 65536
  handshake_timeout: 3
"""


def fuzz_workflow(tmp_path: Path) -> tuple[Path, int]:
    port = free_udp_port()
    path = tmp_path / "workflow.yaml"
    path.write_text(WORKFLOW.format(port=port, token=TOKEN))
    return path, port


@pytest.mark.parametrize("cases", [100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
async def test_a_live_zipper_survives_fuzzed_frames_and_handshakes(
    cases: int, tmp_path: Path, processes: ProcessGroup
) -> None:
    path, port = fuzz_workflow(tmp_path)
    workflow = load_workflow(path)
    zipper = processes.zipper(path, tmp_path / "zipper.log")
    assert zipper.proc is not None
    memory = psutil.Process(zipper.proc.pid)
    address, tls = f"127.0.0.1:{port}", dev_client_tls()
    credential = f"token:{TOKEN}"

    got: list[int] = []

    def collect(data: bytes) -> None:
        # Fuzz frames may carry the healthy tag too; only the healthy ones are counted.
        if data.startswith(HEALTHY):
            got.append(int(data[len(HEALTHY) :]))

    sink = Sink(
        "collector",
        observe=[HEALTHY_TAG],
        handler=collect,
        zipper=address,
        tls=tls,
        credential=credential,
    )
    source = Source("healthy", zipper=address, tls=tls, credential=credential)
    await asyncio.wait_for(sink.connect(), 30)
    await asyncio.wait_for(source.connect(), 30)
    stop = asyncio.Event()
    written = 0

    async def healthy_traffic() -> None:
        nonlocal written
        while not stop.is_set():
            await source.write(HEALTHY_TAG, HEALTHY + str(written).encode())
            written += 1
            await asyncio.sleep(0.005)  # scenario: a steady source beside the fuzzing

    traffic = asyncio.ensure_future(healthy_traffic())
    rss_before = memory.memory_info().rss
    transport = QuicTransport(TransportOptions(tls=tls))
    report = await run_campaign(
        transport,
        ("127.0.0.1", port),
        workflow,
        cases=cases,
        seed=20241124,
        concurrency=16,
        cases_per_connection=200,
    )
    rss_after = memory.memory_info().rss
    stop.set()
    await asyncio.wait_for(traffic, 30)
    summary = report.as_dict()
    summary["zipper_rss_mb"] = [round(rss_before / 2**20, 1), round(rss_after / 2**20, 1)]
    print("fuzz report:", json.dumps(summary))

    assert report.cases_sent >= cases
    assert report.mismatches == []
    assert zipper.running, f"the zipper died:\n{zipper.output[-3000:]}"
    assert "Traceback" not in zipper.output
    assert " ERROR " not in zipper.output
    stats = await fetch_stats(address, tls=tls, credential=credential, timeout=30)
    assert stats["accepted"] >= 2
    # The healthy pair lost nothing while all of that went on.
    await eventually(lambda: len(got) >= written, "the healthy frames", timeout=30)
    assert got == list(range(written))
    await source.close()
    # Its frames also went to fuzzed functions that observe its tag: copies lost with
    # those connections came back by receipt, counted under the zipper's reason.
    delivery = source.delivery
    assert delivery.in_flight == 0
    assert delivery.confirmed + delivery.dropped == written
    assert all(reason.startswith(BY_ZIPPER) for reason in delivery.drops), delivery.drops
    await sink.close()


async def test_the_oracle_knows_a_pipelined_stream_from_a_broken_one(tmp_path: Path) -> None:
    workflow = load_workflow(fuzz_workflow(tmp_path)[0])
    corpus = Corpus.draw(workflow, seed=1, size=20)
    oracle = Oracle(workflow)
    assert oracle.predict([corpus.good_source, *corpus.data], PROBE).outcome == "answered"
    assert oracle.predict([corpus.good_source, b"\x00\x00"], PROBE).outcome == "closed"
    planner = Planner(corpus, oracle, seed=1, cases=10)
    assert {planner.plan().prediction.outcome for _ in range(200)} >= {"answered", "closed"}


async def test_pipelined_data_reaches_the_zipper_over_quic(
    tmp_path: Path, processes: ProcessGroup
) -> None:
    # A client that sends its first frames right behind its handshake, in one write.
    path, port = fuzz_workflow(tmp_path)
    workflow = load_workflow(path)
    processes.zipper(path, tmp_path / "zipper.log")
    corpus = Corpus.draw(workflow, seed=2, size=20)
    transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
    client = RawClient()
    channel = await asyncio.wait_for(transport.connect("127.0.0.1", port, client), 30)
    channel.write(corpus.good_source + b"".join(corpus.data[:10]) + PROBE)
    assert await client.until(lambda: client.stats_answers >= 1, 30)
    assert client.closing_frame is None
    channel.abort()
    await asyncio.wait_for(channel.wait_closed(), 30)

"""Reliability figures, each next to a baseline measured in the same run.

The zipper is a process of its own (``python -m rxyomo serve``), as deployed; clients,
relays and the fuzzer run in this process.

- fuzz: cases sent per run at the zipper over QUIC by ``devtools/fuzzing.py``,
  how many it handled, mismatches against the oracle (must be 0), the zipper's RSS;
- impaired network: frames/s from one source to one sink, each behind a user-space relay
  with 50 ms one-way delay and 5 % loss, against the same relays unimpaired;
- load: write-to-delivery latency (p50, p99) with 100 concurrent clients (96 sources,
  4 sinks) against one source and one sink at the same per-source rate;
- slow sink: the zipper's peak RSS while a sink takes 2 ms per frame and a source offers
  40 MB, against a sink that keeps up;
- churn: the zipper's RSS after each round of clients that connect, write and close,
  against its RSS with one sink connected (growth that levels off is bounded; a leak
  grows with every round);
- crash: seconds from the restart of a SIGKILLed zipper until its clients are back.

Writes benches/results/reliability.json and reliability.png.

    python -m benches.bench_reliability [--quick] [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "benches.bench_reliability"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import psutil

    from benches._bench import RESULTS, pyplot, save_figure, write_report
    from devtools.fuzzing import run_campaign
    from devtools.processes import Child, ProcessGroup, free_udp_port
    from devtools.udp_relay import Impairment, UdpRelay
    from rxyomo.client import ReconnectPolicy, Sink, Source
    from rxyomo.protocol.connection import ConnectionConfig
    from rxyomo.transport.base import TransportOptions
    from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
    from rxyomo.transport.quic import QuicTransport
    from rxyomo.zipper import parse_workflow

WAIT = 120.0


class Bench:
    """Zipper processes in a scratch directory, and the clients' transport."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        os.environ[CONFIG_DIR_ENV] = str(scratch / "config")
        dev_certificates()
        self.group = ProcessGroup({**os.environ, "PYTHONUNBUFFERED": "1"})
        self.tls = dev_client_tls()
        self.transport = QuicTransport(TransportOptions(tls=self.tls))
        self._count = 0

    def zipper(self, body: str) -> tuple[Child, int]:
        self._count += 1
        port = free_udp_port()
        path = self.scratch / f"workflow-{self._count}.yaml"
        path.write_text(f"name: bench\nhost: 127.0.0.1\nport: {port}\n{body}")
        return self.group.zipper(path, self.scratch / f"zipper-{self._count}.log"), port


async def until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.005)


def rss(child: Child) -> int:
    assert child.proc is not None
    return int(psutil.Process(child.proc.pid).memory_info().rss)


async def fuzz(bench: Bench, cases: int, seed: int) -> dict[str, Any]:
    body = (
        "functions:\n  - name: collector\n  - name: fuzz-fn\n"
        "auth:\n  type: token\n  token: s3cret\nlimits:\n  max_frame_size: 65536\n"
    )
    zipper, port = bench.zipper(body)
    workflow = parse_workflow(f"name: bench\nhost: 127.0.0.1\nport: {port}\n{body}")
    before = rss(zipper)
    report = await run_campaign(
        bench.transport,
        ("127.0.0.1", port),
        workflow,
        cases=cases,
        seed=seed,
        concurrency=16,
        cases_per_connection=200,
    )
    result = report.as_dict()
    result.update(
        seed=seed,
        zipper_alive=zipper.running,
        zipper_rss_mb=[round(before / 2**20, 1), round(rss(zipper) / 2**20, 1)],
        internal_errors=zipper.output.count("Traceback"),
    )
    zipper.kill()
    return result


async def stream_through(bench: Bench, rules: Impairment, frames: int) -> dict[str, Any]:
    """One source to one sink, each behind a relay with ``rules``."""
    zipper, port = bench.zipper("functions:\n  - name: sink\n")
    relays = [await UdpRelay.start(("127.0.0.1", port), rules, seed=n) for n in (1, 2)]
    got: list[int] = []
    retry = ReconnectPolicy(initial_delay=0.1, max_delay=0.5)
    sink = Sink(
        "sink",
        observe=[0x10],
        handler=lambda d: got.append(int(d[:8])),
        zipper=relays[0].endpoint,
        transport=bench.transport,
        reconnect=retry,
    )
    source = Source("source", zipper=relays[1].endpoint, transport=bench.transport, reconnect=retry)
    try:
        await asyncio.wait_for(sink.connect(), WAIT)
        await asyncio.wait_for(source.connect(), WAIT)
        started = time.monotonic()
        for seq in range(frames):
            await source.write(0x10, b"%08d" % seq + bytes(1016))
        await until(lambda: len(got) >= frames)
        seconds = time.monotonic() - started
        in_order = got == list(range(frames))
    finally:
        await source.close(timeout=2.0)
        await sink.close(timeout=2.0)
        for relay in relays:
            relay.close()
        zipper.kill()
    return {
        "frames": frames,
        "frame_bytes": 1024,
        "seconds": round(seconds, 3),
        "frames_per_second": round(frames / seconds),
        "kib_per_second": round(frames / seconds),
        "all_in_order": in_order,
        "datagrams_dropped": sum(r.stats.dropped for r in relays),
    }


async def latency(bench: Bench, sources: int, sinks: int, seconds: float) -> dict[str, Any]:
    body = "functions:\n" + "".join(f"  - name: sink-{i}\n" for i in range(sinks))
    zipper, port = bench.zipper(body + f"limits:\n  max_connections: {sources + sinks + 16}\n")
    address = f"127.0.0.1:{port}"
    delays: list[float] = []
    counts: dict[str, int] = {}

    def collect(data: bytes) -> None:
        name, sent = data.split(b"|")
        counts[name.decode()] = counts.get(name.decode(), 0) + 1
        delays.append(time.monotonic() - float(sent))

    sink_clients = [
        Sink(
            f"sink-{i}",
            observe=[0x100 + i],
            handler=collect,
            zipper=address,
            transport=bench.transport,
        )
        for i in range(sinks)
    ]
    source_clients = [
        Source(f"s{i}", zipper=address, transport=bench.transport) for i in range(sources)
    ]
    try:
        for client in sink_clients:
            await asyncio.wait_for(client.connect(), WAIT)
        for first in range(0, sources, 10):
            group = source_clients[first : first + 10]
            await asyncio.wait_for(asyncio.gather(*(s.connect() for s in group)), WAIT)
        stop = time.monotonic() + seconds

        async def stream(index: int, source: Source) -> int:
            written = 0
            while time.monotonic() < stop:
                await source.write(
                    0x100 + index % sinks, f"{source.name}|{time.monotonic()!r}".encode()
                )
                written += 1
                await asyncio.sleep(0.05)
            return written

        written = await asyncio.gather(*(stream(i, s) for i, s in enumerate(source_clients)))
        await until(lambda: len(delays) >= sum(written))
    finally:
        await asyncio.gather(*(c.close(timeout=2.0) for c in (*source_clients, *sink_clients)))
        zipper.kill()
    ordered = sorted(delays)
    return {
        "clients": sources + sinks,
        "frames": len(delays),
        "lost": sum(written) - len(delays),
        "p50_ms": round(statistics.median(ordered) * 1e3, 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
        "cdf_ms": [round(d * 1e3, 3) for d in ordered],
    }


async def sink_memory(bench: Bench, handle_seconds: float, megabytes: int) -> dict[str, Any]:
    zipper, port = bench.zipper("functions:\n  - name: sink\n")
    address = f"127.0.0.1:{port}"
    handled = 0

    async def handler(data: bytes) -> None:
        nonlocal handled
        if handle_seconds:
            await asyncio.sleep(handle_seconds)
        handled += 1

    sink = Sink("sink", observe=[0x10], handler=handler, zipper=address, transport=bench.transport)
    source = Source("source", zipper=address, transport=bench.transport)
    samples: list[tuple[float, int]] = []
    frames = megabytes * 1024 * 1024 // (40 * 1024)
    try:
        await asyncio.wait_for(sink.connect(), WAIT)
        await asyncio.wait_for(source.connect(), WAIT)
        started = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append((time.monotonic() - started, rss(zipper)))
                await asyncio.sleep(0.02)

        sampler = asyncio.ensure_future(sample())
        payload = bytes(40 * 1024)
        for _ in range(frames):
            await source.write(0x10, payload)
        await until(lambda: handled >= frames)
        sampler.cancel()
        seconds = time.monotonic() - started
    finally:
        await source.close(timeout=2.0)
        await sink.close(timeout=2.0)
        zipper.kill()
    return {
        "offered_mb": megabytes,
        "frames": frames,
        "handled": handled,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(max(r for _, r in samples) / 2**20, 1),
        "rss_mb": [(round(t, 2), round(r / 2**20, 1)) for t, r in samples],
    }


async def churn(bench: Bench, rounds: int, clients: int) -> dict[str, Any]:
    zipper, port = bench.zipper("functions:\n  - name: sink\n")
    address = f"127.0.0.1:{port}"
    got = 0

    def count(_data: bytes) -> None:
        nonlocal got
        got += 1

    sink = Sink("sink", observe=[0x10], handler=count, zipper=address, transport=bench.transport)
    after: list[float] = []
    try:
        await asyncio.wait_for(sink.connect(), WAIT)
        baseline = rss(zipper)
        for round_ in range(rounds):
            sources = [
                Source(
                    f"churn-{round_}-{i}", zipper=address, transport=bench.transport, receipts=True
                )
                for i in range(clients)
            ]
            await asyncio.wait_for(asyncio.gather(*(s.connect() for s in sources)), WAIT)
            for source in sources:
                for _ in range(5):
                    await source.write(0x10, bytes(1000))
            await asyncio.gather(*(s.close(timeout=5.0) for s in sources))
            await asyncio.sleep(1.0)  # closes complete (draining takes a few RTTs)
            after.append(round(rss(zipper) / 2**20, 1))
        await until(lambda: got >= rounds * clients * 5)
    finally:
        await sink.close(timeout=1.0)
        zipper.kill()
    half = len(after) // 2
    return {
        "rounds": rounds,
        "clients_per_round": clients,
        "delivered": got,
        "baseline_rss_mb": round(baseline / 2**20, 1),
        "rss_after_each_round_mb": after,
        # Bounded: the second half of the rounds adds little next to the first.
        "growth_first_half_mb": round(after[half - 1] - after[0], 1),
        "growth_second_half_mb": round(after[-1] - after[half - 1], 1),
    }


async def crash(bench: Bench, repeats: int) -> dict[str, Any]:
    zipper, port = bench.zipper("functions:\n  - name: sink\n")
    address = f"127.0.0.1:{port}"
    config = ConnectionConfig(heartbeat_interval=0.2, idle_timeout=6.0)
    retry = ReconnectPolicy(initial_delay=0.05, max_delay=0.25)
    sink = Sink(
        "sink",
        observe=[0x10],
        handler=lambda _d: None,
        zipper=address,
        transport=bench.transport,
        reconnect=retry,
        connection_config=config,
    )
    source = Source(
        "source",
        zipper=address,
        transport=bench.transport,
        reconnect=retry,
        connection_config=config,
    )
    back: list[float] = []
    try:
        await asyncio.wait_for(sink.connect(), WAIT)
        await asyncio.wait_for(source.connect(), WAIT)
        for attempt in range(repeats):
            zipper.kill()
            await until(lambda: not source.is_connected and not sink.is_connected)
            await asyncio.sleep(0.5)
            zipper.start()
            restarted = time.monotonic()
            await asyncio.to_thread(zipper.wait_for_output, "listening on", attempt + 2)
            await until(lambda: source.is_connected and sink.is_connected)
            back.append(time.monotonic() - restarted)
    finally:
        await source.close(timeout=1.0)
        await sink.close(timeout=1.0)
        zipper.kill()
    return {
        "repeats": repeats,
        "reconnect_seconds": [round(s, 3) for s in back],
        "median_seconds": round(statistics.median(back), 3),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("baseline", "1 source, 1 sink"), ("load", "96 sources, 4 sinks")):
        cdf = results["latency"][key].pop("cdf_ms")
        left.plot(cdf, [i / len(cdf) for i in range(len(cdf))], label=label)
    left.set(
        xscale="log",
        xlabel="write to delivery (ms)",
        ylabel="fraction of frames",
        title="latency through one zipper",
    )
    left.legend()
    for key, label in (("baseline", "sink keeps up"), ("slow", "sink takes 2 ms a frame")):
        samples = results["slow_sink"][key].pop("rss_mb")
        right.plot([t for t, _ in samples], [r for _, r in samples], label=label)
    right.set(xlabel="seconds", ylabel="zipper RSS (MB)", title="zipper memory, 40 MB offered")
    right.legend()
    save_figure(figure, path)


async def run(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    quick = args.quick
    results: dict[str, Any] = {}
    print("fuzzing ...", flush=True)
    results["fuzz"] = await fuzz(bench, args.cases, args.seed)
    print("impaired network ...", flush=True)
    frames = 300 if quick else 2000
    clean = await stream_through(bench, Impairment(), frames)
    lossy = await stream_through(bench, Impairment(delay=0.05, loss=0.05), frames)
    results["impaired"] = {
        "baseline": clean,
        "delay_50ms_loss_5pct": lossy,
        "ratio": round(lossy["frames_per_second"] / clean["frames_per_second"], 3),
    }
    print("latency under load ...", flush=True)
    seconds = 3.0 if quick else 10.0
    base = await latency(bench, 1, 1, seconds)
    load = await latency(bench, 96, 4, seconds)
    results["latency"] = {
        "baseline": base,
        "load": load,
        "p99_ratio": round(load["p99_ms"] / base["p99_ms"], 2),
    }
    print("slow sink ...", flush=True)
    megabytes = 10 if quick else 40
    fast = await sink_memory(bench, 0.0, megabytes)
    slow = await sink_memory(bench, 0.002, megabytes)
    results["slow_sink"] = {
        "baseline": fast,
        "slow": slow,
        "peak_rss_ratio": round(slow["peak_rss_mb"] / fast["peak_rss_mb"], 2),
    }
    print("connection churn ...", flush=True)
    results["churn"] = await churn(bench, 6 if quick else 20, 50)
    print("crash and restart ...", flush=True)
    results["crash"] = await crash(bench, 2 if quick else 5)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--cases", type=int, default=100_000, help="fuzz cases to send")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="fuzz seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rxyomo-bench-") as scratch:
        bench = Bench(Path(scratch))
        try:
            results = asyncio.run(run(args, bench))
        finally:
            bench.group.kill_all()
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(results, RESULTS / "reliability.png")
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "command": " ".join(["python -m benches.bench_reliability", *sys.argv[1:]]),
    }
    write_report("reliability.json", results)
    fuzzed, impaired = results["fuzz"], results["impaired"]
    print(
        json.dumps(
            {
                "fuzz_cases_sent": fuzzed["cases_sent"],
                "fuzz_cases_handled": fuzzed["cases_handled"],
                "fuzz_mismatches": len(fuzzed["mismatches"]),
                "fuzz_seconds": fuzzed["seconds"],
                "impaired_frames_per_second": impaired["delay_50ms_loss_5pct"]["frames_per_second"],
                "impaired_ratio_to_clean": impaired["ratio"],
                "p99_ms_100_clients": results["latency"]["load"]["p99_ms"],
                "p99_ms_baseline": results["latency"]["baseline"]["p99_ms"],
                "slow_sink_peak_rss_mb": results["slow_sink"]["slow"]["peak_rss_mb"],
                "fast_sink_peak_rss_mb": results["slow_sink"]["baseline"]["peak_rss_mb"],
                "reconnect_median_s": results["crash"]["median_seconds"],
                "churn_rss_mb": [
                    results["churn"]["baseline_rss_mb"],
                    *results["churn"]["rss_after_each_round_mb"][::5],
                ],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

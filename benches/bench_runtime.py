"""The runtime over QUIC on loopback, against point-to-point aioquic baselines.

Three processes: a zipper, a stream function, and this one (source and sink).

- throughput: the source writes ``messages`` frames under tag 0x10 back to back,
  then a marker; the function counts them and answers the marker under 0x11;
  the clock stops when the sink gets the answer (so every frame went
  source -> zipper -> function);
- round trip: one frame at a time under 0x20, echoed by the function under
  0x21 to the sink: source -> zipper -> function -> zipper -> sink;
- memory: a function that takes ~2 ms per frame while the source writes 40 KiB
  frames as fast as back-pressure lets it; the zipper's peak RSS is reported
  next to how much the source offered.

The baselines (benches/quic_baselines.py) are one hop, measured in the same
run; the ratios are what to read. Writes benches/results/runtime.json and a PNG.

    python -m benches.bench_runtime [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing.connection
import os
import platform
import statistics
import time
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "benches.bench_runtime"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import psutil

    from benches._bench import RESULTS, pyplot, save_figure, write_report
    from benches.quic_baselines import (
        AIOQUIC_MAX_DATAGRAM,
        Result,
        bench_tls,
        percentile,
        run_baseline,
        run_server_process,
        spawn_server,
        stop_server,
    )
    from rxyomo import Sink, Source, StreamFunction, Zipper, parse_workflow
    from rxyomo.client import ReconnectPolicy
    from rxyomo.transport.base import TransportOptions
    from rxyomo.transport.quic import QuicTransport

END = b"END"


def _transport(settings: dict[str, Any], *, server: bool) -> QuicTransport:
    return QuicTransport(
        TransportOptions(tls=bench_tls(server=server)),
        max_datagram_size=settings["max_datagram_size"],
    )


async def _zipper_main(settings: dict[str, Any], report_port: Any) -> Any:
    workflow = parse_workflow(
        "name: bench\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: fn\n  - name: sink\n"
    )
    zipper = Zipper(workflow, _transport(settings, server=True))
    await zipper.start()
    report_port(zipper.address[1])
    return lambda: {"drops": dict(zipper.stats.drops)}


def zipper_process(settings: dict[str, Any], pipe: multiprocessing.connection.Connection) -> None:
    run_server_process(_zipper_main, settings, pipe)


async def _function_main(settings: dict[str, Any], report_port: Any) -> Any:
    delay = settings.get("delay", 0.0)
    counted = {"frames": 0}

    async def handler(data: bytes) -> tuple[int, bytes] | None:
        if data[:1] == b"R":  # a round-trip probe
            return 0x21, data
        if data == END:
            return 0x11, str(counted["frames"]).encode()
        counted["frames"] += 1
        if delay:
            await asyncio.sleep(delay)
        return None

    fn = StreamFunction(
        "fn",
        observe=[0x10, 0x20],
        handler=handler,
        zipper=f"127.0.0.1:{settings['zipper_port']}",
        transport=_transport(settings, server=False),
        reconnect=ReconnectPolicy(initial_delay=0.05),
    )
    await fn.connect()
    report_port(0)
    return lambda: {"frames": counted["frames"]}


def function_process(settings: dict[str, Any], pipe: multiprocessing.connection.Connection) -> None:
    run_server_process(_function_main, settings, pipe)


async def _drive(
    settings: dict[str, Any],
    payload_size: int,
    messages: int,
    rounds: int,
    rss_pid: int | None = None,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()
    address = f"127.0.0.1:{settings['zipper_port']}"
    transport = _transport(settings, server=False)
    sink = Sink(
        "sink",
        observe=[0x11, 0x21],
        handler=answers.put_nowait,
        zipper=address,
        transport=transport,
    )
    source = Source("source", zipper=address, transport=transport)
    await sink.connect()
    await source.connect()
    payload = os.urandom(payload_size)
    rss: list[tuple[float, float]] = []
    sampler = loop.create_task(_sample_rss(rss_pid, rss)) if rss_pid else None
    started = time.perf_counter()
    for _ in range(messages):
        await source.write(0x10, payload)
    offered_seconds = time.perf_counter() - started
    await source.write(0x10, END)
    counted = int(await asyncio.wait_for(answers.get(), 300))
    seconds = time.perf_counter() - started
    if sampler:
        sampler.cancel()
    rtts = []
    probe = b"R" + payload[1:]
    for _ in range(rounds):
        sent = time.perf_counter()
        await source.write(0x20, probe)
        await asyncio.wait_for(answers.get(), 30)
        rtts.append(time.perf_counter() - sent)
    await source.close()
    await sink.close()
    return {
        "seconds": seconds,
        "offered_seconds": offered_seconds,
        "counted": counted,
        "rtts": rtts,
        "rss": rss,
    }


async def _sample_rss(pid: int, into: list[tuple[float, float]]) -> None:
    process = psutil.Process(pid)
    start = time.perf_counter()
    while True:
        into.append((time.perf_counter() - start, process.memory_info().rss / 2**20))
        await asyncio.sleep(0.05)


def run_rxyomo(
    name: str,
    payload_size: int,
    messages: int,
    rounds: int,
    *,
    max_datagram_size: int | None = None,
    delay: float = 0.0,
) -> tuple[Result, dict[str, Any]]:
    settings: dict[str, Any] = {"max_datagram_size": max_datagram_size}
    zproc, zpipe, port = spawn_server(zipper_process, settings)
    settings["zipper_port"] = port
    fproc, fpipe, _ = spawn_server(function_process, {**settings, "delay": delay})
    try:
        run = asyncio.run(
            _drive(settings, payload_size, messages, rounds, rss_pid=zproc.pid if delay else None)
        )
    finally:
        freport = stop_server(fproc, fpipe)
        zreport = stop_server(zproc, zpipe)
    if run["counted"] != messages:
        raise RuntimeError(f"{name}: the function counted {run['counted']} of {messages} frames")
    rtts = run["rtts"]
    result = Result(
        name=name,
        payload_size=payload_size,
        messages=messages,
        seconds=run["seconds"],
        messages_per_s=messages / run["seconds"],
        mb_per_s=messages * payload_size / run["seconds"] / 1e6,
        rtt_rounds=rounds,
        rtt_p50_ms=statistics.median(rtts) * 1e3 if rtts else float("nan"),
        rtt_p99_ms=percentile(rtts, 0.99) * 1e3 if rtts else float("nan"),
        server_peak_rss_mb=float(zreport.get("peak_rss_mb", float("nan"))),
    )
    extra = {
        "zipper": zreport,
        "function": freport,
        "rss": run["rss"],
        "offered_seconds": run["offered_seconds"],
    }
    return result, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, for a quick look")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    rounds = 100 if args.quick else 300
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    for payload in (1024, 40 * 1024):
        count = int((4000 if payload == 1024 else 400) * scale)
        # Baselines as most code runs them (1200-byte packets), and the tuned one with
        # the largest packets stock aioquic can frame (16 KiB; rxyomo's own framing goes
        # to 64 KiB on loopback), for a like-for-like look.
        usual = run_baseline("aioquic-usual", payload, count, rounds)
        tuned = run_baseline("aioquic-tuned", payload, count, rounds)
        tuned_big = run_baseline(
            "aioquic-tuned", payload, count, rounds, max_datagram_size=AIOQUIC_MAX_DATAGRAM
        )
        tuned_big.name = f"aioquic-tuned-{AIOQUIC_MAX_DATAGRAM}"
        ours, _ = run_rxyomo("rxyomo-zipper", payload, count, rounds)
        small, _ = run_rxyomo("rxyomo-zipper-1200", payload, count, rounds, max_datagram_size=1200)
        for result in (usual, tuned, tuned_big, ours, small):
            rows.append(result.as_dict())
            print(
                f"{result.name:18} {payload:6} B {result.messages_per_s:9.0f} msg/s "
                f"{result.mb_per_s:7.1f} MB/s  rtt p50 {result.rtt_p50_ms:6.2f} ms "
                f"p99 {result.rtt_p99_ms:6.2f} ms"
            )
        ratios[f"zipper/usual msg/s {payload} B"] = ours.messages_per_s / usual.messages_per_s
        ratios[f"zipper/tuned msg/s {payload} B"] = ours.messages_per_s / tuned.messages_per_s
        ratios[f"zipper/tuned-{AIOQUIC_MAX_DATAGRAM} msg/s {payload} B"] = (
            ours.messages_per_s / tuned_big.messages_per_s
        )
        ratios[f"zipper-1200/tuned msg/s {payload} B"] = small.messages_per_s / tuned.messages_per_s

    # A function ~10x slower than the source: memory must stay bounded.
    slow_count = int(1200 * scale)
    slow, extra = run_rxyomo("rxyomo-slow-function", 40 * 1024, slow_count, 0, delay=0.002)
    offered_mb = slow_count * 40 * 1024 / 2**20
    memory = {
        "frames": slow_count,
        "offered_mb": offered_mb,
        "function_msgs_per_s": slow.messages_per_s,
        "zipper_peak_rss_mb": slow.server_peak_rss_mb,
        "rss_timeline": extra["rss"],
    }
    print(
        f"slow function: {slow.messages_per_s:.0f} msg/s; source offered {offered_mb:.0f} MB; "
        f"zipper peak RSS {slow.server_peak_rss_mb:.0f} MB"
    )
    for label, value in ratios.items():
        print(f"{label:32} {value:5.2f}x")
    report = {
        "bench": "runtime",
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "results": rows,
        "ratios": ratios,
        "memory": memory,
    }
    write_report("runtime.json", report)
    _plot(rows, memory)


def _plot(rows: list[dict[str, Any]], memory: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for offset, payload in enumerate((1024, 40 * 1024)):
        subset = [r for r in rows if r["payload_size"] == payload]
        xs = [i + offset * (len(subset) + 1) for i in range(len(subset))]
        left.bar(
            xs,
            [r["messages_per_s"] for r in subset],
            color=["#999", "#666", "#444", "#2a7", "#174"],
        )
        for x, r in zip(xs, subset, strict=True):
            left.text(
                x,
                r["messages_per_s"],
                r["name"].replace("rxyomo-", ""),
                rotation=90,
                ha="center",
                va="bottom",
                fontsize=7,
            )
    left.set_yscale("log")  # 1 KiB and 40 KiB rates differ by two orders of magnitude
    left.set_ylabel("messages/s (log scale)")
    left.set_title("throughput: 1 KiB (left group), 40 KiB (right group)")
    timeline = memory["rss_timeline"]
    if timeline:
        right.plot([t for t, _ in timeline], [m for _, m in timeline])
    right.set_xlabel("seconds")
    right.set_ylabel("zipper RSS (MiB)")
    right.set_title(f"slow function; source offered {memory['offered_mb']:.0f} MiB")
    save_figure(fig, RESULTS / "runtime.png")


if __name__ == "__main__":
    main()

"""What seeing a zipper run costs: its throughput with traces sampled at 1 % and metrics
on (scraped every second) against the same run with both off.

Three processes over QUIC on loopback: a zipper, a stream function counting the frames,
and this one (the source; an OTLP/HTTP receiver taking the spans; the scraper). The
source writes ``messages`` frames under 0x10 back to back, then a marker the function
answers; the clock stops when the answer comes, so every frame crossed the zipper. The
variants alternate, round after round; each one's median is kept. With both off the
zipper pays a None check per frame and hop (``rxyomo.observe.hooks``); the bench also
times those checks alone and reports the zipper's own CPU time a frame, which the other
processes on the same cores disturb less than the throughput.

    python -m benches.bench_observe [--quick]

Writes benches/results/observe.json and observe.png.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing.connection
import os
import platform
import statistics
import threading
import time
import timeit
import urllib.request
from typing import Any

from benches._bench import RESULTS, pyplot, save_figure, write_report
from benches.quic_baselines import bench_tls, run_server_process, spawn_server, stop_server
from devtools.otlp import OtlpReceiver
from devtools.processes import free_tcp_port
from rxyomo import Sink, Source, StreamFunction, Zipper, parse_workflow
from rxyomo.client import ReconnectPolicy
from rxyomo.observe import disable_tracing, enable_tracing
from rxyomo.observe.tracing import tracer_provider_from_environment
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.quic import LOOPBACK_DATAGRAM_SIZE, QuicTransport

END = b"END"
#: The sampling the issue asks about: 1 % of the traces that start at the source.
SAMPLER = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"}


def _transport(*, server: bool) -> QuicTransport:
    return QuicTransport(
        TransportOptions(tls=bench_tls(server=server)), max_datagram_size=LOOPBACK_DATAGRAM_SIZE
    )


def _observe_environment(settings: dict[str, Any]) -> None:
    """In a child: trace as the variant says, through the environment as deployed."""
    if settings["endpoint"]:
        os.environ.update(SAMPLER, OTEL_EXPORTER_OTLP_ENDPOINT=settings["endpoint"])


async def _zipper_main(settings: dict[str, Any], report_port: Any) -> Any:
    _observe_environment(settings)
    metrics = f"metrics: 127.0.0.1:{settings['metrics_port']}\n" if settings["metrics_port"] else ""
    workflow = parse_workflow(
        f"name: bench\nhost: 127.0.0.1\nport: 0\n{metrics}"
        "functions:\n  - name: fn\n  - name: sink\n"
    )
    zipper = Zipper(workflow, _transport(server=True))
    await zipper.start()
    report_port(zipper.address[1])
    started = time.process_time()
    # The zipper's own CPU time: what the observing costs it, whatever the others do.
    return lambda: {"drops": dict(zipper.stats.drops), "cpu": time.process_time() - started}


def zipper_process(settings: dict[str, Any], pipe: multiprocessing.connection.Connection) -> None:
    run_server_process(_zipper_main, settings, pipe)


async def _function_main(settings: dict[str, Any], report_port: Any) -> Any:
    _observe_environment(settings)
    counted = {"frames": 0}

    async def handler(data: bytes) -> tuple[int, bytes] | None:
        if data == END:
            return 0x11, str(counted["frames"]).encode()
        counted["frames"] += 1
        return None

    fn = StreamFunction(
        "fn",
        observe=[0x10],
        handler=handler,
        zipper=f"127.0.0.1:{settings['zipper_port']}",
        transport=_transport(server=False),
        reconnect=ReconnectPolicy(initial_delay=0.05),
    )
    await fn.connect()
    report_port(0)
    return lambda: {"frames": counted["frames"]}


def function_process(settings: dict[str, Any], pipe: multiprocessing.connection.Connection) -> None:
    run_server_process(_function_main, settings, pipe)


def receiver_process(pipe: multiprocessing.connection.Connection) -> None:
    """A process of its own takes the spans, so that decoding them costs the source's
    process nothing; it answers with the number of spans when asked to stop."""
    with OtlpReceiver(keep=False) as receiver:
        pipe.send(receiver.endpoint)
        pipe.recv()
        pipe.send(receiver.span_count)


def _scrape(url: str, stop: threading.Event, into: list[int]) -> None:
    while not stop.wait(1.0):
        with urllib.request.urlopen(url, timeout=5) as answer:
            into.append(len(answer.read()))


async def _drive(port: int, messages: int, size: int) -> float:
    answers: asyncio.Queue[bytes] = asyncio.Queue()
    address = f"127.0.0.1:{port}"
    transport = _transport(server=False)
    sink = Sink(
        "sink", observe=[0x11], handler=answers.put_nowait, zipper=address, transport=transport
    )
    source = Source("source", zipper=address, transport=transport)
    await sink.connect()
    await source.connect()
    payload = os.urandom(size)
    started = time.perf_counter()
    for _ in range(messages):
        await source.write(0x10, payload)
    await source.write(0x10, END)
    counted = int(await asyncio.wait_for(answers.get(), 300))
    seconds = time.perf_counter() - started
    await source.close()
    await sink.close()
    if counted != messages:
        raise RuntimeError(f"the function counted {counted} of {messages} frames")
    return messages / seconds


def run_variant(
    traces: bool, metrics: bool, messages: int, size: int, endpoint: str
) -> tuple[float, float]:
    """One run: frames per second through the zipper, and the zipper's CPU seconds."""
    metrics_port = free_tcp_port() if metrics else 0
    settings: dict[str, Any] = {
        "endpoint": endpoint if traces else "",
        "metrics_port": metrics_port,
    }
    zproc, zpipe, port = spawn_server(zipper_process, settings)
    fproc, fpipe, _ = spawn_server(function_process, {**settings, "zipper_port": port})
    stop, scraped = threading.Event(), list[int]()
    scraper = None
    provider = None
    if traces:
        os.environ.update(SAMPLER, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        provider = tracer_provider_from_environment()
        enable_tracing(provider)
    if metrics:
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        scraper = threading.Thread(target=_scrape, args=(url, stop, scraped), daemon=True)
        scraper.start()
    report: dict[str, Any] = {}
    try:
        rate = asyncio.run(_drive(port, messages, size))
    finally:
        stop.set()
        if scraper is not None:
            scraper.join(5)
        if provider is not None:
            disable_tracing()
            provider.shutdown()
        stop_server(fproc, fpipe)
        report = stop_server(zproc, zpipe)
    return rate, float(report.get("cpu", float("nan")))


def hook_checks_ns() -> float:
    """What the checks cost with everything off: the router's (three a frame and hop) and
    the clients' (one a write, one a handled frame), in nanoseconds."""
    from rxyomo.observe.hooks import HOOKS

    class Router:
        observer: object | None = None

    router = Router()

    def checks() -> None:
        observer = router.observer
        if observer is not None:
            pass
        if observer is not None:
            pass
        if router.observer is not None:
            pass
        if HOOKS.tracing is not None:
            pass
        if HOOKS.tracing is None and HOOKS.functions is None:
            pass

    runs = 1_000_000
    return min(timeit.repeat(checks, number=runs, repeat=5)) / runs * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and rounds")
    parser.add_argument("--messages", type=int, help="frames a run (default 20000)")
    parser.add_argument("--size", type=int, default=1024, help="payload bytes (default 1024)")
    parser.add_argument("--rounds", type=int, help="rounds of the variants (default 5)")
    parser.add_argument("--each", action="store_true", help="also traces alone and metrics alone")
    args = parser.parse_args()
    messages = args.messages or (4000 if args.quick else 20000)
    rounds = args.rounds or (2 if args.quick else 5)
    context = multiprocessing.get_context("spawn")
    pipe, child = context.Pipe()
    receiver = context.Process(target=receiver_process, args=(child,), daemon=True)
    receiver.start()
    endpoint = str(pipe.recv())
    variants = {
        "off": (False, False),
        "traces 1% + metrics": (True, True),
        **({"traces 1%": (True, False), "metrics": (False, True)} if args.each else {}),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for round_ in range(rounds):
            # Every other round the other way round, so that no variant always goes first.
            order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
            for name in order:
                rate, zipper_cpu = run_variant(*variants[name], messages, args.size, endpoint)
                samples[name].append(rate)
                cpu[name].append(zipper_cpu / (messages + 1) * 1e6)
    finally:
        pipe.send("stop")
        spans = int(pipe.recv()) if pipe.poll(10) else -1
        receiver.join(5)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    ratio = medians["traces 1% + metrics"] / medians["off"]
    report = {
        "bench": "observe",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "messages": messages,
        "payload_size": args.size,
        "rounds": rounds,
        "frames_per_s": medians,
        "samples": samples,
        "zipper_cpu_us_per_frame": cpu_medians,
        "zipper_cpu_samples": cpu,
        "cpu_ratio_on_to_off": cpu_medians["traces 1% + metrics"] / cpu_medians["off"],
        "ratio_on_to_off": ratio,
        "spans_received": spans,
        "frames_traced_share": spans / 3 / (messages * rounds * (2 if args.each else 1)),
        "hook_checks_ns_per_frame": hook_checks_ns(),
    }
    path = write_report("observe.json", report)
    print(f"wrote {path}")
    for name, value in medians.items():
        print(
            f"  {name:<22} {value:10,.0f} frames/s, zipper {cpu_medians[name]:6.1f} us CPU a frame"
        )
    print(
        f"  ratio (on / off)       {ratio:10.3f} (zipper CPU {report['cpu_ratio_on_to_off']:.3f})"
    )
    print(f"  spans received         {spans:10,d}")
    print(f"  hook checks, all off   {report['hook_checks_ns_per_frame']:10.1f} ns a frame")
    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = list(medians)
        ax.bar(
            names, [medians[n] for n in names], color=["#888", "#4c8", "#8ac", "#ca8"][: len(names)]
        )
        for index, name in enumerate(names):
            ax.scatter([index] * len(samples[name]), samples[name], color="black", s=8, zorder=3)
        ax.set_ylabel("frames/s through the zipper")
        ax.set_title(f"Observability's cost: {ratio:.3f}x ({messages} x {args.size} B, QUIC)")
        save_figure(fig, RESULTS / "observe.png")


if __name__ == "__main__":
    main()

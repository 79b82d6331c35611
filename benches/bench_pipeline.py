"""The image-recognition pipeline against the model's own speed, on the same frames.

- direct: the WebAssembly ``infer`` called in-process from Python, as fast as it goes: one
  call at a time (its latency is the low-load reference), and ``instances`` threads at once
  (one guest instance each), whichever is faster being the throughput reference;
- QUIC: the example's processes, ``rxyomo serve`` and ``instances`` flow processes, with the
  source and the sink in this process: source -> zipper -> flow (wasm) -> zipper -> sink;
- TCP: the same processes over rxyomo's TLS-over-TCP transport;
- memory: the same pipeline in this process over the in-memory transport;
- floor: the same processes and application work (y3 payloads, the example's ``decode`` on
  a worker thread) joined by bare asyncio over plain TCP, without QUIC, TLS or rxyomo
  (see ``_floor.py``): what this machine charges for moving frames between the processes,
  so that what the framework costs shows as the distance from it;
- served (``_pipeline_served.py``): the guest served as it is on raw JPEGs, by the zipper
  itself (``served-quic``, ``served-tcp``, ``served-memory``: source -> zipper -> sink),
  by ``rxyomo run`` (``hosted-quic``), and the served form's floor (``floor-served``: this
  process and one classifying process over plain TCP). ``served-quic`` is held to the same
  targets.

Each pipeline is measured at low load (one frame in flight: latency) and at full load (a
window of frames in flight: frames/s, latency under load, frames/s over time). Targets:
pipeline frames/s >= 0.9x direct; latency the framework adds (pipeline p50 at low load -
direct p50) <= 2 ms. The direct measurements are repeated around every pipeline, each
pipeline being held to the faster one; the overhead is also measured frame by frame (a
frame's latency minus the time its flow spent classifying it), which other work on the
machine disturbs far less. Also reported: CPU time a frame for every process, and the
model's CPU time a frame over the pipeline's (every process's), which drifts much less than
frames/s when other work shares the machine. Writes benches/results/pipeline.json and
pipeline.png (``--name`` for others, ``--only`` for some variants).

    PYTHONPATH=examples/image_recognition python -m benches.bench_pipeline [--quick] [--instances N]
        [--only served-quic,floor-served] [--name NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "benches.bench_pipeline"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import numpy as np
    import psutil
    import y3

    # The example's modules import each other by their bare names, as its scripts do: its
    # directory comes on the path from outside, through PYTHONPATH (see the command above).
    try:
        from _processes import Supervisor
        from frames import (
            IMAGE_KEY,
            LABEL_KEY,
            ImageFrame,
            Recognition,
            encode_frame,
            image_metadata,
            raw_recognition,
        )
        from pipeline import FLOW_NAME, SINK_NAME, ImageRecognition
        from recognizer import Recognizer
        from video import make_sample_video, pictures
    except ModuleNotFoundError as exc:
        if exc.name not in {"_processes", "forms", "frames", "pipeline", "recognizer", "video"}:
            raise
        raise SystemExit(
            f"{exc}: run PYTHONPATH=examples/image_recognition python -m benches.bench_pipeline"
            " from the repository root"
        ) from exc

    from benches import _floor
    from benches import _pipeline_served as served
    from benches._bench import RESULTS, pyplot, save_figure, write_report
    from devtools.processes import free_tcp_port, free_udp_port
    from rxyomo import Context, Sink, Source, StreamFunction, Zipper, load_workflow
    from rxyomo.transport import Transport, TransportOptions
    from rxyomo.transport.certs import dev_client_tls
    from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
    from rxyomo.transport.quic import LOOPBACK_DATAGRAM_SIZE, QuicTransport
    from rxyomo.transport.tcp import TcpTransport
    from wasm_host.host.tensorflowlite import THREADS_ENV as TFLITE_THREADS_ENV

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "image_recognition"

WORKFLOW = EXAMPLE / "zipper" / "workflow.yaml"
_RESULT_CODEC = y3.Codec(LABEL_KEY)
#: Frames in flight per flow worker at full load: one classified, the rest queued, so
#: that no worker waits for its next frame to cross the network.
WINDOW = int(os.environ.get("BENCH_PIPELINE_WINDOW", "2"))


@dataclass
class Run:
    """One measured configuration."""

    name: str
    low_load_ms: list[float] = field(default_factory=list)
    #: Low-load latency minus the time the flow spent classifying that frame.
    overhead_ms: list[float] = field(default_factory=list)
    #: Time the flow spent classifying each low-load frame.
    inference_ms: list[float] = field(default_factory=list)
    loaded_ms: list[float] = field(default_factory=list)
    #: Completion times of the full-load phase, seconds from its start.
    completions: list[float] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else float("nan")

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float:
            return float(np.percentile(values, q)) if values else float("nan")

        return {
            "name": self.name,
            "settings": self.settings,
            "frames": self.frames,
            "seconds": self.seconds,
            "frames_per_s": self.frames_per_s,
            "low_load_p50_ms": pct(self.low_load_ms, 50),
            "low_load_p99_ms": pct(self.low_load_ms, 99),
            "low_load_inference_p50_ms": pct(self.inference_ms, 50),
            "low_load_overhead_p50_ms": pct(self.overhead_ms, 50),
            "low_load_overhead_p99_ms": pct(self.overhead_ms, 99),
            "loaded_p50_ms": pct(self.loaded_ms, 50),
            "loaded_p99_ms": pct(self.loaded_ms, 99),
        }


# -- direct --------------------------------------------------------------------------------


def run_direct(frames: list[bytes], rounds: int, instances: int, *, loaded: bool = True) -> Run:
    """The model called from Python: one at a time, then (``loaded``) ``instances`` threads
    at once, the faster of the two being the throughput reference."""
    run = Run("direct", settings={"instances": instances})
    recognizer = Recognizer()
    try:
        for jpeg in frames[: 2 * instances]:
            recognizer(jpeg)
        for i in range(rounds):
            started = time.perf_counter()
            recognizer(frames[i % len(frames)])
            run.low_load_ms.append((time.perf_counter() - started) * 1e3)
        if not loaded:
            return run
        sequential = _direct_throughput(recognizer, frames, 1)
        parallel = _direct_throughput(recognizer, frames, instances)
    finally:
        recognizer.close()
    best = max((sequential, parallel), key=lambda r: len(r[0]) / r[1])
    run.completions, run.seconds, run.loaded_ms, cpu = best
    run.frames = len(frames)
    run.settings["sequential_frames_per_s"] = len(frames) / sequential[1]
    run.settings["parallel_frames_per_s"] = len(frames) / parallel[1]
    run.settings["cpu_ms_per_frame"] = {"bench": cpu * 1e3 / len(frames)}
    return run


def _direct_throughput(
    recognizer: Recognizer, frames: list[bytes], threads: int
) -> tuple[list[float], float, list[float], float]:
    lock = threading.Lock()
    completions: list[float] = []
    durations: list[float] = []

    def call(jpeg: bytes) -> None:
        began = time.perf_counter()
        recognizer(jpeg)
        ended = time.perf_counter()
        with lock:
            completions.append(ended - started)
            durations.append((ended - began) * 1e3)

    with ThreadPoolExecutor(threads) as pool:
        for jpeg in frames[:threads]:  # each thread's guest instance, made before the clock
            pool.submit(recognizer, jpeg).result()
        cpu = time.process_time()
        started = time.perf_counter()
        list(pool.map(call, frames))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return sorted(completions), seconds, durations, cpu


# -- the pipelines ---------------------------------------------------------------------------


class Driver:
    """The source and the sink of a pipeline run, in this process."""

    def __init__(self) -> None:
        #: Writes image ``index`` (its JPEG) towards the function.
        self.write: Callable[[int, bytes], Awaitable[None]] | None = None
        self.sent: dict[int, float] = {}
        self.latencies: dict[int, float] = {}
        self.arrived: dict[int, float] = {}
        self.inference: dict[int, float] = {}
        self._next = 0
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._window: asyncio.Semaphore | None = None

    def on_result(self, payload: bytes) -> None:
        """The sink's handler of the flow's y3 ``Recognition``."""
        result: Recognition = _RESULT_CODEC.unmarshal(payload, Recognition)
        self.result(result.index, result.inference_us / 1e3, result.error)

    def on_answer(self, ctx: Context) -> None:
        """The sink's handler of a served guest's answer: the sentence alone, the frame's
        index in the metadata it carried on."""
        result = raw_recognition(ctx.data, ctx.metadata)
        if result is not None:
            self.result(result.index, None)

    def result(self, index: int, inference_ms: float | None, error: str = "") -> None:
        """Frame ``index`` came back (``inference_ms``: its call time, when known)."""
        now = time.perf_counter()
        self.arrived[index] = now
        self.latencies[index] = (now - self.sent[index]) * 1e3
        if inference_ms is not None:
            self.inference[index] = inference_ms
        waiter = self._waiters.get(index)
        if waiter is not None and not waiter.done():
            if error:
                waiter.set_exception(RuntimeError(f"frame {index}: {error}"))
            else:
                waiter.set_result(None)
        if self._window is not None:
            self._window.release()

    async def send(self, jpeg: bytes) -> int:
        index = self._next
        self._next += 1
        self._waiters[index] = asyncio.get_running_loop().create_future()
        self.sent[index] = time.perf_counter()
        assert self.write is not None
        await self.write(index, jpeg)
        return index

    async def one_at_a_time(self, frames: list[bytes], rounds: int) -> list[int]:
        """Send ``rounds`` frames, each after the previous one's result; their indexes."""
        indexes = []
        for i in range(rounds):
            index = await self.send(frames[i % len(frames)])
            await asyncio.wait_for(self._waiters[index], 60)
            indexes.append(index)
        return indexes

    async def full_load(self, frames: list[bytes], window: int, run: Run) -> None:
        self._window = asyncio.Semaphore(window)
        first = self._next
        started = time.perf_counter()
        for jpeg in frames:
            await self._window.acquire()
            await self.send(jpeg)
        indexes = range(first, self._next)
        await asyncio.wait_for(asyncio.gather(*(self._waiters[i] for i in indexes)), 300)
        run.seconds = max(self.arrived[i] for i in indexes) - started
        run.frames = len(frames)
        run.completions = sorted(self.arrived[i] - started for i in indexes)
        run.loaded_ms = [self.latencies[i] for i in indexes]
        self._window = None


async def drive(
    run: Run,
    frames: list[bytes],
    rounds: int,
    window: int,
    address: str,
    transport: Transport,
    pids: dict[str, int],
    *,
    raw: bool = False,
    call_ms: Callable[[], Awaitable[float]] | None = None,
) -> None:
    """The pipeline's source and sink here, over rxyomo: see :func:`measure`. ``raw``
    payloads are the JPEG and the sentence alone (the guest served as it is), the index in
    the metadata; ``call_ms`` then says the function's call-time p50 (from its stats)."""
    options: dict[str, Any] = {"zipper": address, "transport": transport}
    driver = Driver()
    handler: Callable[..., None] = driver.on_answer if raw else driver.on_result
    sink = Sink(SINK_NAME, observe=[LABEL_KEY], handler=handler, **options)
    source = Source("bench-source", **options)
    await sink.connect()
    await source.connect()

    async def write(index: int, jpeg: bytes) -> None:
        if raw:
            await source.write(IMAGE_KEY, jpeg, metadata=image_metadata(index, time.time_ns()))
        else:
            await source.write(IMAGE_KEY, encode_frame(ImageFrame(index, time.time_ns(), jpeg)))

    driver.write = write
    try:
        await measure(run, driver, frames, rounds, window, pids, call_ms=call_ms)
    finally:
        await source.close()
        await sink.close()


async def measure(
    run: Run,
    driver: Driver,
    frames: list[bytes],
    rounds: int,
    window: int,
    pids: dict[str, int],
    *,
    call_ms: Callable[[], Awaitable[float]] | None = None,
) -> None:
    """Warm up, measure one frame at a time, then at full load; ``pids`` are the processes
    whose CPU time per frame at full load is reported (this one is ``bench``). Without a
    call time per frame (a guest served as it is says none), ``call_ms`` gives the
    function's call-time p50 over the low-load frames, and the overhead is reckoned from
    it."""
    await driver.one_at_a_time(frames, 4 * window)  # every instance warm
    indexes = await driver.one_at_a_time(frames, rounds)
    run.low_load_ms = [driver.latencies[i] for i in indexes]
    if call_ms is not None:
        # The stats keep the latest 1024 calls: the low-load ones, after the warm-up.
        p50 = await call_ms()
        run.inference_ms = [p50] * len(indexes)
        run.settings["overhead_from"] = "the function's call-time p50 in its stats"
    else:  # nan where nothing says (a guest served as it is, in another process)
        run.inference_ms = [driver.inference.get(i, float("nan")) for i in indexes]
    run.overhead_ms = [
        latency - inference
        for latency, inference in zip(run.low_load_ms, run.inference_ms, strict=True)
    ]
    before = _cpu_seconds(pids)
    await driver.full_load(frames, window, run)
    after = _cpu_seconds(pids)
    run.settings["cpu_ms_per_frame"] = {
        name: (after[name] - before[name]) * 1e3 / len(frames) for name in pids
    }


async def run_processes(
    frames: list[bytes],
    rounds: int,
    instances: int,
    datagram: int,
    workers: int,
    env: dict[str, str],
) -> Run:
    """The example's zipper and flows as processes; source and sink here. ``datagram`` is
    the QUIC packet size; 0 runs the pipeline over rxyomo's TLS-over-TCP transport."""
    name = (f"quic-{datagram}" if datagram else "tcp") + ("" if workers else "-inline")
    run = Run(
        name, settings={"instances": instances, "max_datagram_size": datagram, "workers": workers}
    )
    port = free_udp_port() if datagram else free_tcp_port()
    if datagram:
        common = ["--max-datagram-size", str(datagram)]
        transport: Transport = QuicTransport(
            TransportOptions(tls=dev_client_tls()), max_datagram_size=datagram
        )
    else:
        common = ["--transport", "tcp"]
        transport = TcpTransport(TransportOptions(tls=dev_client_tls()))
    async with _supervised(env) as supervisor:
        zipper = await supervisor.start(
            "zipper",
            [
                sys.executable,
                "-m",
                "rxyomo",
                "serve",
                "-c",
                str(WORKFLOW),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--stats-interval",
                "0",
                *common,
            ],
            ready="listening on",
        )
        await supervisor.wait_ready([zipper], 30)
        flows = [
            await supervisor.start(
                f"flow #{n}",
                [
                    sys.executable,
                    str(EXAMPLE / "flow.py"),
                    "--zipper",
                    f"127.0.0.1:{port}",
                    *common,
                    "--quiet",
                    "--workers",
                    str(workers),
                ],
                ready=f"{FLOW_NAME} ready",
            )
            for n in range(1, instances + 1)
        ]
        await supervisor.wait_ready(flows, 120)
        pids = {"bench": os.getpid(), "zipper": zipper.process.pid}
        pids.update((flow.name, flow.process.pid) for flow in flows)
        window = WINDOW * instances * max(workers, 1)
        await drive(run, frames, rounds, window, f"127.0.0.1:{port}", transport, pids)
    return run


async def run_floor(frames: list[bytes], rounds: int, instances: int, env: dict[str, str]) -> Run:
    """The same processes and application work over bare TCP: see :mod:`_floor`."""
    run = Run("floor", settings={"instances": instances, "workers": 1})
    port = str(free_tcp_port())
    floor = [sys.executable, "-m", "benches._floor"]
    # The workers import the example's modules by their bare names, as the bench does.
    env = {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLE)])}
    async with _supervised(env) as supervisor:
        relay = await supervisor.start("relay", [*floor, "relay", port], ready=_floor.RELAY_READY)
        await supervisor.wait_ready([relay], 30)
        workers = [
            await supervisor.start(
                f"worker #{n}",
                [*floor, "worker", port],
                ready=_floor.WORKER_READY,
            )
            for n in range(1, instances + 1)
        ]
        await supervisor.wait_ready(workers, 120)
        driver = Driver()
        connection = await _floor.connect(int(port), driver.on_result)

        async def write(index: int, jpeg: bytes) -> None:
            connection.send(_floor.IMAGE, encode_frame(ImageFrame(index, time.time_ns(), jpeg)))

        driver.write = write
        pids = {"bench": os.getpid(), "relay": relay.process.pid}
        pids.update((worker.name, worker.process.pid) for worker in workers)
        try:
            await measure(run, driver, frames, rounds, WINDOW * instances, pids)
        finally:
            assert connection.transport is not None
            connection.transport.close()
    return run


@contextlib.asynccontextmanager
async def _supervised(env: dict[str, str]) -> AsyncIterator[Supervisor]:
    """A :class:`Supervisor` whose processes are stopped on the way out; on a failure, what
    each one said is printed first, to see which one failed; a process that stopped badly
    fails the run."""
    supervisor = Supervisor(env)
    try:
        yield supervisor
    except Exception:
        for part in supervisor.parts:
            print(f"--- {part.name} (status {part.returncode}):", *part.tail, sep="\n  ")
        raise
    finally:
        complaints = await supervisor.stop_all()
    if complaints:
        raise RuntimeError("; ".join(complaints))


async def run_memory(frames: list[bytes], rounds: int, instances: int, workers: int) -> Run:
    """The same pipeline in this process over the in-memory transport."""
    run = Run("memory", settings={"instances": instances, "workers": workers})
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(load_workflow(WORKFLOW), transport)
    await zipper.start()
    address = "{}:{}".format(*zipper.address)
    recognizer = Recognizer()
    apps = [ImageRecognition(recognizer, workers=workers) for _ in range(instances)]
    functions = []
    try:
        for app in apps:
            await app.warm_up(recognizer.warm_up)
            function = StreamFunction(
                FLOW_NAME, observe=[IMAGE_KEY], zipper=address, transport=transport
            )
            function.pipe(app.handler)
            await function.connect()
            functions.append(function)
        window = WINDOW * instances * max(workers, 1)
        await drive(run, frames, rounds, window, address, transport, {"bench": os.getpid()})
    finally:
        for function in functions:
            await function.close()
        await zipper.close()
        for app in apps:
            app.close()
        recognizer.close()
    return run


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User and system CPU seconds of each process so far (threads included)."""
    out = {}
    for name, pid in pids.items():
        times = psutil.Process(pid).cpu_times()
        out[name] = times.user + times.system
    return out


# -- report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames, fewer variants")
    parser.add_argument("--instances", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--datagram-sizes",
        default=str(LOOPBACK_DATAGRAM_SIZE),
        help="QUIC packet sizes to run the pipeline with, comma-separated (the first is the "
        "one held to the targets); the full run adds 1200 and an inline-flow variant",
    )
    parser.add_argument(
        "--repeat", type=int, help="run every variant this many times (default 1, full run 2)"
    )
    parser.add_argument(
        "--only",
        help="run only these variants, comma-separated (e.g. served-quic,floor-served; "
        "quic-SIZE names a QUIC packet size)",
    )
    parser.add_argument(
        "--name", default="pipeline", help="results go to benches/results/NAME.json and .png"
    )
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 2)
    count, rounds = (72, 24) if args.quick else (240, 60)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        # The guest served as it is classifies with one TFLite thread a call, as direct does.
        env = {
            **os.environ,
            "RXYOMO_CONFIG_DIR": str(Path(tmp) / "config"),
            TFLITE_THREADS_ENV: "1",
        }
        os.environ["RXYOMO_CONFIG_DIR"] = env["RXYOMO_CONFIG_DIR"]
        os.environ[TFLITE_THREADS_ENV] = "1"
        video = make_sample_video(Path(tmp) / "sample.mp4")
        photos = [p.jpeg for p in pictures(str(video))]
        frames = [photos[i % len(photos)] for i in range(count)]
        print(
            f"{len(photos)} photos, {count} frames, {sum(map(len, photos)) // len(photos):,} "
            f"bytes a JPEG on average; {args.instances} instances"
        )
        # The machine's speed drifts (and other work shares it): the model is measured
        # directly before and after each pipeline, and each pipeline is held to the faster
        # of the two measurements around it.
        directs = [run_direct(frames, rounds, args.instances)]
        _show(directs[-1])
        sizes = [int(size) for size in args.datagram_sizes.split(",")]
        quic = [(size, 1) for size in sizes]
        if not args.quick:
            quic += [(1200, 1), (sizes[0], 0)]
        n = args.instances
        here = sys.modules[__name__]
        named: dict[str, Callable[[], Coroutine[Any, Any, Run]]] = {
            f"quic-{size}" + ("" if workers else "-inline"): functools.partial(
                run_processes, frames, rounds, n, size, workers, env
            )
            for size, workers in quic
        }
        named.update(
            {
                "tcp": functools.partial(run_processes, frames, rounds, n, 0, 1, env),
                "memory": functools.partial(run_memory, frames, rounds, n, 1),
                "floor": functools.partial(run_floor, frames, rounds, n, env),
                "served-quic": functools.partial(
                    served.run_served, here, frames, rounds, n, env, Path(tmp)
                ),
                "served-tcp": functools.partial(
                    served.run_served, here, frames, rounds, n, env, Path(tmp), "tcp"
                ),
                "served-memory": functools.partial(
                    served.run_served_memory, here, frames, rounds, n, Path(tmp)
                ),
                "hosted-quic": functools.partial(served.run_hosted, here, frames, rounds, n, env),
                "floor-served": functools.partial(
                    served.run_floor_served, here, frames, rounds, n, env
                ),
            }
        )
        wanted = args.only.split(",") if args.only else list(named)
        unknown = [name for name in wanted if name not in named]
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; known: {', '.join(named)}")
        variants = [named[name] for name in wanted]
        pipelines: list[Run] = []
        for variant in variants * repeat:
            run = asyncio.run(variant())
            pipelines.append(run)
            _show(run)
            directs.append(run_direct(frames, rounds, args.instances))
            _show(directs[-1])
    report = _report(directs, pipelines, args)
    write_report(f"{args.name}.json", report, env="PYTHONPATH=examples/image_recognition")
    _plot([directs[0], *_first_runs(pipelines)], args.name)
    print(
        f"{'pipeline':18} {'frames/s / direct':>18} {'added p50':>10} {'overhead p50':>13} "
        f"{'CPU direct / pipeline':>22}"
    )
    for name, row in report["ratios"].items():
        print(
            f"{name:18} {row['frames_per_s_ratio']:18.2f} "
            f"{row['added_latency_p50_ms']:7.2f} ms {row['overhead_p50_ms']:10.2f} ms "
            f"{row['cpu_ratio']:22.2f}"
        )
    for target, met in report["targets"].items():
        print(f"{target}: {'met' if met else 'MISSED'}")


def _first_runs(runs: list[Run]) -> list[Run]:
    """The first run of each variant, in order."""
    first: dict[str, Run] = {}
    for run in runs:
        first.setdefault(run.name, run)
    return list(first.values())


def _show(run: Run) -> None:
    s = run.summary()
    print(
        f"{s['name']:18} {s['frames_per_s']:7.1f} frames/s | low load p50 "
        f"{s['low_load_p50_ms']:6.2f} ms p99 {s['low_load_p99_ms']:6.2f} ms | full load "
        f"p50 {s['loaded_p50_ms']:7.2f} ms p99 {s['loaded_p99_ms']:7.2f} ms",
        flush=True,
    )
    cpu = run.settings.get("cpu_ms_per_frame", {})
    print(
        "    CPU ms a frame at full load: "
        + ", ".join(f"{name} {value:.2f}" for name, value in cpu.items()),
        flush=True,
    )


def _report(directs: list[Run], pipelines: list[Run], args: argparse.Namespace) -> dict[str, Any]:
    rows: list[tuple[str, dict[str, float]]] = []
    for number, run in enumerate(pipelines):
        around = [directs[number].summary(), directs[number + 1].summary()]
        # Other work on the machine only ever slows a measurement down: the faster of the
        # two around a pipeline is the nearer to the model's own speed.
        fps = max(d["frames_per_s"] for d in around)
        p50 = min(d["low_load_p50_ms"] for d in around)
        s = run.summary()
        # CPU time a frame varies far less with other work on the machine than wall time:
        # the model's own over every process's of the pipeline, at full load.
        direct_cpu = min(d["settings"]["cpu_ms_per_frame"]["bench"] for d in around)
        pipeline_cpu = sum(run.settings.get("cpu_ms_per_frame", {}).values()) or float("nan")
        row = {
            "direct_frames_per_s": fps,
            "direct_low_load_p50_ms": p50,
            "frames_per_s_ratio": s["frames_per_s"] / fps,
            "added_latency_p50_ms": s["low_load_p50_ms"] - p50,
            "overhead_p50_ms": s["low_load_overhead_p50_ms"],
            "cpu_ratio": direct_cpu / pipeline_cpu,
        }
        rows.append((run.name, row))
    # A variant run several times: the median of its runs, and every run's ratio.
    ratios: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(name for name, _ in rows):
        mine = [row for other, row in rows if other == name]
        ratios[name] = {key: float(np.median([row[key] for row in mine])) for key in mine[0]}
        ratios[name]["runs"] = len(mine)
        ratios[name]["frames_per_s_ratios"] = [row["frames_per_s_ratio"] for row in mine]
    targets: dict[str, bool] = {}
    # The flows over QUIC (the first variant, unless left out) and the zipper-served guest.
    for name in dict.fromkeys([pipelines[0].name, "served-quic"]):
        if name in ratios:
            targets[f"{name} frames/s >= 0.9x direct"] = ratios[name]["frames_per_s_ratio"] >= 0.9
            targets[f"{name} added latency p50 <= 2 ms"] = (
                ratios[name]["added_latency_p50_ms"] <= 2.0
            )
    return {
        "bench": "pipeline",
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "window_per_worker": WINDOW,
        "direct": [run.summary() for run in directs],
        "pipelines": [run.summary() for run in pipelines],
        "ratios": ratios,
        "targets": targets,
        "timelines": {run.name: run.completions for run in [directs[0], *_first_runs(pipelines)]},
    }


_BIN = 0.2


def _plot(runs: list[Run], name: str = "pipeline") -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.5))
    for run in runs:
        for axis, values in ((left, run.low_load_ms), (middle, run.loaded_ms)):
            if values:
                ordered = np.sort(values)
                axis.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), label=run.name)
        if run.completions:
            # Whole bins only: a last, partly filled one would show a false drop.
            edges = np.arange(0.0, max(run.completions) + 1e-9, _BIN)
            if len(edges) > 1:
                counts, _ = np.histogram(run.completions, bins=edges)
                right.plot(edges[1:], counts / _BIN, marker=".", label=run.name)
    left.set_title("latency, one frame in flight (CDF)")
    middle.set_title("latency at full load (CDF)")
    for axis in (left, middle):
        axis.set_xlabel("ms")
        axis.set_xscale("log")
        axis.legend(fontsize=8)
    right.set_title(f"frames/s over time, full load ({_BIN:g} s bins)")
    right.set_xlabel("seconds")
    right.legend(fontsize=8)
    save_figure(fig, RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()

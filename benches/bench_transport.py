"""Transport bench: rxyomo's QUIC and TCP transports against the aioquic baselines.

One run, loopback, server in a child process, client in this one, 1 KiB and
40 KiB messages: messages/s, MB/s and round-trip p50/p99 for

- ``aioquic-usual``: aioquic with StreamReader/StreamWriter (baseline),
- ``aioquic-tuned``: aioquic driven directly (baseline),
- ``rxyomo-quic``: :class:`rxyomo.transport.QuicTransport` (1200-byte datagrams),
- ``rxyomo-quic-8k``: the same with ``max_datagram_size=8000`` (loopback allows it),
- ``rxyomo-tcp``: :class:`rxyomo.transport.TcpTransport` (TLS over TCP),

with ratios against both baselines measured in the same run (each configuration
runs ``--repeat`` times, interleaved, and the medians are reported). Then a slow
consumer: the receiver reads at a tenth of what the sender can write; each
side runs in a fresh process and reports its peak RSS, for rxyomo's QUIC
transport (bounded by watermarks and the receive window) and for aioquic the
usual way (unbounded).

Writes benches/results/transport.json and transport.png, prints a table.
``--quick`` for a short run (about half a minute); the full run takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import multiprocessing.connection
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.server import serve as aioquic_serve

from benches._bench import RESULTS, pyplot, save_figure, write_report
from benches.quic_baselines import (
    ECHO,
    SINK,
    FrameParser,
    Result,
    bench_tls,
    frame,
    measure,
    peak_rss_mb,
    quic_configuration,
    run_baseline,
    run_server_process,
    spawn_server,
    stop_server,
    time_phases,
)
from rxyomo.transport import (
    Channel,
    QuicTransport,
    StreamHandler,
    TcpTransport,
    Transport,
    TransportOptions,
)


def _transport(kind: str, max_datagram_size: int, *, server: bool) -> Transport:
    options = TransportOptions(tls=bench_tls(server=server))
    if kind == "tcp":
        return TcpTransport(options)
    return QuicTransport(options, max_datagram_size=max_datagram_size)


# -- echo/sink server and client over rxyomo transports -------------------------------------


class _EchoSink(StreamHandler):
    """Counts sink messages and sends echo messages back."""

    def __init__(self) -> None:
        self._channel: Channel | None = None
        self._parser = FrameParser(self._on_message)

    def connection_made(self, channel: Channel) -> None:
        self._channel = channel

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._channel = None

    def _on_message(self, kind: int, payload: bytes) -> None:
        if kind == ECHO and self._channel is not None:
            self._channel.write(frame(ECHO, payload))


async def _rxyomo_server(settings: dict[str, Any], report_port: Callable[[int], None]) -> None:
    transport = _transport(settings["kind"], settings["max_datagram_size"], server=True)
    listener = await transport.serve("127.0.0.1", 0, _EchoSink)
    report_port(listener.address[1])


def rxyomo_server_process(
    settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    run_server_process(_rxyomo_server, settings, pipe)


class _Writer(StreamHandler):
    """Client side: collects replies and tracks pause/resume."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.parser = FrameParser(lambda kind, payload: self.replies.put_nowait(payload))
        self.writable = asyncio.Event()
        self.writable.set()
        self.done = asyncio.Event()

    def connection_made(self, channel: Channel) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        if data == _DONE:
            self.done.set()
            return
        self.parser.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()


async def _rxyomo_client(
    kind: str, port: int, payload_size: int, messages: int, rounds: int, max_datagram_size: int
) -> tuple[float, list[float]]:
    transport = _transport(kind, max_datagram_size, server=False)
    handler = _Writer()
    channel = await transport.connect("127.0.0.1", port, handler)
    payload = bytes(payload_size)
    sink, echo = frame(SINK, payload), frame(ECHO, payload)
    writable = handler.writable

    async def send_bulk() -> None:
        for _ in range(messages):
            if not writable.is_set():
                await writable.wait()
            channel.write(sink)

    async def round_trip() -> None:
        channel.write(echo)
        await handler.replies.get()

    try:
        return await time_phases(send_bulk, round_trip, rounds)
    finally:
        channel.close()
        await asyncio.wait_for(channel.wait_closed(), 5)


def run_rxyomo(
    kind: str, payload_size: int, messages: int, rounds: int, *, max_datagram_size: int = 1200
) -> Result:
    """Measure an rxyomo transport point to point, like the baselines."""
    name = f"rxyomo-{kind}" + ("-8k" if max_datagram_size == 8000 else "")
    return measure(
        name,
        rxyomo_server_process,
        functools.partial(_rxyomo_client, kind),
        payload_size,
        messages,
        rounds,
        max_datagram_size=max_datagram_size,
        settings={"kind": kind},
    )


# -- slow consumer: does memory stay bounded? -------------------------------------------------

_CHUNK = 16 * 1024
_DONE = b"D"


async def _slow_rxyomo_server(
    settings: dict[str, Any], report_port: Callable[[int], None]
) -> Callable[[], dict[str, Any]]:
    loop = asyncio.get_running_loop()
    rate, total = settings["rate"], settings["total"]
    start_rss = peak_rss_mb()

    class Slow(StreamHandler):
        received = 0

        def connection_made(self, channel: Channel) -> None:
            self.channel = channel

        busy_until = 0.0

        def data_received(self, data: bytes) -> None:
            # Consume at `rate`: each byte costs 1/rate seconds of "work"; stop
            # reading while the work is more than a few milliseconds behind.
            Slow.received += len(data)
            now = loop.time()
            self.busy_until = max(self.busy_until, now) + len(data) / rate
            if self.busy_until - now > 0.005:
                self.channel.pause_reading()
                loop.call_at(self.busy_until, self.channel.resume_reading)
            if Slow.received >= total:
                self.channel.write(_DONE)

        def connection_lost(self, exc: Exception | None) -> None:
            pass

    transport = _transport("quic", 1200, server=True)
    listener = await transport.serve("127.0.0.1", 0, Slow)
    report_port(listener.address[1])
    return lambda: {"start_rss_mb": start_rss, "received": Slow.received}


async def _slow_usual_server(
    settings: dict[str, Any], report_port: Callable[[int], None]
) -> Callable[[], dict[str, Any]]:
    rate, total = settings["rate"], settings["total"]
    start_rss = peak_rss_mb()
    state = {"received": 0}
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while state["received"] < total:
            data = await reader.read(_CHUNK)
            if not data:
                return
            state["received"] += len(data)
            await asyncio.sleep(len(data) / rate)
        writer.write(_DONE)

    def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await aioquic_serve(
        "127.0.0.1",
        0,
        configuration=quic_configuration(is_client=False, max_datagram_size=1200),
        stream_handler=on_stream,
    )
    assert server._transport is not None
    report_port(server._transport.get_extra_info("sockname")[1])
    return lambda: {"start_rss_mb": start_rss, "received": state["received"]}


def slow_rxyomo_server_process(
    settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    run_server_process(_slow_rxyomo_server, settings, pipe)


def slow_usual_server_process(
    settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    run_server_process(_slow_usual_server, settings, pipe)


async def _fast_rxyomo_source(settings: dict[str, Any]) -> dict[str, Any]:
    handler = _Writer()
    transport = _transport("quic", 1200, server=False)
    channel = await transport.connect("127.0.0.1", settings["port"], handler)
    chunk, total = bytes(_CHUNK), settings["total"]
    most = 0
    started = time.perf_counter()
    for _ in range(total // _CHUNK):
        if not handler.writable.is_set():
            await handler.writable.wait()
        channel.write(chunk)
        most = max(most, channel.get_write_buffer_size())
    await handler.done.wait()
    seconds = time.perf_counter() - started
    channel.close()
    await asyncio.wait_for(channel.wait_closed(), 5)
    return {"seconds": seconds, "max_write_buffer_mb": most / 1e6}


async def _fast_usual_source(settings: dict[str, Any]) -> dict[str, Any]:
    configuration = quic_configuration(is_client=True, max_datagram_size=1200)
    chunk, total = bytes(_CHUNK), settings["total"]
    async with aioquic_connect("127.0.0.1", settings["port"], configuration=configuration) as peer:
        reader, writer = await peer.create_stream()
        started = time.perf_counter()
        for _ in range(total // _CHUNK):
            writer.write(chunk)
            await writer.drain()  # never waits: aioquic has no backpressure
        await reader.readexactly(1)
        return {"seconds": time.perf_counter() - started, "max_write_buffer_mb": float("nan")}


def _source_process(which: str, settings: dict[str, Any], pipe: Any) -> None:
    main = _fast_rxyomo_source if which == "rxyomo" else _fast_usual_source
    start_rss = peak_rss_mb()
    report = asyncio.run(asyncio.wait_for(main(settings), settings["timeout"]))
    report.update(start_rss_mb=start_rss, peak_rss_mb=peak_rss_mb())
    pipe.send(report)


def run_slow_consumer(which: str, rate: float, total: int) -> dict[str, Any]:
    """A source writing `total` bytes at full speed to a reader consuming `rate` bytes/s."""
    total = total // _CHUNK * _CHUNK
    seconds = total / rate
    server = slow_rxyomo_server_process if which == "rxyomo" else slow_usual_server_process
    process, pipe, port = spawn_server(server, {"rate": rate, "total": total})
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    source = context.Process(
        target=_source_process,
        args=(which, {"port": port, "total": total, "timeout": seconds * 4 + 30}, child),
        daemon=True,
    )
    source.start()
    try:
        if not parent.poll(seconds * 4 + 40):
            raise RuntimeError(f"slow-consumer source ({which}) did not finish")
        sender = dict(parent.recv())
    finally:
        source.join(10)
        if source.is_alive():
            source.kill()
        receiver = stop_server(process, pipe)
    return {
        "stack": "rxyomo-quic" if which == "rxyomo" else "aioquic-usual",
        "consumer_mb_per_s": rate / 1e6,
        "total_mb": total / 1e6,
        "seconds": sender["seconds"],
        "sender_peak_rss_mb": sender["peak_rss_mb"],
        "sender_rss_growth_mb": sender["peak_rss_mb"] - sender["start_rss_mb"],
        "sender_max_write_buffer_mb": sender["max_write_buffer_mb"],
        "receiver_peak_rss_mb": receiver.get("peak_rss_mb", float("nan")),
        "receiver_rss_growth_mb": receiver.get("peak_rss_mb", float("nan"))
        - receiver.get("start_rss_mb", float("nan")),
    }


# -- the run --------------------------------------------------------------------------------


def _ratios(results: list[Result]) -> dict[str, dict[str, float]]:
    ratios: dict[str, dict[str, float]] = {}
    for payload in sorted({r.payload_size for r in results}):
        row = {r.name: r for r in results if r.payload_size == payload}
        usual, tuned = row["aioquic-usual"], row["aioquic-tuned"]
        for name, result in row.items():
            if name.startswith("aioquic"):
                continue
            ratios[f"{name}@{payload}"] = {
                "msgs_vs_usual": result.messages_per_s / usual.messages_per_s,
                "msgs_vs_tuned": result.messages_per_s / tuned.messages_per_s,
                "rtt_p50_vs_usual": result.rtt_p50_ms / usual.rtt_p50_ms,
                "rtt_p50_vs_tuned": result.rtt_p50_ms / tuned.rtt_p50_ms,
            }
    return ratios


def _print_table(
    results: list[Result], ratios: dict[str, dict[str, float]], slow: list[dict[str, Any]]
) -> None:
    print(
        f"{'stack':16} {'payload':>8} {'msg/s':>9} {'MB/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'/usual':>7} {'/tuned':>7}"
    )
    for r in results:
        ratio = ratios.get(f"{r.name}@{r.payload_size}", {})
        print(
            f"{r.name:16} {r.payload_size:>8} {r.messages_per_s:>9.0f} {r.mb_per_s:>7.1f}"
            f" {r.rtt_p50_ms:>7.2f} {r.rtt_p99_ms:>7.2f}"
            f" {ratio.get('msgs_vs_usual', 1.0):>7.2f} {ratio.get('msgs_vs_tuned', 1.0):>7.2f}"
        )
    print()
    print(
        f"{'slow consumer':16} {'total MB':>9} {'sender +RSS':>12} {'receiver +RSS':>14}"
        f" {'max wbuf MB':>12}"
    )
    for s in slow:
        print(
            f"{s['stack']:16} {s['total_mb']:>9.1f} {s['sender_rss_growth_mb']:>12.1f}"
            f" {s['receiver_rss_growth_mb']:>14.1f} {s['sender_max_write_buffer_mb']:>12.2f}"
        )


def _plot(results: list[Result], slow: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()
    if plt is None:
        return
    payloads = sorted({r.payload_size for r in results})
    figure, axes = plt.subplots(1, len(payloads) + 1, figsize=(5 * (len(payloads) + 1), 4))
    for axis, payload in zip(axes, payloads, strict=False):
        row = [r for r in results if r.payload_size == payload]
        axis.bar([r.name for r in row], [r.messages_per_s for r in row], color="tab:blue")
        axis.set_title(f"{payload // 1024} KiB messages, point to point")
        axis.set_ylabel("messages/s")
        axis.tick_params(axis="x", rotation=30)
    axis = axes[-1]
    names = [s["stack"] for s in slow]
    positions = range(len(names))
    axis.bar(
        [p - 0.2 for p in positions],
        [s["sender_rss_growth_mb"] for s in slow],
        width=0.4,
        label="sender",
    )
    axis.bar(
        [p + 0.2 for p in positions],
        [s["receiver_rss_growth_mb"] for s in slow],
        width=0.4,
        label="receiver",
    )
    axis.set_xticks(list(positions), names)
    axis.set_ylabel("peak RSS growth, MB")
    axis.set_title(f"consumer 10x slower, {slow[0]['total_mb']:.0f} MB sent")
    axis.legend()
    save_figure(figure, path)


def _median(samples: list[Result]) -> Result:
    """One result whose every figure is the median over the repeats."""
    first = samples[0]

    def middle(field: str) -> float:
        return float(statistics.median(getattr(sample, field) for sample in samples))

    return Result(
        name=first.name,
        payload_size=first.payload_size,
        messages=first.messages,
        seconds=middle("seconds"),
        messages_per_s=middle("messages_per_s"),
        mb_per_s=middle("mb_per_s"),
        rtt_rounds=first.rtt_rounds,
        rtt_p50_ms=middle("rtt_p50_ms"),
        rtt_p99_ms=middle("rtt_p99_ms"),
        server_peak_rss_mb=middle("server_peak_rss_mb"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, shorter phases")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per configuration, interleaved; the median is reported (default 3, quick 1)",
    )
    args = parser.parse_args()
    repeats = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeat must be at least 1")
    plan = (
        {1024: (3000, 200), 40 * 1024: (150, 100)}
        if args.quick
        else {1024: (20000, 1000), 40 * 1024: (1000, 300)}
    )
    started = time.perf_counter()
    runs: dict[tuple[str, int], list[Result]] = {}
    # Interleaved repeats: a noisy minute hits every stack, not just one.
    for _ in range(repeats):
        for payload, (messages, rounds) in plan.items():
            for result in (
                run_baseline("aioquic-usual", payload, messages, rounds),
                run_baseline("aioquic-tuned", payload, messages, rounds),
                run_rxyomo("quic", payload, messages, rounds),
                run_rxyomo("quic", payload, messages, rounds, max_datagram_size=8000),
                run_rxyomo("tcp", payload, messages, rounds),
            ):
                runs.setdefault((result.name, payload), []).append(result)
    results = [_median(samples) for samples in runs.values()]
    ratios = _ratios(results)

    # The consumer reads at a tenth of what rxyomo's QUIC sender managed above, so
    # the source writes 10x faster than it is consumed.
    fast = next(r for r in results if r.name == "rxyomo-quic" and r.payload_size == 40 * 1024)
    rate = fast.mb_per_s * 1e6 / 10
    total = (12 if args.quick else 40) * 1_000_000
    slow = [run_slow_consumer(which, rate, total) for which in ("rxyomo", "usual")]

    report = {
        "bench": "transport",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": multiprocessing.cpu_count(),
        "wall_seconds": time.perf_counter() - started,
        "repeats": repeats,
        "results": [r.as_dict() for r in results],
        "samples": {
            f"{name}@{payload}": [r.as_dict() for r in samples]
            for (name, payload), samples in runs.items()
        },
        "ratios": ratios,
        "slow_consumer": slow,
    }
    write_report("transport.json", report)
    _plot(results, slow, RESULTS / "transport.png")
    _print_table(results, ratios, slow)
    print(
        f"\nwrote {RESULTS / 'transport.json'} and transport.png in {report['wall_seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()

"""Point-to-point aioquic baselines: the usual way and a tuned integration.

Both send length-prefixed messages over one QUIC stream from a client in this
process to a server in a child process (so each side has its own core), and
measure:

- throughput: ``messages`` sink messages written back to back, then one echo
  message; the clock stops when the echo returns (so every message arrived);
- round trip: ``rounds`` echo messages, one at a time; p50 and p99.

``usual`` is aioquic as most code uses it: ``aioquic.asyncio.serve`` /
``connect`` with ``StreamReader``/``StreamWriter``. ``tuned`` drives
``QuicConnection`` directly: events handled in a callback, many datagrams read
per readiness event, one transmit per burst. Other benches import
:func:`run_baseline` and the helpers (:class:`FrameParser`, :func:`spawn_server`,
:class:`Result`) to measure their own stacks the same way.

Run ``python -m benches.quic_baselines`` for a quick look at both.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import resource
import socket
import ssl
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.server import serve as aioquic_serve
from aioquic.buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import HandshakeCompleted, StreamDataReceived
from aioquic.quic.packet import pull_quic_header

from rxyomo.transport.base import TlsConfig
from rxyomo.transport.certs import DevCertificates, dev_certificates

ALPN = "yomo-bench"
#: Stock aioquic writes a STREAM frame's length in two bytes: its packets stop at 16 KiB.
AIOQUIC_MAX_DATAGRAM = 16384
#: Frame header: payload length, kind.
HEADER = struct.Struct("!IB")
SINK, ECHO = 0, 1
_BATCH = 64


@dataclass
class Result:
    """One measured configuration."""

    name: str
    payload_size: int
    messages: int
    seconds: float
    messages_per_s: float
    mb_per_s: float
    rtt_rounds: int
    rtt_p50_ms: float
    rtt_p99_ms: float
    server_peak_rss_mb: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def frame(kind: int, payload: bytes) -> bytes:
    """One message on the wire."""
    return HEADER.pack(len(payload), kind) + payload


class FrameParser:
    """Splits a byte stream into (kind, payload) messages; fed chunk by chunk."""

    def __init__(self, on_message: Callable[[int, bytes], None]) -> None:
        self._buffer = bytearray()
        self._on_message = on_message

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        offset = 0
        size = len(buffer)
        while size - offset >= HEADER.size:
            length, kind = HEADER.unpack_from(buffer, offset)
            end = offset + HEADER.size + length
            if end > size:
                break
            self._on_message(kind, bytes(buffer[offset + HEADER.size : end]))
            offset = end
        if offset:
            del buffer[:offset]


async def time_phases(
    send_bulk: Callable[[], Awaitable[None]],
    round_trip: Callable[[], Awaitable[None]],
    rounds: int,
) -> tuple[float, list[float]]:
    """The two phases every client here runs, timed the same way: ``send_bulk`` (the sink
    messages) and one ``round_trip`` as the throughput phase, which ends when the echo is
    back; then ``rounds`` round trips, one at a time. Returns (seconds, round-trip times)."""
    started = time.perf_counter()
    await send_bulk()
    await round_trip()
    seconds = time.perf_counter() - started
    rtts = []
    for _ in range(rounds):
        sent = time.perf_counter()
        await round_trip()
        rtts.append(time.perf_counter() - sent)
    return seconds, rtts


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def certificates() -> DevCertificates:
    """Throwaway development certificates for benches."""
    return dev_certificates(Path(tempfile.gettempdir()) / "rxyomo-bench-certs")


def bench_tls(*, server: bool) -> TlsConfig:
    """rxyomo's TLS settings for a bench server (the bench certificate) or a client (which
    trusts the bench CA)."""
    dev = certificates()
    if server:
        return TlsConfig(certfile=dev.certfile, keyfile=dev.keyfile)
    return TlsConfig(cafile=dev.ca_certfile)


def quic_configuration(*, is_client: bool, max_datagram_size: int) -> QuicConfiguration:
    """A configuration both baselines share."""
    configuration = QuicConfiguration(
        is_client=is_client, alpn_protocols=[ALPN], max_datagram_size=max_datagram_size
    )
    if is_client:
        configuration.verify_mode = ssl.CERT_NONE
    else:
        dev = certificates()
        configuration.load_cert_chain(dev.certfile, dev.keyfile)
    return configuration


# -- child-process servers ---------------------------------------------------------------

ServerMain = Callable[[dict[str, Any], Callable[[int], None]], Awaitable[Any]]


def spawn_server(
    target: Callable[[dict[str, Any], multiprocessing.connection.Connection], None],
    settings: dict[str, Any],
) -> tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection, int]:
    """Start ``target`` in a child process; return it, its pipe and the port it bound."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(settings, child), daemon=True)
    process.start()
    if not parent.poll(30):
        process.kill()
        raise RuntimeError("bench server did not start within 30 s")
    port = int(parent.recv())
    return process, parent, port


def stop_server(
    process: multiprocessing.process.BaseProcess, pipe: multiprocessing.connection.Connection
) -> dict[str, Any]:
    """Ask the child to stop; return what it reported (peak RSS and its own figures)."""
    report: dict[str, Any] = {}
    try:
        pipe.send("stop")
        if pipe.poll(10):
            report = dict(pipe.recv())
    except (BrokenPipeError, EOFError, OSError):
        pass
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)
    return report


def run_server_process(
    main: ServerMain, settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    """Child side: run ``main`` until the parent says stop, then report."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_reader(pipe.fileno(), stop.set)
        extra = await main(settings, pipe.send)
        await stop.wait()
        loop.remove_reader(pipe.fileno())
        report = dict(extra() if callable(extra) else {})
        report["peak_rss_mb"] = peak_rss_mb()
        pipe.recv()
        pipe.send(report)

    asyncio.run(body())


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB.

    Linux's VmHWM belongs to the process's own memory map; ``ru_maxrss`` would
    start at the parent's size in a forked-then-exec'd child.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


# -- the usual way ---------------------------------------------------------------------


async def _usual_server(settings: dict[str, Any], report_port: Callable[[int], None]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(HEADER.size)
                length, kind = HEADER.unpack(header)
                payload = await reader.readexactly(length)
                if kind == ECHO:
                    writer.write(header + payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    tasks: set[asyncio.Task[None]] = set()

    def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await aioquic_serve(
        "127.0.0.1",
        0,
        configuration=quic_configuration(
            is_client=False, max_datagram_size=settings["max_datagram_size"]
        ),
        stream_handler=on_stream,
    )
    assert server._transport is not None
    report_port(server._transport.get_extra_info("sockname")[1])


def usual_server_process(
    settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    run_server_process(_usual_server, settings, pipe)


async def _usual_client(
    port: int, payload_size: int, messages: int, rounds: int, max_datagram_size: int
) -> tuple[float, list[float]]:
    configuration = quic_configuration(is_client=True, max_datagram_size=max_datagram_size)
    payload = bytes(payload_size)
    sink, echo = frame(SINK, payload), frame(ECHO, payload)
    async with aioquic_connect("127.0.0.1", port, configuration=configuration) as client:
        reader, writer = await client.create_stream()

        async def send_bulk() -> None:
            for _ in range(messages):
                writer.write(sink)
                await writer.drain()

        async def round_trip() -> None:
            writer.write(echo)
            await reader.readexactly(len(echo))

        return await time_phases(send_bulk, round_trip, rounds)


# -- the tuned integration ---------------------------------------------------------------


class TunedPeer:
    """One aioquic connection driven directly: callbacks, batched reads, one transmit a burst."""

    def __init__(
        self,
        sock: socket.socket,
        configuration: QuicConfiguration,
        on_data: Callable[[bytes], None],
        peer: tuple[str, int] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._configuration = configuration
        self._on_data = on_data
        self._peer = peer
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush: asyncio.Handle | None = None
        self.quic: QuicConnection | None = None
        self.connected: asyncio.Future[None] = self._loop.create_future()
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._readable)
        if peer is not None:
            self.quic = QuicConnection(configuration=configuration)
            self.quic.connect(peer, now=self._loop.time())
            self.transmit()

    def send(self, data: bytes) -> None:
        assert self.quic is not None
        self.quic.send_stream_data(0, data)
        if self._flush is None:
            self._flush = self._loop.call_soon(self.transmit)

    def close(self) -> None:
        if self.quic is not None:
            self.quic.close()
            self.transmit()
        if self._timer is not None:
            self._timer.cancel()
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def transmit(self) -> None:
        self._flush = None
        if self.quic is None:
            return
        for data, address in self.quic.datagrams_to_send(now=self._loop.time()):
            with contextlib.suppress(BlockingIOError):
                self._sock.sendto(data, address)
        timer_at = self.quic.get_timer()
        if timer_at != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if timer_at is None else self._loop.call_at(timer_at, self._fire)
            self._timer_at = timer_at

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.quic is not None:
            self.quic.handle_timer(now=self._loop.time())
            self._events()
            self.transmit()

    def _readable(self) -> None:
        now = self._loop.time()
        for _ in range(_BATCH):
            try:
                data, address = self._sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            if self.quic is None:
                header = pull_quic_header(Buffer(data=data), host_cid_length=8)
                self.quic = QuicConnection(
                    configuration=self._configuration,
                    original_destination_connection_id=header.destination_cid,
                )
            self.quic.receive_datagram(data, address, now=now)
        self._events()
        self.transmit()

    def _events(self) -> None:
        assert self.quic is not None
        event = self.quic.next_event()
        while event is not None:
            if isinstance(event, StreamDataReceived):
                self._on_data(event.data)
            elif isinstance(event, HandshakeCompleted) and not self.connected.done():
                self.connected.set_result(None)
            event = self.quic.next_event()


def _udp_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", port))
    return sock


async def _tuned_server(settings: dict[str, Any], report_port: Callable[[int], None]) -> None:
    sock = _udp_socket()
    holder: list[TunedPeer] = []

    def on_message(kind: int, payload: bytes) -> None:
        if kind == ECHO:
            holder[0].send(frame(ECHO, payload))

    parser = FrameParser(on_message)
    configuration = quic_configuration(
        is_client=False, max_datagram_size=settings["max_datagram_size"]
    )
    holder.append(TunedPeer(sock, configuration, parser.feed))
    report_port(sock.getsockname()[1])


def tuned_server_process(
    settings: dict[str, Any], pipe: multiprocessing.connection.Connection
) -> None:
    run_server_process(_tuned_server, settings, pipe)


async def _tuned_client(
    port: int, payload_size: int, messages: int, rounds: int, max_datagram_size: int
) -> tuple[float, list[float]]:
    configuration = quic_configuration(is_client=True, max_datagram_size=max_datagram_size)
    payload = bytes(payload_size)
    sink, echo = frame(SINK, payload), frame(ECHO, payload)
    replies: asyncio.Queue[None] = asyncio.Queue()
    parser = FrameParser(lambda kind, data: replies.put_nowait(None))
    peer = TunedPeer(_udp_socket(), configuration, parser.feed, peer=("127.0.0.1", port))

    async def send_bulk() -> None:
        for _ in range(messages):
            peer.send(sink)

    async def round_trip() -> None:
        peer.send(echo)
        await replies.get()

    try:
        await asyncio.wait_for(peer.connected, 10)
        return await time_phases(send_bulk, round_trip, rounds)
    finally:
        peer.close()


# -- running -------------------------------------------------------------------------------

Client = Callable[[int, int, int, int, int], Awaitable[tuple[float, list[float]]]]

BASELINES: dict[str, tuple[Callable[..., None], Client]] = {
    "aioquic-usual": (usual_server_process, _usual_client),
    "aioquic-tuned": (tuned_server_process, _tuned_client),
}


def measure(
    name: str,
    server: Callable[..., None],
    client: Client,
    payload_size: int,
    messages: int,
    rounds: int,
    *,
    max_datagram_size: int = 1200,
    timeout: float = 120.0,
    settings: dict[str, Any] | None = None,
) -> Result:
    """Run ``client`` against ``server`` (in a child process) and summarise."""
    server_settings = {"max_datagram_size": max_datagram_size, **(settings or {})}
    process, pipe, port = spawn_server(server, server_settings)
    try:
        seconds, rtts = asyncio.run(
            asyncio.wait_for(
                client(port, payload_size, messages, rounds, max_datagram_size), timeout
            )
        )
    finally:
        report = stop_server(process, pipe)
    total = messages * payload_size
    return Result(
        name=name,
        payload_size=payload_size,
        messages=messages,
        seconds=seconds,
        messages_per_s=messages / seconds,
        mb_per_s=total / seconds / 1e6,
        rtt_rounds=rounds,
        rtt_p50_ms=statistics.median(rtts) * 1e3 if rtts else float("nan"),
        rtt_p99_ms=percentile(rtts, 0.99) * 1e3 if rtts else float("nan"),
        server_peak_rss_mb=float(report.get("peak_rss_mb", float("nan"))),
    )


def run_baseline(
    name: str, payload_size: int, messages: int, rounds: int, *, max_datagram_size: int = 1200
) -> Result:
    """Measure one baseline (``"aioquic-usual"`` or ``"aioquic-tuned"``)."""
    server, client = BASELINES[name]
    return measure(
        name, server, client, payload_size, messages, rounds, max_datagram_size=max_datagram_size
    )


def main() -> None:
    for payload in (1024, 40 * 1024):
        count = 3000 if payload == 1024 else 300
        for name in BASELINES:
            result = run_baseline(name, payload, count, 200)
            print(
                f"{name:15} {payload:6} B  {result.messages_per_s:9.0f} msg/s "
                f"{result.mb_per_s:7.1f} MB/s  rtt p50 {result.rtt_p50_ms:.2f} ms "
                f"p99 {result.rtt_p99_ms:.2f} ms"
            )


if __name__ == "__main__":
    main()

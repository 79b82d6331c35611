"""Helpers for the transport tests: handlers that record, connected pairs, bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rxyomo.transport import (
    Channel,
    FlowControl,
    HandlerFactory,
    Listener,
    MemoryTransport,
    QuicTransport,
    StreamHandler,
    TcpTransport,
    TlsConfig,
    Transport,
    TransportOptions,
    dev_certificates,
)
from rxyomo.transport.memory import MemoryRegistry

T = TypeVar("T")

#: Every wait in these tests is bounded by this many seconds.
TIMEOUT = 15.0


async def within(awaitable: Awaitable[T], seconds: float = TIMEOUT) -> T:
    """Await with a bound, so no test can hang."""
    return await asyncio.wait_for(awaitable, seconds)


class Recorder(StreamHandler):
    """A handler that records everything a transport tells it."""

    def __init__(self, *, echo: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.echo = echo
        self.channel: Channel | None = None
        self.received = bytearray()
        self.made: asyncio.Future[Channel] = loop.create_future()
        self.lost: asyncio.Future[Exception | None] = loop.create_future()
        self.lost_calls = 0
        self.writing_paused = False
        self.pauses = 0
        self.resumes = 0
        #: Each count ``write_confirmed`` gave, in order.
        self.confirmations: list[int] = []
        self._changed = asyncio.Event()

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel
        self.made.set_result(channel)

    def data_received(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        self.received += data
        if self.echo and self.channel is not None:
            self.channel.write(data)
        self._changed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)
        self._changed.set()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self.pauses += 1
        self._changed.set()

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.resumes += 1
        self._changed.set()

    def write_confirmed(self, confirmed: int) -> None:
        self.confirmations.append(confirmed)
        self._changed.set()

    async def until(self, condition: Callable[[], bool], seconds: float = TIMEOUT) -> None:
        """Wait until ``condition()`` holds after some callback."""

        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await within(wait(), seconds)

    async def wait_bytes(self, count: int, seconds: float = TIMEOUT) -> bytes:
        await self.until(lambda: len(self.received) >= count, seconds)
        return bytes(self.received)


class Accepted:
    """A handler factory for servers that keeps the handlers it made."""

    def __init__(self, *, echo: bool = False) -> None:
        self.echo = echo
        self.handlers: list[Recorder] = []
        self._made = asyncio.Event()

    def __call__(self) -> Recorder:
        self.handlers.append(Recorder(echo=self.echo))
        self._made.set()
        return self.handlers[-1]

    async def first(self, seconds: float = TIMEOUT) -> Recorder:
        """The first server-side handler, once there is one."""
        await within(self._made.wait(), seconds)
        return self.handlers[0]


class _Tapped(StreamHandler):
    """Passes every callback on to ``inner``, noting the channel it was given."""

    def __init__(self, inner: StreamHandler, channels: list[Channel]) -> None:
        self.inner = inner
        self.channels = channels

    def connection_made(self, channel: Channel) -> None:
        self.channels.append(channel)
        self.inner.connection_made(channel)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def write_confirmed(self, confirmed: int) -> None:
        self.inner.write_confirmed(confirmed)


class Tap(Transport):
    """Another transport, unchanged, keeping the channel of every connection it makes or
    accepts: a test can then break, stall or measure a connection as the network would,
    through the :class:`Channel` interface only."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name
        self.liveness = inner.liveness
        #: Channels of the connections made by :meth:`connect`, oldest first.
        self.connected: list[Channel] = []
        #: Channels of the connections accepted by :meth:`serve`, oldest first.
        self.accepted: list[Channel] = []

    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        return await self.inner.serve(host, port, lambda: _Tapped(factory(), self.accepted))

    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        channel = await self.inner.connect(host, port, handler)
        self.connected.append(channel)
        return channel

    def accepted_from(self, peer: str) -> Channel:
        """The accepted channel whose other end is ``peer`` (as ``Channel.peer`` names it)."""
        [channel] = [c for c in self.accepted if c.peer == peer]
        return channel


@dataclass
class Pair:
    """A listener with one connection: the client and server ends and their handlers."""

    transport: Transport
    listener: Listener
    client: Recorder
    server: Recorder
    client_channel: Channel
    server_channel: Channel


#: Small watermarks and windows so backpressure shows with little data.
SMALL_FLOW = FlowControl(high_watermark=64 * 1024, low_watermark=16 * 1024)
QUIC_WINDOW = 256 * 1024


def make_transport(
    name: str, flow: FlowControl | None = None, *, tls: TlsConfig | None = None, **kwargs: Any
) -> Transport:
    """A transport of kind ``name`` whose clients trust the development CA (unless ``tls``
    says otherwise)."""
    options = TransportOptions(
        tls=tls if tls is not None else TlsConfig(cafile=dev_certificates().ca_certfile),
        flow=flow if flow is not None else FlowControl(),
    )
    if name == "memory":
        return MemoryTransport(options, registry=MemoryRegistry())
    if name == "tcp":
        kwargs.setdefault("handshake_timeout", 5.0)
        return TcpTransport(options, **kwargs)
    kwargs.setdefault("handshake_timeout", 5.0)
    kwargs.setdefault("receive_window", QUIC_WINDOW)
    kwargs.setdefault("idle_timeout", 10.0)
    return QuicTransport(options, **kwargs)


PairFactory = Callable[..., Awaitable[Pair]]
ServeFactory = Callable[..., Awaitable[Listener]]


async def serve_echo(
    serve: ServeFactory, name: str, **kwargs: Any
) -> tuple[Transport, int, Accepted]:
    """An echo server on a fresh transport of kind ``name``: the transport, its port and
    the handlers it accepted."""
    accepted = Accepted(echo=True)
    transport = make_transport(name, **kwargs)
    listener = await serve(transport, accepted)
    return transport, listener.address[1], accepted


async def check_echo(transport: Transport, host: str, port: int, payload: bytes) -> None:
    """Connect to the echo server at ``host:port``, check that ``payload`` comes back whole,
    then abort the connection and wait until it is released."""
    client = Recorder()
    channel = await within(transport.connect(host, port, client))
    channel.write(payload)
    assert await client.wait_bytes(len(payload)) == payload
    channel.abort()
    await within(channel.wait_closed())

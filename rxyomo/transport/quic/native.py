"""QUIC on the native core: quinn-proto's state machine (``rxyomo_quic``, built from
``native/quic``) driven from asyncio.

The native endpoint is sans-I/O like aioquic's connection, but one object holds every
connection of a socket, so the Python side crosses into it once per batch rather than
once per datagram and event: the socket is read (up to 64 datagrams) and written by the
endpoint itself through the file descriptor the driver owns, ``poll`` returns the events
of every connection touched as one list of ``(handle, kind, value)`` tuples, and one timer
serves them all. Channels (:mod:`.native_channel`) keep the interface's promises.

:data:`AVAILABLE` tells whether the extension is installed; :class:`NativeQuicTransport`
takes the same settings as :class:`~rxyomo.transport.quic.transport.QuicTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import logging
import os
import socket
import weakref
from collections.abc import Callable
from typing import Any

from rxyomo.transport._common import format_address
from rxyomo.transport._tls import check_cafile, server_credentials
from rxyomo.transport.base import (
    ALPN,
    Channel,
    HandlerFactory,
    Listener,
    StreamHandler,
    TransportError,
)
from rxyomo.transport.quic import transport as _base
from rxyomo.transport.quic.connection import MAX_UDP_PAYLOAD_SIZE
from rxyomo.transport.quic.native_channel import ACCEPTED, DRAINED, NativeChannel
from rxyomo.transport.quic.transport import MAX_DATAGRAM_SIZE, QuicTransport
from rxyomo.transport.quic.udp import Address

rxyomo_quic: Any
try:
    rxyomo_quic = importlib.import_module("rxyomo_quic")
except ImportError:  # not built: the aioquic core serves instead
    rxyomo_quic = None

__all__ = ["AVAILABLE", "CORES", "CORE_ENV", "NativeQuicTransport", "native_chosen"]

logger = logging.getLogger("rxyomo.transport.quic")

#: Whether the native core is installed.
AVAILABLE: bool = rxyomo_quic is not None

#: The environment variable that chooses the QUIC core when a transport does not.
CORE_ENV = "RXYOMO_QUIC_CORE"
#: The cores by name.
CORES = ("native", "aioquic")

_BATCH = 64
_SOCKET_BUFFER = 4 * 1024 * 1024
_SMALLEST = 1200


def native_chosen(core: str | None = None) -> bool:
    """Whether a QUIC transport runs on the native core: ``core`` ("native" or "aioquic"),
    else :data:`CORE_ENV`, else the native core when it is installed."""
    choice = core if core is not None else os.environ.get(CORE_ENV) or None
    if choice is None:
        return AVAILABLE
    if choice not in CORES:
        where = "core" if core is not None else CORE_ENV
        raise ValueError(f"{where} must be one of {', '.join(CORES)}, got {choice!r}")
    if choice == "native" and not AVAILABLE:
        raise TransportError(
            "the native QUIC core was asked for but rxyomo_quic is not installed "
            "(pip install ./native/quic)"
        )
    return choice == "native"


class Driver:
    """One native endpoint on one UDP socket: reads, events, transmits and the timer."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        endpoint: Any,
        sock: socket.socket,
        *,
        on_accept: Callable[[int, Address], NativeChannel | None] | None = None,
        on_error: Callable[[OSError], None] | None = None,
        on_forget: Callable[[], None] | None = None,
    ) -> None:
        self.loop = loop
        self.endpoint = endpoint
        self._sock = sock
        self._fd = sock.fileno()
        self._on_accept = on_accept
        self._on_error = on_error
        self._on_forget = on_forget
        self.channels: dict[int, NativeChannel] = {}
        self._scheduled: asyncio.Handle | None = None
        self._servicing = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.closed = False
        loop.add_reader(self._fd, self._read_ready)

    @property
    def local_address(self) -> Address:
        return self._sock.getsockname()

    def add(self, channel: NativeChannel) -> None:
        self.channels[channel.handle] = channel

    def forget(self, channel: NativeChannel) -> None:
        """``channel``'s connection is over; a client's socket goes with it."""
        self.channels.pop(channel.handle, None)
        if self._on_forget is not None:
            self._on_forget()
        elif not self.channels:
            self.close()

    def schedule(self) -> None:
        """Service soon (once, however many writes ask)."""
        if self._scheduled is None and not self._servicing and not self.closed:
            self._scheduled = self.loop.call_soon(self.service)

    def service(self) -> None:
        """Hand out the events, then send what is due and re-arm the timer."""
        self._scheduled = None
        if self.closed:
            return
        now = self.loop.time()
        self._servicing = True
        try:
            channels = self.channels
            for handle, kind, value in self.endpoint.poll(now):
                if kind == ACCEPTED:
                    if self._on_accept is not None:
                        self._on_accept(handle, value)
                    continue
                channel = channels.get(handle)
                if channel is not None:
                    channel.on_event(kind, value)
        finally:
            self._servicing = False
        if self._done():
            return
        _, failure = self.endpoint.transmit_to(self._fd, self.loop.time())
        if failure:
            self._report(OSError(failure, errno.errorcode.get(failure, "send failed")))
        self._arm()

    def _done(self) -> bool:
        # A channel's event may have closed a client's driver.
        return self.closed

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self.closed:
            return
        self.closed = True
        for handle in (self._timer, self._scheduled):
            if handle is not None:
                handle.cancel()
        self.loop.remove_reader(self._fd)
        self._sock.close()
        # Without the socket no connection of it can go on: each ends here and now.
        for channel in list(self.channels.values()):
            channel.on_event(DRAINED, None)

    def _read_ready(self) -> None:
        _, failure = self.endpoint.receive_from(self._fd, self.loop.time(), _BATCH)
        if failure:
            self._report(OSError(failure, errno.errorcode.get(failure, "receive failed")))
        if not self.closed:
            self.service()

    def _report(self, exc: OSError) -> None:
        if self._on_error is None:
            logger.debug("UDP error: %s", exc)
            return
        try:
            self._on_error(exc)
        except Exception:
            logger.exception("UDP error handler failed")

    def _arm(self) -> None:
        at = self.endpoint.timeout()
        current = self._timer_at
        # A later deadline keeps the armed timer: it fires, finds nothing due, re-arms.
        if at == current or (at is not None and current is not None and at > current):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if at is None else self.loop.call_at(at, self._fire)
        self._timer_at = at

    def _fire(self) -> None:
        at = self._timer_at
        self._timer = None
        self._timer_at = None
        if self.closed:
            return
        now = self.loop.time()
        self.endpoint.handle_timeout(now if at is None else max(now, at))
        self.service()


def _socket(family: int, address: Address) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):  # best effort: the system limit applies
                sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


class NativeQuicTransport(QuicTransport):
    """:class:`QuicTransport` on the native core; same settings, same behaviour."""

    def _endpoint(self, loop: asyncio.AbstractEventLoop, **tls: Any) -> Any:
        if rxyomo_quic is None:
            raise TransportError("the native QUIC core (rxyomo_quic) is not installed")
        return rxyomo_quic.Endpoint(
            loop.time(),
            alpn=ALPN.encode(),
            idle_timeout=self.idle_timeout,
            keepalive=self.keepalive,
            receive_window=self.receive_window,
            congestion=self.congestion_control,
            loopback_datagram_size=self.max_datagram_size or MAX_DATAGRAM_SIZE,
            datagram_size=self.max_datagram_size or _SMALLEST,
            max_udp_payload_size=MAX_UDP_PAYLOAD_SIZE,
            **tls,
        )

    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        """Listen on one UDP socket at ``host:port``."""
        certfile, keyfile = server_credentials(self.options.tls)
        loop = asyncio.get_running_loop()
        try:
            endpoint = self._endpoint(
                loop, certfile=str(certfile), keyfile=str(keyfile or certfile)
            )
        except ValueError as exc:
            raise TransportError(f"cannot load server certificate {certfile}: {exc}") from exc
        family, address = await _base._resolve(loop, host, port, passive=True)
        try:
            sock = _socket(family, address)
        except OSError as exc:
            raise TransportError(f"cannot listen on UDP {host}:{port}: {exc}") from exc
        return NativeServer(self, loop, endpoint, sock, factory)

    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        """Connect, complete the TLS handshake and return the channel (every address
        ``host`` resolves to is tried in turn while the previous one refuses at once)."""
        check_cafile(self.options.tls)
        loop = asyncio.get_running_loop()
        where = f"{host}:{port}"
        candidates = await _base._resolve_all(loop, host, port)
        for index, (family, address) in enumerate(candidates):
            try:
                return await self._connect_native(loop, family, address, host, where, handler)
            except _Refused as exc:
                if index == len(candidates) - 1:
                    raise TransportError(f"cannot connect to {where}: {exc}") from exc
        raise AssertionError("unreachable: getaddrinfo returned no address")

    async def _connect_native(
        self,
        loop: asyncio.AbstractEventLoop,
        family: int,
        address: Address,
        host: str,
        where: str,
        handler: StreamHandler,
    ) -> Channel:
        tls = self.options.tls
        endpoint = self._endpoint(loop)
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        try:
            sock = _socket(family, local)
            sock.connect(address)
        except OSError as exc:
            raise TransportError(f"cannot open a UDP socket to {where}: {exc}") from exc
        holder: list[NativeChannel] = []

        def on_error(exc: OSError) -> None:
            if not isinstance(exc, ConnectionRefusedError) or not holder:
                logger.debug("UDP error towards %s: %s", where, exc)
            elif holder[0].established:
                holder[0].fail(TransportError(f"{where} is unreachable: nothing listens there now"))
            else:
                holder[0].fail(_Refused(f"connection refused by {format_address(address)}"))

        driver = Driver(loop, endpoint, sock, on_error=on_error)
        try:
            handle = endpoint.connect(
                (address[0], address[1]),
                tls.server_name or host,
                loop.time(),
                cafile=None if tls.cafile is None else str(tls.cafile),
                verify=tls.verify,
            )
        except ValueError as exc:
            driver.close()
            raise TransportError(f"cannot connect to {where}: {exc}") from exc
        channel = NativeChannel(
            driver,
            handle,
            self.options.flow,
            where,
            is_client=True,
            handler=handler,
            close_timeout=self.close_timeout,
        )
        holder.append(channel)
        driver.add(channel)
        assert channel.handshake is not None
        driver.service()
        try:
            await asyncio.wait_for(channel.handshake, self.handshake_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            channel.fail(TransportError("handshake timed out"))
            driver.close()
            raise TransportError(
                f"QUIC handshake with {where} timed out after {self.handshake_timeout} s"
            ) from None
        except _Refused:
            driver.close()
            raise
        except TransportError as exc:
            driver.close()
            raise TransportError(f"cannot connect to {where}: {exc}") from exc
        return channel


class NativeServer(Listener):
    """One UDP socket and native endpoint; a channel per accepted connection."""

    def __init__(
        self,
        transport: NativeQuicTransport,
        loop: asyncio.AbstractEventLoop,
        endpoint: Any,
        sock: socket.socket,
        factory: HandlerFactory,
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._factory = factory
        self._accepting = True
        self._closed = asyncio.Event()
        endpoint.set_accepting(True, transport.max_connections)
        self.driver = Driver(
            loop,
            endpoint,
            sock,
            on_accept=self._accept,
            on_forget=self._maybe_finish,
        )

    @property
    def address(self) -> tuple[str, int]:
        local = self.driver.local_address
        return str(local[0]), int(local[1])

    def close(self) -> None:
        """Stop accepting; the socket closes once the last connection has ended."""
        self._accepting = False
        self.driver.endpoint.set_accepting(False, None)
        self._maybe_finish()

    async def wait_closed(self) -> None:
        """Wait until the listener stopped and its last connection ended."""
        await self._closed.wait()

    def _accept(self, handle: int, address: Address) -> NativeChannel:
        channel = NativeChannel(
            self.driver,
            handle,
            self._transport.options.flow,
            format_address(address),
            is_client=False,
            factory=self._factory,
            close_timeout=self._transport.close_timeout,
        )
        self.driver.add(channel)
        # A weak reference: the timer must not keep a finished connection alive.
        self._loop.call_later(self._transport.handshake_timeout, _expire, weakref.ref(channel))
        return channel

    def _maybe_finish(self) -> None:
        if self._accepting or self.driver.channels or self._closed.is_set():
            return
        self.driver.close()
        self._closed.set()


def _expire(ref: weakref.ref[NativeChannel]) -> None:
    channel = ref()
    if channel is not None and not channel.established and not channel.terminated:
        channel.fail(TransportError("handshake timed out"))


class _Refused(TransportError):
    """Nothing listens at one address (ICMP port unreachable during the handshake)."""

"""QUIC on the native core: quinn-proto's state machine (``rxyomo_quic``, built from
``native/quic``) driven from asyncio.

The native endpoint is sans-I/O like aioquic's connection, but one object holds every
connection of a socket, so Python crosses into it once per batch rather than once per
datagram and event (see :mod:`.native_driver`); channels (:mod:`.native_channel`) keep
the interface's promises.

:data:`AVAILABLE` tells whether the extension is installed, :func:`native_chosen` which
core a transport runs on; :class:`NativeQuicTransport` takes the same settings as
:class:`~rxyomo.transport.quic.transport.QuicTransport`, which becomes one by itself
when the native core is chosen.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import weakref
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
from rxyomo.transport.quic.native_channel import NativeChannel
from rxyomo.transport.quic.native_driver import Driver, udp_socket
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
            sock = udp_socket(family, address)
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
            sock = udp_socket(family, local)
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
            idle_timeout=self.idle_timeout,
            keepalive=self.keepalive,
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
            idle_timeout=self._transport.idle_timeout,
            keepalive=self._transport.keepalive,
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

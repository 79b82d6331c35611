"""QUIC transport on aioquic, integrated the fast way, with backpressure.

Each connection carries one bidirectional stream (the client opens stream 0)
with ALPN ``yomo`` over TLS 1.3. aioquic's sans-I/O ``QuicConnection`` is
driven directly: datagrams are read in batches from a non-blocking socket,
events are handled in a callback (no ``StreamReader``, no task per stream),
and ``datagrams_to_send`` runs once per burst. A server uses one UDP socket and
routes datagrams to connections by destination connection id.

aioquic never blocks a writer and grants credit as bytes arrive; here the
write buffer (bytes the peer has not acknowledged) raises ``pause_writing`` at
the high watermark, and a paused reader stops granting credit, so a slow peer
slows its writers instead of growing memory on either side.

On QUIC the client speaks first: a server can write as soon as its handler
starts, but its bytes leave once the client's first bytes have opened stream 0.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import socket
import ssl
from typing import Any

from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration

from rxyomo.transport._common import check_port, check_positive, format_address
from rxyomo.transport._tls import check_cafile, server_credentials
from rxyomo.transport.base import (
    ALPN,
    Channel,
    HandlerFactory,
    Listener,
    StreamHandler,
    Transport,
    TransportError,
    TransportOptions,
)
from rxyomo.transport.quic.channel import QuicChannel
from rxyomo.transport.quic.connection import StreamConnection, largest_packet_supported
from rxyomo.transport.quic.lifecycle import Phase
from rxyomo.transport.quic.server import QuicServer
from rxyomo.transport.quic.udp import Address, UdpEndpoint

__all__ = ["QuicTransport"]

logger = logging.getLogger("rxyomo.transport.quic")

#: The largest UDP payload over IPv4 (65535 less the IP and UDP headers). Frames are
#: written with four-byte lengths (see ``quic.connection``), so a packet may fill it.
MAX_DATAGRAM_SIZE = 65507
#: The datagram size chosen for loopback peers (their MTU is 64 KiB): aioquic's
#: cost is per packet, so larger packets carry large frames several times faster.
#: It is 1500 where the installed aioquic cannot encrypt larger packets (see
#: ``quic.connection.largest_packet_supported``).
LOOPBACK_DATAGRAM_SIZE = largest_packet_supported(MAX_DATAGRAM_SIZE)


class QuicTransport(Transport):
    """YoMo's byte stream over QUIC (aioquic).

    ``max_datagram_size`` is the largest UDP payload sent: aioquic's cost is per
    packet, so raising it (loopback, or links whose path MTU allows) is the lever
    for large frames. The default, None, chooses per connection: 1200 bytes
    (safe on every path) unless the peer is a loopback address, where
    :data:`LOOPBACK_DATAGRAM_SIZE` is used. Either way a connection never sends
    more than the peer's ``max_udp_payload_size`` allows, and 1200 bytes to a peer
    that announces none (see ``quic.connection``). ``receive_window`` is
    how many unread bytes a connection accepts before its sender must wait.

    Liveness is QUIC's own: a connection that hears nothing for the lower of both
    ends' idle timeouts (``idle_timeout`` here; YoMo's zipper announces 5 s) ends, and
    one that has sent nothing for ``keepalive`` seconds (default, and at most, a third
    of that) sends a PING, so an idle client, or a sender stalled by a paused reader,
    stays connected. A server refuses new connections (QUIC
    CONNECTION_REFUSED, at once rather than after a handshake timeout) once its
    listener is closed or it holds ``max_connections``. ``close()`` sends what is
    queued; if the peer has not taken it all within ``close_timeout`` seconds,
    the close becomes an abort.

    ``core`` chooses the QUIC implementation: "native" (quinn-proto, the ``rxyomo_quic``
    extension built from ``native/quic``) or "aioquic"; None means ``RXYOMO_QUIC_CORE``,
    else the native core when it is installed. The transport made is then a
    :class:`~rxyomo.transport.quic.native.NativeQuicTransport` or this class.
    """

    name = "quic"
    liveness = True

    def __new__(cls, *args: Any, **kwargs: Any) -> QuicTransport:
        # The core is chosen here so that every way of making a QUIC transport gets it.
        if cls is QuicTransport:
            from rxyomo.transport.quic.native import NativeQuicTransport, native_chosen

            if native_chosen(kwargs.get("core")):
                cls = NativeQuicTransport
        return super().__new__(cls)

    def __init__(
        self,
        options: TransportOptions | None = None,
        *,
        max_datagram_size: int | None = None,
        idle_timeout: float = 6.0,
        handshake_timeout: float = 10.0,
        receive_window: int = 1024 * 1024,
        congestion_control: str = "reno",
        max_connections: int | None = None,
        keepalive: float | None = None,
        close_timeout: float = 10.0,
        core: str | None = None,
    ) -> None:
        if max_datagram_size is not None:
            _check_datagram_size(max_datagram_size)
        check_positive(
            idle_timeout=idle_timeout,
            handshake_timeout=handshake_timeout,
            receive_window=receive_window,
            close_timeout=close_timeout,
        )
        if max_connections is not None:
            check_positive(max_connections=max_connections)
        self.options = options if options is not None else TransportOptions()
        self.max_datagram_size = max_datagram_size
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.receive_window = receive_window
        self.congestion_control = congestion_control
        self.max_connections = max_connections
        if keepalive is not None and not 0 < keepalive < idle_timeout:
            raise ValueError(
                f"keepalive must be positive and below idle_timeout ({idle_timeout}), "
                f"got {keepalive}"
            )
        #: Seconds of silence after which a connection sends a PING.
        self.keepalive = keepalive if keepalive is not None else idle_timeout / 3
        self.close_timeout = close_timeout

    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        """Listen on one UDP socket at ``host:port``."""
        configuration = self._configuration(is_client=False)
        certfile, keyfile = server_credentials(self.options.tls)
        try:
            configuration.load_cert_chain(certfile, keyfile)
        except (OSError, ValueError, IndexError) as exc:
            raise TransportError(f"cannot load server certificate {certfile}: {exc}") from exc
        loop = asyncio.get_running_loop()
        family, address = await _resolve(loop, host, port, passive=True)
        server = QuicServer(self, loop, configuration, factory)
        try:
            server.endpoint = UdpEndpoint.bind(
                loop, family, address, server.on_batch, server.on_error
            )
        except OSError as exc:
            raise TransportError(f"cannot listen on UDP {host}:{port}: {exc}") from exc
        return server

    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        """Connect, complete the TLS handshake and return the channel.

        Every address ``host`` resolves to is tried in turn while the previous one
        refuses at once (nothing listening), so ``localhost`` reaches a server on
        either ``127.0.0.1`` or ``::1``.
        """
        tls = self.options.tls
        check_cafile(tls)
        configuration = self._configuration(is_client=True)
        configuration.server_name = tls.server_name or host
        if not tls.verify:
            configuration.verify_mode = ssl.CERT_NONE
        elif tls.cafile is not None:
            configuration.load_verify_locations(cafile=str(tls.cafile))
        loop = asyncio.get_running_loop()
        where = f"{host}:{port}"
        candidates = await _resolve_all(loop, host, port)
        for index, (family, address) in enumerate(candidates):
            try:
                return await self._connect_to(loop, family, address, where, configuration, handler)
            except _Refused as exc:
                if index == len(candidates) - 1:
                    raise TransportError(f"cannot connect to {where}: {exc}") from exc
        raise AssertionError("unreachable: getaddrinfo returned no address")

    async def _connect_to(
        self,
        loop: asyncio.AbstractEventLoop,
        family: int,
        address: Address,
        where: str,
        configuration: QuicConfiguration,
        handler: StreamHandler,
    ) -> Channel:
        configuration = dataclasses.replace(
            configuration, max_datagram_size=self.datagram_size_for(address)
        )
        quic = StreamConnection(configuration=configuration, receive_window=self.receive_window)
        holder: list[QuicChannel] = []

        def on_batch(batch: list[tuple[bytes, Address]]) -> None:
            channel, now = holder[0], loop.time()
            for data, source in batch:
                channel.receive(data, source, now)
            channel.service()

        def on_error(exc: OSError) -> None:
            if not isinstance(exc, ConnectionRefusedError):
                logger.debug("UDP error towards %s: %s", where, exc)
            elif holder[0].phase is not Phase.CONNECTING:
                # ICMP port unreachable: the server process is gone.
                holder[0].fail(TransportError(f"{where} is unreachable: nothing listens there now"))
            else:
                holder[0].fail(_Refused(f"connection refused by {format_address(address)}"))

        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        try:
            endpoint = UdpEndpoint.bind(loop, family, local, on_batch, on_error)
            endpoint.connect(address)
        except OSError as exc:
            raise TransportError(f"cannot open a UDP socket to {where}: {exc}") from exc
        channel = QuicChannel(
            loop,
            quic,
            endpoint.send,
            self.options.flow,
            where,
            handler=handler,
            on_terminated=lambda _: endpoint.close(),
            keepalive=self.keepalive,
            close_timeout=self.close_timeout,
        )
        holder.append(channel)
        assert channel.handshake is not None
        quic.connect(address, now=loop.time())
        channel.transmit()
        try:
            await asyncio.wait_for(channel.handshake, self.handshake_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            channel.fail(TransportError("handshake timed out"))
            endpoint.close()
            raise TransportError(
                f"QUIC handshake with {where} timed out after {self.handshake_timeout} s"
            ) from None
        except _Refused:
            endpoint.close()
            raise
        except TransportError as exc:
            endpoint.close()
            raise TransportError(f"cannot connect to {where}: {exc}") from exc
        return channel

    def datagram_size_for(self, address: Address) -> int:
        """The datagram size used with a peer at ``address``."""
        if self.max_datagram_size is not None:
            return self.max_datagram_size
        host = address[0]
        if isinstance(host, str) and ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return LOOPBACK_DATAGRAM_SIZE
        return SMALLEST_MAX_DATAGRAM_SIZE

    def _configuration(self, *, is_client: bool) -> QuicConfiguration:
        return QuicConfiguration(
            is_client=is_client,
            alpn_protocols=[ALPN],
            max_datagram_size=self.max_datagram_size or SMALLEST_MAX_DATAGRAM_SIZE,
            idle_timeout=self.idle_timeout,
            max_stream_data=self.receive_window,
            # The stream window is the real bound; the connection limit must not bind first.
            max_data=2 * self.receive_window,
            congestion_control_algorithm=self.congestion_control,
        )


def _check_datagram_size(size: int) -> None:
    if not SMALLEST_MAX_DATAGRAM_SIZE <= size <= MAX_DATAGRAM_SIZE:
        raise ValueError(
            f"max_datagram_size must be in {SMALLEST_MAX_DATAGRAM_SIZE}.."
            f"{MAX_DATAGRAM_SIZE}, got {size}"
        )
    if size > largest_packet_supported(size):
        raise ValueError(
            f"max_datagram_size {size} is more than this aioquic build can encrypt (builds "
            "with C packet protection, such as 1.3 on Python 3.10, stop at 1500 bytes); "
            "upgrade aioquic or lower it"
        )


class _Refused(TransportError):
    """Nothing listens at one address (ICMP port unreachable during the handshake)."""


async def _resolve_all(
    loop: asyncio.AbstractEventLoop, host: str, port: int, *, passive: bool = False
) -> list[tuple[int, Address]]:
    check_port(port)
    try:
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE if passive else 0
        )
    except socket.gaierror as exc:
        raise TransportError(f"cannot resolve {host!r}: {exc}") from exc
    unique: dict[tuple[int, Address], None] = {}
    for family, _, _, _, address in infos:
        unique[(int(family), address)] = None
    return list(unique)


async def _resolve(
    loop: asyncio.AbstractEventLoop, host: str, port: int, *, passive: bool
) -> tuple[int, Address]:
    return (await _resolve_all(loop, host, port, passive=passive))[0]

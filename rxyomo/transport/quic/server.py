"""The QUIC server side: one UDP socket, datagrams routed to connections by connection id.

New connections start from a client's Initial packet; every later packet is
routed by its destination connection id (kept current as ids are issued and
retired). A closed or full listener answers an Initial with
CONNECTION_REFUSED so the client fails at once instead of timing out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from typing import TYPE_CHECKING

from aioquic.buffer import Buffer
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import (
    QuicErrorCode,
    QuicFrameType,
    QuicPacketType,
    encode_quic_version_negotiation,
    pull_quic_header,
)
from aioquic.quic.packet_builder import QuicPacketBuilder

from rxyomo.transport._common import format_address
from rxyomo.transport.base import HandlerFactory, Listener, TransportError
from rxyomo.transport.quic.channel import QuicChannel
from rxyomo.transport.quic.connection import StreamConnection
from rxyomo.transport.quic.lifecycle import Phase
from rxyomo.transport.quic.udp import Address, UdpEndpoint

if TYPE_CHECKING:
    from rxyomo.transport.quic.transport import QuicTransport

logger = logging.getLogger("rxyomo.transport.quic")


class QuicServer(Listener):
    """One UDP socket; datagrams routed to connections by destination connection id."""

    def __init__(
        self,
        transport: QuicTransport,
        loop: asyncio.AbstractEventLoop,
        configuration: QuicConfiguration,
        factory: HandlerFactory,
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._configuration = configuration
        self._factory = factory
        self._routes: dict[bytes, QuicChannel] = {}
        self._cids: dict[QuicChannel, set[bytes]] = {}
        self._accepting = True
        self._closed = asyncio.Event()
        self.endpoint: UdpEndpoint | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self.endpoint is not None
        local = self.endpoint.local_address
        return str(local[0]), int(local[1])

    def close(self) -> None:
        """Stop accepting; the socket closes once the last connection has ended."""
        self._accepting = False
        self._maybe_finish()

    async def wait_closed(self) -> None:
        """Wait until the listener stopped and its last connection ended."""
        await self._closed.wait()

    def on_batch(self, batch: list[tuple[bytes, Address]]) -> None:
        now = self._loop.time()
        touched: dict[QuicChannel, None] = {}
        for data, address in batch:
            channel = self._route(data, address, now)
            if channel is not None and not channel.terminated:
                channel.receive(data, address, now)
                touched[channel] = None
        for channel in touched:
            channel.service()

    def on_error(self, exc: OSError) -> None:
        logger.debug("UDP error on server socket: %s", exc)

    def _route(self, data: bytes, address: Address, now: float) -> QuicChannel | None:
        configuration = self._configuration
        if data and not data[0] & 0x80:
            # Short header (almost every packet): the destination id sits at a fixed place.
            return self._routes.get(data[1 : 1 + configuration.connection_id_length])
        try:
            header = pull_quic_header(
                Buffer(data=data), host_cid_length=configuration.connection_id_length
            )
        except ValueError:
            return None
        if (
            header.version is not None
            and header.packet_type != QuicPacketType.VERSION_NEGOTIATION
            and header.version not in configuration.supported_versions
        ):
            assert self.endpoint is not None
            self.endpoint.send(
                encode_quic_version_negotiation(
                    source_cid=header.destination_cid,
                    destination_cid=header.source_cid,
                    supported_versions=configuration.supported_versions,
                ),
                address,
            )
            return None
        channel = self._routes.get(header.destination_cid)
        if (
            channel is None
            and header.packet_type == QuicPacketType.INITIAL
            and len(data) >= SMALLEST_MAX_DATAGRAM_SIZE
            and header.version is not None
        ):
            limit = self._transport.max_connections
            if not self._accepting:
                self._refuse(
                    header.version,
                    header.destination_cid,
                    header.source_cid,
                    address,
                    "not accepting connections",
                )
            elif limit is not None and len(self._cids) >= limit:
                self._refuse(
                    header.version,
                    header.destination_cid,
                    header.source_cid,
                    address,
                    "too many connections",
                )
            else:
                channel = self._accept(header.destination_cid, address)
        return channel

    def _refuse(
        self, version: int, client_dcid: bytes, client_scid: bytes, address: Address, why: str
    ) -> None:
        # An Initial packet carrying CONNECTION_CLOSE(CONNECTION_REFUSED), keyed from
        # the client's destination id as every Initial is: the client fails at once.
        crypto = CryptoPair()
        crypto.setup_initial(cid=client_dcid, is_client=False, version=version)
        builder = QuicPacketBuilder(
            host_cid=client_dcid,
            peer_cid=client_scid,
            version=version,
            is_client=False,
            max_datagram_size=SMALLEST_MAX_DATAGRAM_SIZE,
        )
        builder.start_packet(QuicPacketType.INITIAL, crypto)
        reason = why.encode()
        buf = builder.start_frame(QuicFrameType.TRANSPORT_CLOSE, capacity=32 + len(reason))
        buf.push_uint_var(QuicErrorCode.CONNECTION_REFUSED)
        buf.push_uint_var(QuicFrameType.PADDING)
        buf.push_uint_var(len(reason))
        buf.push_bytes(reason)
        datagrams, _ = builder.flush()
        assert self.endpoint is not None
        for datagram in datagrams:
            self.endpoint.send(datagram, address)

    def _accept(self, original_cid: bytes, address: Address) -> QuicChannel:
        assert self.endpoint is not None
        configuration = dataclasses.replace(
            self._configuration, max_datagram_size=self._transport.datagram_size_for(address)
        )
        quic = StreamConnection(
            configuration=configuration,
            original_destination_connection_id=original_cid,
            receive_window=self._transport.receive_window,
        )
        channel = QuicChannel(
            self._loop,
            quic,
            self.endpoint.send,
            self._transport.options.flow,
            format_address(address),
            factory=self._factory,
            on_connection_id=self._connection_id,
            on_terminated=self._terminated,
            keepalive=self._transport.keepalive,
            close_timeout=self._transport.close_timeout,
        )
        self._cids[channel] = set()
        self._connection_id(channel, original_cid, True)
        self._connection_id(channel, quic.host_cid, True)
        # A weak reference: the timer must not keep a finished connection (its buffers and
        # crypto state) alive until the timeout, or churn would pile them up.
        self._loop.call_later(self._transport.handshake_timeout, self._expire, weakref.ref(channel))
        return channel

    def _expire(self, ref: weakref.ref[QuicChannel]) -> None:
        channel = ref()
        if channel is not None and channel.phase is Phase.CONNECTING:
            channel.fail(TransportError("handshake timed out"))

    def _connection_id(self, channel: QuicChannel, cid: bytes, issued: bool) -> None:
        cids = self._cids.get(channel)
        if cids is None:
            return
        if issued:
            cids.add(cid)
            self._routes[cid] = channel
        else:
            cids.discard(cid)
            if self._routes.get(cid) is channel:
                del self._routes[cid]

    def _terminated(self, channel: QuicChannel) -> None:
        for cid in self._cids.pop(channel, ()):
            if self._routes.get(cid) is channel:
                del self._routes[cid]
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._accepting or self._cids or self._closed.is_set():
            return
        if self.endpoint is not None:
            self.endpoint.close()
        self._closed.set()

"""One accepted connection of the zipper: the asyncio adapter between a transport
channel, the connection's protocol core and its delivery accounting.

It moves bytes and timers and asks the pure objects what to do: the core
(:class:`~rxyomo.protocol.connection.Connection`) for the protocol,
:class:`~rxyomo.delivery.destination.DestinationDelivery` for the frames sent to it and
:class:`~rxyomo.delivery.settlement.Settlement` for the receipts of the frames it sent.
What it learns goes to its owner, a :class:`PeerOwner` (the zipper's router).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from rxyomo._timer import CoreTimer
from rxyomo.delivery.destination import LOST_IN_FLIGHT, DestinationDelivery
from rxyomo.delivery.ledger import Ledger
from rxyomo.delivery.settlement import Settlement, Ticket
from rxyomo.protocol.connection import Connection, ConnectionConfig, ConnectionState, Role
from rxyomo.protocol.events import ConnectionTerminated, DataReceived, Event, HandshakeReceived
from rxyomo.protocol.extensions import RECEIPTS
from rxyomo.protocol.frames import DataFrame
from rxyomo.transport.base import Channel, StreamHandler
from rxyomo.zipper.stats import ConnectionStats, ZipperStats

__all__ = ["ARRIVED_CLOSED", "Peer", "PeerOwner"]

log = logging.getLogger("rxyomo.zipper")

#: Drop reason: frames that arrived on a connection already closed (or rejected).
ARRIVED_CLOSED = "arrived on a closed connection"


class PeerOwner(Protocol):
    """What a :class:`Peer` tells the zipper, and asks of it."""

    #: The zipper's counters.
    stats: ZipperStats

    def arrived(self, peer: Peer) -> str | None:
        """A connection arrived: None to take it, or why to turn it away at its handshake."""

    def handshake(self, peer: Peer, event: HandshakeReceived) -> list[Event]:
        """The client's handshake came (and the connection was not turned away on
        arrival): accept or reject it; the core's events."""

    def data(self, peer: Peer, frame: DataFrame) -> None:
        """A data frame arrived from ``peer``: route it."""

    def queued(self, peer: Peer) -> None:
        """Frames were queued on ``peer``: flush it once the current input is handled."""

    def input_handled(self) -> None:
        """A chunk of input was handled: flush what it routed, and settle soon."""

    def released(self, *, now: bool = False) -> None:
        """Tickets were released: send the receipts due, soon (or ``now``)."""

    def congested(self, peer: Peer) -> None:
        """``peer``'s transport buffer passed its high watermark."""

    def drained(self, peer: Peer) -> None:
        """``peer``'s transport buffer drained below its low watermark."""

    def gone(self, peer: Peer) -> None:
        """``peer`` is closed or lost: forget it."""


class Peer(StreamHandler):
    """One accepted connection: feeds the protocol core and acts on its events."""

    def __init__(self, owner: PeerOwner, conn_id: int, config: ConnectionConfig) -> None:
        self.owner = owner
        self.conn_id = conn_id
        self.loop = asyncio.get_running_loop()
        self.core = Connection(Role.SERVER, self.loop.time(), config)
        self.channel: Channel | None = None
        self.stats = ConnectionStats(name="", peer="")
        #: The frames sent to this peer that its transport has not confirmed.
        self.delivery = DestinationDelivery()
        #: This client's frames until they are settled, when it agreed to receipts.
        self.settlement: Settlement | None = None
        #: Why this connection is turned away once its handshake arrives (the zipper was
        #: full when it came): a handshake tells whether the client takes a Goaway.
        self.refusal: str | None = None
        self._timer = CoreTimer(self.loop, self._on_timer)

    @property
    def ledger(self) -> Ledger[Ticket | None]:
        """The frames sent to this peer that its transport has not confirmed, by ticket."""
        return self.delivery.ledger

    @property
    def client_type(self) -> int | None:
        """What kind of client it is, once its handshake came."""
        handshake = self.core.handshake
        return handshake.client_type if handshake is not None else None

    @property
    def is_open(self) -> bool:
        """Whether the connection is handshaken and takes frames."""
        return self.core.state is ConnectionState.OPEN

    # transport callbacks

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel
        self.stats.peer = channel.peer
        self.refusal = self.owner.arrived(self)
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        discarded = self.core.frames_discarded
        self._handle(self.core.receive_data(data, self.loop.time()))
        if self.core.frames_discarded != discarded:
            self.owner.stats.drop(ARRIVED_CLOSED, self.core.frames_discarded - discarded)
        # Frames routed from this chunk go out together: one write per destination.
        self.owner.input_handled()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed by the peer"
        self._handle(self.core.connection_lost(reason))
        self._forget()
        # Nothing more will be acknowledged: what was not is counted, never lost silently.
        channel = self.channel
        confirmed = channel.confirmed_bytes(self.core.bytes_queued) if channel is not None else 0
        loss = self.delivery.ended(confirmed)
        if loss.lost:
            self.owner.stats.drop(LOST_IN_FLIGHT, loss.lost)
            log.warning(
                "%d frames were in flight to %s (%s) when it was lost",
                loss.lost,
                self.conn_id,
                self.stats.name,
            )
        if loss.released:
            # Their writers learn at once: the frames are settled, some as dropped.
            self.owner.released(now=True)

    def pause_writing(self) -> None:
        self.owner.congested(self)

    def resume_writing(self) -> None:
        self.owner.drained(self)

    def write_confirmed(self, confirmed: int) -> None:
        if self.delivery.acknowledged(confirmed):
            self.owner.released()

    # what the zipper does with this connection

    def accept(self, extensions: frozenset[str]) -> list[Event]:
        """Accept the handshake, agreeing to those of ``extensions`` the client offered;
        the core's events (frames it pipelined behind its handshake)."""
        events = self.core.accept(self.loop.time(), extensions)
        if RECEIPTS in self.core.extensions:
            self.settlement = Settlement()  # counting from the client's first data frame
        return events

    def reject(self, reason: str) -> list[Event]:
        """Reject the handshake for ``reason``; the core's events."""
        return self.core.reject(reason, self.loop.time())

    def send(self, encoded: bytes, size: int, ticket: Ticket | None = None) -> None:
        """Queue an encoded data frame and account for it; the zipper flushes it.

        ``ticket`` (the frame's, when its writer asked for receipts) is held until this
        connection's transport confirms the frame.
        """
        self.delivery.sent(self.core.send_encoded(encoded, self.loop.time()), ticket)
        self.stats.frames_out += 1
        self.stats.bytes_out += size
        self.owner.queued(self)

    def send_control(self, frame: DataFrame, size: int) -> None:
        """Queue a frame about delivery (a stats reply) outside the delivery ledger: like a
        receipt, it is not itself a frame whose fate is counted."""
        self.core.send_control(frame, self.loop.time())
        self.stats.frames_out += 1
        self.stats.bytes_out += size
        self.owner.queued(self)

    def send_receipt(self) -> bool:
        """Send this client's receipt if one is due; returns whether any of its frames
        are still to settle (False too once the connection takes no more frames)."""
        settlement = self.settlement
        if settlement is None or not self.is_open:
            return False
        due = settlement.advance()
        if due is not None:
            self.core.send_control(due, self.loop.time())
            self.flush()
        return bool(settlement.pending)

    def flush(self) -> None:
        """Hand what is queued to the transport (``write_confirmed`` tells the rest)."""
        data = self.core.data_to_send()
        if data and self.channel is not None and not self.channel.is_closing():
            self.channel.write(data)

    def pause_reading(self) -> None:
        """Stop reading from this connection (a destination it feeds is slow)."""
        if self.channel is not None:
            self.channel.pause_reading()

    def resume_reading(self) -> None:
        """Undo :meth:`pause_reading`."""
        if self.channel is not None:
            self.channel.resume_reading()

    def close(self, message: str) -> None:
        """Say Goaway (to an rxyomo client) with ``message``, hand over what is queued,
        and close the channel."""
        self.core.close(message, self.loop.time())
        self.flush()
        self._close_channel()

    # protocol events

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, DataReceived):
                self.owner.data(self, event.frame)
            elif isinstance(event, HandshakeReceived):
                if self.refusal is not None:
                    self.core.close(self.refusal, self.loop.time())
                else:
                    # Frames the client pipelined behind its handshake come with the decision.
                    self._handle(self.owner.handshake(self, event))
            elif isinstance(event, ConnectionTerminated):
                log.info(
                    "connection %s (%s) closed: %s", self.conn_id, self.stats.name, event.reason
                )
        self.flush()
        if self.core.state is ConnectionState.CLOSED:
            self._close_channel()
        else:
            self._arm_timer()

    def _close_channel(self) -> None:
        channel = self.channel
        if channel is not None and not channel.is_closing():
            channel.abort() if self.core.peer_expired else channel.close()
        self._forget()

    def _forget(self) -> None:
        self._timer.cancel()
        self.owner.gone(self)

    def _arm_timer(self) -> None:
        self._timer.arm(self.core.next_timer())

    def _on_timer(self) -> None:
        self._handle(self.core.handle_timer(self.loop.time()))

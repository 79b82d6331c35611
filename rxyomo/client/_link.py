"""One connection attempt of a client: the asyncio adapter between a transport channel,
the protocol core and the connection's delivery accounting.

It moves bytes and timers and asks the pure objects what to do: the core
(:class:`~rxyomo.protocol.connection.Connection`) for the protocol, and
:class:`~rxyomo.delivery.link.LinkDelivery` for which frames are confirmed. What it
learns goes to its owner through :class:`LinkHooks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from rxyomo._timer import CoreTimer
from rxyomo.delivery.link import LinkDelivery
from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.stats import CLOSED_UNCONFIRMED, LOST_UNCONFIRMED
from rxyomo.protocol.connection import Connection, ConnectionConfig, ConnectionState, Role
from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.events import (
    ConnectionTerminated,
    ConnectToReceived,
    DataReceived,
    Event,
    HandshakeAccepted,
)
from rxyomo.protocol.extensions import RECEIPTS
from rxyomo.protocol.frames import DataFrame, HandshakeFrame
from rxyomo.protocol.receipts import decode_receipt
from rxyomo.protocol.reserved import RECEIPT_TAG
from rxyomo.transport.base import Channel, StreamHandler, TransportError

log = logging.getLogger("rxyomo.client")

#: Bytes of frames a link queues before it hands them to the transport regardless.
COALESCE_BYTES = 64 * 1024


class ConnectionRejected(Exception):
    """The zipper refused this client (bad token, unknown name); it will not retry."""


@dataclass(frozen=True)
class LinkHooks:
    """What a link tells its owner."""

    #: A data frame arrived.
    frame: Callable[[DataFrame], None]
    #: Some frames were confirmed, dropped or lost track of.
    outcome: Callable[[Outcome[object]], None]
    #: The connection opened: whether the zipper agreed to receipts, and whether it is an
    #: rxyomo zipper.
    opened: Callable[[bool, bool], None]
    #: The zipper asked the client to move to this endpoint.
    redirect: Callable[[str], None]
    #: Data frames arrived after this end closed and were not handled.
    discarded: Callable[[int], None]


class Link(StreamHandler):
    """One connection attempt: a protocol core and its delivery bound to a channel."""

    def __init__(
        self,
        name: str,
        handshake: HandshakeFrame,
        config: ConnectionConfig,
        hooks: LinkHooks,
        writable: asyncio.Event,
    ) -> None:
        self.name = name
        self.loop = asyncio.get_running_loop()
        self.core = Connection(Role.CLIENT, self.loop.time(), config)
        self.delivery: LinkDelivery[object] = LinkDelivery()
        self.channel: Channel | None = None
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.ended: asyncio.Future[ConnectionTerminated] = self.loop.create_future()
        #: Set while the connection is open and its transport takes more (the owner's
        #: event: its writers wait on it across connections).
        self.writable = writable
        #: Resolved once the transport reported the connection gone.
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self._handshake = handshake
        self._hooks = hooks
        self._timer = CoreTimer(self.loop, self._on_timer)
        self._flush_handle: asyncio.Handle | None = None
        self._flushed_at = 0
        # Set on every confirmation or receipt: what close() waits on.
        self._progress = asyncio.Event()

    # transport callbacks

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel
        self.core.send_handshake(self._handshake, self.loop.time())
        self._after()

    def data_received(self, data: bytes) -> None:
        discarded = self.core.frames_discarded
        self._handle(self.core.receive_data(data, self.loop.time()))
        if self.core.frames_discarded != discarded:
            self._hooks.discarded(self.core.frames_discarded - discarded)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed"
        self._handle(self.core.connection_lost(reason))
        self.finish(LOST_UNCONFIRMED)
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        if self.core.state is ConnectionState.OPEN:
            self.writable.set()

    def write_confirmed(self, confirmed: int) -> None:
        self._report(self.delivery.acknowledged(confirmed))

    # sending

    def send(self, frame: DataFrame, key: object = None) -> None:
        """Queue a data frame; ``key`` names it in the delivery accounting."""
        self.delivery.sent(self.core.send_data(frame, self.loop.time()), key)
        self._queued()

    def send_encoded(self, encoded_frame: bytes, key: object = None) -> None:
        """Queue an already encoded data frame, as :meth:`send`."""
        self.delivery.sent(self.core.send_encoded(encoded_frame, self.loop.time()), key)
        self._queued()

    def send_control(self, frame: DataFrame) -> None:
        """Queue a frame outside the delivery accounting (a stats request)."""
        self.core.send_control(frame, self.loop.time())
        self._queued()

    def _queued(self) -> None:
        # A burst of writes reaches the transport as one write: flushed once the
        # writer yields to the loop, or at once when enough has piled up (which
        # also bounds what sits here before the transport's watermarks see it).
        if self.core.bytes_queued - self._flushed_at >= COALESCE_BYTES:
            self.flush()
        elif self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Hand every queued frame to the transport now."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._flushed_at = self.core.bytes_queued
        self._after()

    def close(self, message: str) -> None:
        """Say Goaway and close the channel."""
        self.core.close(message, self.loop.time())
        self._after()

    def abort(self) -> None:
        """Cut the connection unless it is closing already (no Goaway either way), and
        count what it did not confirm."""
        channel = self.channel
        if channel is not None and not channel.is_closing():
            channel.abort()
            self.finish(CLOSED_UNCONFIRMED)

    def pause_reading(self) -> None:
        """Stop reading from the zipper (the owner's inbox is full)."""
        if self.channel is not None:
            self.channel.pause_reading()

    def resume_reading(self) -> None:
        """Undo :meth:`pause_reading`."""
        if self.channel is not None:
            self.channel.resume_reading()

    # closing

    async def drain(self, deadline: float, message: str = "client closing") -> None:
        """Close gracefully by the loop's clock ``deadline``: hand everything queued to
        the transport, wait until it confirms all of it (with receipts: until the zipper
        settled every frame), then say Goaway with ``message`` and close the channel."""
        if self.channel is None or self.core.state is not ConnectionState.OPEN:
            return
        self.flush()
        await self.until(lambda: self.all_confirmed_by_transport, deadline)
        if self.delivery.receipts:
            # Give the zipper the rest of the time to confirm what it was sent.
            await self.until(lambda: not self.delivery.in_flight, deadline)
        self.close(message)

    async def wait_lost(self, deadline: float) -> None:
        """Wait, up to ``deadline``, for the transport to finish the close, so that late
        acknowledgements count; cut the connection if it has not by then (so that what is
        counted dropped stays dropped). Then count what it did not confirm."""
        if self.channel is not None and not self.lost.done():
            with contextlib.suppress(asyncio.TimeoutError):
                remaining = max(deadline - self.loop.time(), 0)
                await asyncio.wait_for(asyncio.shield(self.lost), remaining)
            if not self.lost.done():
                self.channel.abort()
        self.finish(CLOSED_UNCONFIRMED)

    # delivery

    @property
    def all_confirmed_by_transport(self) -> bool:
        """Whether the transport confirmed every byte handed to it."""
        return self.delivery.acknowledged_bytes >= self.delivery.handed

    async def until(self, condition: Callable[[], bool], deadline: float) -> bool:
        """Wait until ``condition()`` holds after a confirmation, a receipt or the loss of
        the connection, or the loop's clock passes ``deadline``; returns ``condition()``."""
        while not condition() and not self.lost.done():
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                break
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), remaining)
            except asyncio.TimeoutError:
                break
        return condition()

    def finish(self, reason: str) -> None:
        """The connection is over: count what it did not confirm, once."""
        channel = self.channel
        if channel is not None:
            # Confirmations the transport had not told yet still count.
            self.delivery.acknowledged(channel.confirmed_bytes(self.delivery.handed))
        self._report(self.delivery.ended(reason))

    def _report(self, outcome: Outcome[object]) -> None:
        if not outcome.empty:
            self._hooks.outcome(outcome)
        self._progress.set()

    def _on_receipt(self, frame: DataFrame) -> None:
        try:
            count, drops = decode_receipt(frame)
        except ProtocolError as exc:
            log.warning("%s: ignored a malformed receipt: %s", self.name, exc)
            return
        if not self.delivery.receipts:
            log.warning("%s: ignored a receipt the zipper did not agree to send", self.name)
            return
        outcome = self.delivery.receipt(count, drops)
        if outcome is None:
            return  # stale or repeated: counts only grow
        if outcome.excess:
            log.warning(
                "%s: the zipper settled %d frames more than were in flight",
                self.name,
                outcome.excess,
            )
        self._report(outcome)

    # protocol events

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, HandshakeAccepted):
                receipts = RECEIPTS in event.extensions
                self.delivery.opened(receipts)
                self._hooks.opened(receipts, self.core.peer_is_rxyomo)
                self.writable.set()
                if not self.opened.done():
                    self.opened.set_result(None)
            elif isinstance(event, DataReceived):
                if event.frame.tag == RECEIPT_TAG:
                    self._on_receipt(event.frame)
                else:
                    self._hooks.frame(event.frame)
            elif isinstance(event, ConnectToReceived):
                log.info("%s: zipper asks to move to %s", self.name, event.endpoint)
                self._hooks.redirect(event.endpoint)
            elif isinstance(event, ConnectionTerminated):
                self.writable.clear()
                if not self.ended.done():
                    self.ended.set_result(event)
                if not self.opened.done():
                    self.opened.set_exception(
                        ConnectionRejected(event.reason)
                        if not event.reconnect
                        else TransportError(event.reason)
                    )
                    self.opened.exception()  # retrieved here; the run loop reads `ended`
        self._after()

    def _after(self) -> None:
        data = self.core.data_to_send()
        channel = self.channel
        if data and channel is not None and not channel.is_closing():
            channel.write(data)
            self.delivery.handed_over(self.core.bytes_queued)
        if self.core.state is ConnectionState.CLOSED:
            self._timer.cancel()
            if channel is not None and not channel.is_closing():
                channel.abort() if self.core.peer_expired else channel.close()
            return
        # Re-armed when the deadline comes earlier (the handshake's timeout gives way to
        # the heartbeat once open); a later one is left to the early timer's re-check.
        self._timer.arm(self.core.next_timer())

    def _on_timer(self) -> None:
        self._handle(self.core.handle_timer(self.loop.time()))

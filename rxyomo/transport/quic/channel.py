"""One QUIC connection as a :class:`Channel`: events by callback, one transmit per burst.

The owner (a client's socket or a server's demultiplexer) feeds datagrams with
:meth:`QuicChannel.receive` and calls :meth:`QuicChannel.service` once per
batch; writes schedule a single service with ``call_soon``, so a burst of
writes costs one ``datagrams_to_send``. Timers use ``loop.call_at`` with the
connection's ``get_timer``/``handle_timer``.

Flow control both ways: the write buffer is what the peer has not acknowledged
(watermarks drive ``pause_writing``/``resume_writing``), and a paused reader
holds what arrives and stops granting credit (see :mod:`.connection`).

The channel's life is one :class:`~.lifecycle.Phase`, moved only through the table in
:mod:`.lifecycle`; every way a connection ends goes through :meth:`QuicChannel._finish`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aioquic.quic import events
from aioquic.quic.packet import QuicErrorCode

from rxyomo.transport._common import ChannelBase, check_bytes_like
from rxyomo.transport._flow import ReadGate, WriteWatermarks, call_hook
from rxyomo.transport.base import ALPN, FlowControl, HandlerFactory, StreamHandler, TransportError
from rxyomo.transport.quic.connection import DATA_STREAM, StreamConnection
from rxyomo.transport.quic.errors import ERROR_ABORTED, ERROR_PROTOCOL, termination_error
from rxyomo.transport.quic.lifecycle import Phase, Trigger, advance
from rxyomo.transport.quic.outgoing import DataStreamWriter
from rxyomo.transport.quic.timers import ChannelTimers
from rxyomo.transport.quic.udp import Address

logger = logging.getLogger("rxyomo.transport.quic")

#: What goes in our CONNECTION_CLOSE: an error code and a reason phrase.
Close = tuple[int, str]
_IN_ORDER: Close = (QuicErrorCode.NO_ERROR, "")


class QuicChannel(ChannelBase):
    """The interface's channel over one aioquic connection.

    It is released (``wait_closed`` returns) once the connection has terminated, after its
    closing period.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        quic: StreamConnection,
        send: Callable[[bytes, Address], None],
        flow: FlowControl,
        peer: str,
        *,
        handler: StreamHandler | None = None,
        factory: HandlerFactory | None = None,
        on_connection_id: Callable[[QuicChannel, bytes, bool], None] | None = None,
        on_terminated: Callable[[QuicChannel], None] | None = None,
        keepalive: float | None = None,
        close_timeout: float | None = None,
    ) -> None:
        super().__init__(peer)
        self._loop = loop
        self.quic = quic
        self._send = send
        self._phase = Phase.CONNECTING
        # The handler once started (the one told of the end): None before the handshake,
        # and when it failed to start.
        self._handler: StreamHandler | None = None
        self._given = handler
        self._factory = factory
        self._on_connection_id = on_connection_id
        self._on_terminated = on_terminated
        self._watermarks = WriteWatermarks(flow)
        self._gate = ReadGate(loop, self._deliver, self._drained)
        self._timers = ChannelTimers(loop, self, keepalive, close_timeout)
        self._service_handle: asyncio.Handle | None = None
        self._out = DataStreamWriter(quic)
        #: Resolved when the handshake completes (clients wait on it); servers have none.
        self.handshake: asyncio.Future[None] | None = (
            loop.create_future() if factory is None else None
        )
        # A fact of the stream, not of the phase: the peer's FIN arrived while bytes were
        # held for a paused reader, so its end is reported once they are delivered.
        self._peer_fin = False
        #: When this end last sent a datagram (the keepalive's measure of silence).
        self.last_sent = loop.time()
        # The acknowledged byte count last told to the handler (``write_confirmed``).
        self._confirmed = 0

    @property
    def phase(self) -> Phase:
        """Where the connection is in its life (see :mod:`.lifecycle`)."""
        return self._phase

    @property
    def terminated(self) -> bool:
        """True once the connection terminated: nothing more goes on the wire."""
        return self._phase.terminated

    # driving (owner side)

    def receive(self, data: bytes, address: Address, now: float) -> None:
        """Feed one datagram; call :meth:`service` after the batch."""
        self.quic.receive_datagram(data, address, now=now)

    def service(self) -> None:
        """Handle pending events, then send what the connection has to send."""
        self._service_handle = None
        try:
            self._process_events()
            if not self.terminated:
                self._progress()
                self.transmit()
        except Exception as exc:
            # A bug (ours or aioquic's) must end this connection, not wedge it.
            logger.exception("QUIC connection with %s failed", self._peer)
            self.crash(TransportError(f"internal QUIC error: {exc!r}"))

    def transmit(self) -> None:
        """Send queued datagrams and re-arm the timer."""
        send = self._send
        now = self._loop.time()
        for data, address in self.quic.datagrams_to_send(now=now):
            send(data, address)
            self.last_sent = now
        self._timers.rearm(self.quic.get_timer())

    def fail(self, error: TransportError) -> None:
        """End the connection because of a local error (socket failure, timeout)."""
        self._finish(error, close=(ERROR_ABORTED, str(error)))
        try:
            self.transmit()
        except Exception:
            logger.exception("QUIC connection with %s failed while closing", self._peer)
            self.crash(error)

    def crash(self, error: TransportError) -> None:
        """Give up on the connection state after an internal error: report, tell the peer
        if still possible, and terminate without waiting for the closing period."""
        self._finish(error, close=(ERROR_ABORTED, "internal error"))
        try:
            for data, address in self.quic.datagrams_to_send(now=self._loop.time()):
                self._send(data, address)
        except Exception:
            logger.debug("could not send CONNECTION_CLOSE to %s", self._peer, exc_info=True)
        if not self.terminated:
            self._terminate()

    # Channel

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the data stream; ignored once the channel is closing."""
        check_bytes_like(data)
        if self._phase.closing or not data:
            return
        self._out.write(bytes(data))
        self._watermarks.update(self.get_write_buffer_size())
        self.service_soon()

    def close(self) -> None:
        if self._phase.closing:
            return
        self.quic.ack_now()  # what we received counts as delivered at the peer
        if self._phase is Phase.OPEN and self._out.can_send:
            self._out.send_fin()
            self._step(Trigger.CLOSE)
            self._timers.start_close_timeout()
        else:
            # Nothing can carry a FIN (a server before the client's first bytes): end now.
            self._finish(None, close=_IN_ORDER, by_application=True)
        self.service_soon()

    def abort(self) -> None:
        if self._phase.ended:
            return
        self._finish(None, close=(ERROR_ABORTED, "aborted"), by_application=True)
        self.service_soon()

    def pause_reading(self) -> None:
        self._gate.pause()

    def resume_reading(self) -> None:
        self._gate.resume()

    def get_write_buffer_size(self) -> int:
        if self._phase.ended:
            return 0
        return self._out.buffered()

    def is_closing(self) -> bool:
        return self._phase.closing

    def acknowledged_bytes(self) -> int:
        return self.quic.acknowledged_bytes()

    # events

    def _process_events(self) -> None:
        quic = self.quic
        event = quic.next_event()
        while event is not None:
            if isinstance(event, events.StreamDataReceived):
                self._on_stream_data(event)
            elif isinstance(event, events.HandshakeCompleted):
                self._on_handshake(event)
            elif isinstance(event, events.ConnectionIdIssued):
                if self._on_connection_id is not None:
                    self._on_connection_id(self, event.connection_id, True)
            elif isinstance(event, events.ConnectionIdRetired):
                if self._on_connection_id is not None:
                    self._on_connection_id(self, event.connection_id, False)
            elif isinstance(event, events.StreamReset):
                if event.stream_id == DATA_STREAM:
                    self._fail_protocol("the peer reset the data stream", ERROR_ABORTED)
            elif isinstance(event, events.ConnectionTerminated):
                self._on_terminated_event(event)
                return
            event = quic.next_event()
        # A CONNECTION_CLOSE from the peer (or a local TLS failure) is known at once;
        # aioquic reports ConnectionTerminated only after the draining period.
        close_event = quic.close_event
        if close_event is not None and self._phase.wire_open:
            self._finish(termination_error(close_event))

    def _on_handshake(self, event: events.HandshakeCompleted) -> None:
        if self._phase is not Phase.CONNECTING:
            return  # the connection ended before its handshake did: nothing to start
        if event.alpn_protocol != ALPN:
            self._fail_protocol(
                f"the peer did not agree to ALPN {ALPN!r} (negotiated {event.alpn_protocol!r})",
                ERROR_PROTOCOL,
            )
            return
        # Open before the handler starts: it may write, or close, from connection_made.
        self._step(Trigger.HANDSHAKE_DONE)
        self._timers.start_keepalive(self.quic.idle_timeout())
        try:
            handler = self._given if self._factory is None else self._factory()
            self._handler = self._watermarks.handler = handler
            if handler is not None:
                handler.connection_made(self)
        except Exception as exc:
            logger.exception("starting the connection's handler failed; dropping it")
            self._handler = self._watermarks.handler = None  # nobody to tell of the end
            self._finish(
                TransportError(f"the connection handler failed to start: {exc!r}"),
                close=(ERROR_ABORTED, "the peer's handler failed to start"),
            )
            return
        self._settle_handshake(None)

    def _on_stream_data(self, event: events.StreamDataReceived) -> None:
        if event.stream_id != DATA_STREAM:
            self._fail_protocol(
                f"unexpected stream {event.stream_id}: rxyomo uses one stream per connection",
                ERROR_PROTOCOL,
            )
            return
        self._out.flush()
        if self._phase.ended:
            return
        if event.data:
            self._gate.feed(event.data)
        if event.end_stream:
            self._peer_fin = True
            if self._gate.empty:
                self._finish(None, close=_IN_ORDER)  # every byte before the FIN delivered

    def _on_terminated_event(self, event: events.ConnectionTerminated) -> None:
        if self._phase.wire_open:
            self._finish(termination_error(event))
        self._terminate()

    def _terminate(self) -> None:
        # The wire is over (after its closing period, or at once after a crash).
        self._timers.cancel()
        if self._phase is Phase.DRAINING and self._gate.empty:
            self._finish(None)  # the reader took what was held, then paused again
        self._step(Trigger.TERMINATE)
        self._settle_handshake(TransportError("connection closed by peer"))
        if self._on_terminated is not None:
            self._on_terminated(self)
        self._released.set()

    # delivery

    def _deliver(self, data: bytes) -> None:
        # The gate holds nothing once the end was told, but in the final flush of _finish.
        if self._handler is None:
            return
        self.quic.consumed += len(data)
        try:
            self._handler.data_received(data)
        except Exception as exc:
            logger.exception("data_received failed; aborting the connection")
            self._finish(exc, close=(ERROR_ABORTED, "application error"))
            self.service_soon()

    def _drained(self) -> None:
        # Held bytes were delivered: the peer may have credit to get, or an end to honour.
        if not self._phase.ended and (self._peer_fin or self._phase.holds_end):
            self._finish(None, close=_IN_ORDER)
        self.service_soon()

    # the end

    def _finish(
        self, error: Exception | None, *, close: Close | None = None, by_application: bool = False
    ) -> None:
        """End the connection, the one way every end goes (a no-op once it was told).

        ``error`` is what the handler (and a pending handshake) is told; None for an orderly
        end. ``close`` is our CONNECTION_CLOSE, sent unless one was sent or received
        already; None when the wire is closing already (the peer's close, an idle timeout),
        in which case an orderly end with bytes held for a paused reader waits for them.
        By the application (``close``/``abort``), held bytes are dropped and the handler is
        told from the loop, never re-entrantly; otherwise what was received and
        acknowledged is delivered first, paused or not, and the handler is told at once.
        """
        if not by_application:
            self._settle_handshake(
                error if error is not None else TransportError("connection closed by peer")
            )
        phase = self._phase
        if phase.ended:
            return
        if close is not None and phase.wire_open:
            self.quic.close(error_code=close[0], reason_phrase=close[1])
        if close is None and error is None and not self._gate.empty:
            self._step(Trigger.PEER_CLOSED)
            return
        self._step(Trigger.END)
        if by_application:
            self._gate.clear()
        else:
            self._gate.release()
        self._out.drop()
        handler = self._handler
        if handler is None:
            return
        if by_application:
            self._loop.call_soon(handler.connection_lost, error)
            return
        try:
            handler.connection_lost(error)
        except Exception:
            logger.exception("connection_lost failed")

    def _fail_protocol(self, message: str, code: int) -> None:
        self._finish(TransportError(message), close=(code, message))

    def close_timed_out(self) -> None:
        """The peer did not take what ``close()`` sent within the close timeout: abort."""
        if self._phase.ended or self.terminated:
            return
        logger.info(
            "closing %s timed out with %d bytes unacknowledged: aborting",
            self._peer,
            self.get_write_buffer_size(),
        )
        self._finish(None, close=(ERROR_ABORTED, "close timed out"))
        self.service_soon()

    # bookkeeping

    def _step(self, trigger: Trigger) -> None:
        self._phase = advance(self._phase, trigger)

    def _progress(self) -> None:
        if self._phase.ended:
            return
        self._watermarks.update(self.get_write_buffer_size())
        acknowledged = self.quic.acknowledged_bytes()
        if acknowledged > self._confirmed and self._handler is not None:
            self._confirmed = acknowledged
            call_hook(self._handler.write_confirmed, acknowledged)
        if self._phase is Phase.CLOSING and self.quic.data_stream_finished():
            self._finish(None, close=_IN_ORDER)  # everything we wrote, FIN included, is acked

    def _settle_handshake(self, error: Exception | None) -> None:
        waiter = self.handshake
        if waiter is None or waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    def service_soon(self) -> None:
        """Schedule one :meth:`service` (writes coalesce into it)."""
        if self._service_handle is None and not self.terminated:
            self._service_handle = self._loop.call_soon(self.service)

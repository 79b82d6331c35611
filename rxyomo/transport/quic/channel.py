"""One QUIC connection as a :class:`Channel`: events by callback, one transmit per burst.

The owner (a client's socket or a server's demultiplexer) feeds datagrams with
:meth:`QuicChannel.receive` and calls :meth:`QuicChannel.service` once per
batch; writes schedule a single service with ``call_soon``, so a burst of
writes costs one ``datagrams_to_send``. Timers use ``loop.call_at`` with the
connection's ``get_timer``/``handle_timer``.

Flow control both ways: the write buffer is what the peer has not acknowledged
(watermarks drive ``pause_writing``/``resume_writing``), and a paused reader
holds what arrives and stops granting credit (see :mod:`.connection`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aioquic.quic import events
from aioquic.quic.packet import QuicErrorCode

from rxyomo.transport._common import ChannelState, check_bytes_like
from rxyomo.transport._flow import ReadGate, WriteWatermarks, call_hook
from rxyomo.transport.base import (
    ALPN,
    FlowControl,
    HandlerFactory,
    StreamHandler,
    TransportError,
)
from rxyomo.transport.quic.connection import DATA_STREAM, StreamConnection
from rxyomo.transport.quic.errors import ERROR_ABORTED, ERROR_PROTOCOL, termination_error
from rxyomo.transport.quic.udp import Address

logger = logging.getLogger("rxyomo.transport.quic")


class QuicChannel(ChannelState):
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
        self._is_client = bool(quic.configuration.is_client)
        self._handler = handler
        self._factory = factory
        self._on_connection_id = on_connection_id
        self._on_terminated = on_terminated
        self._watermarks = WriteWatermarks(flow, handler)
        self._gate = ReadGate(loop, self._deliver, self._drained)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._service_handle: asyncio.Handle | None = None
        # Bytes a server wrote before the client opened the data stream.
        self._early: list[bytes] = []
        self._early_size = 0
        self.established = False
        #: Resolved when the handshake completes (clients wait on it); servers have none.
        self.handshake: asyncio.Future[None] | None = (
            loop.create_future() if factory is None else None
        )
        self._fin_sent = False
        self._peer_fin = False
        self._close_sent = False
        self.terminated = False
        # aioquic never sends DATA_BLOCKED: a sender stalled by a paused reader is
        # silent, so both ends PING when they have sent nothing for a while.
        self._keepalive = keepalive
        self._keepalive_handle: asyncio.TimerHandle | None = None
        # Cancelled once the connection is over: a pending handle would keep the whole
        # connection (buffers, crypto state) alive until the close timeout.
        self._close_handle: asyncio.TimerHandle | None = None
        self._last_sent = loop.time()
        self._close_timeout = close_timeout
        # The acknowledged byte count last told to the handler (``write_confirmed``).
        self._confirmed = 0

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
            self._crash(TransportError(f"internal QUIC error: {exc!r}"))

    def transmit(self) -> None:
        """Send queued datagrams and re-arm the timer."""
        send = self._send
        now = self._loop.time()
        for data, address in self.quic.datagrams_to_send(now=now):
            send(data, address)
            self._last_sent = now
        timer_at = self.quic.get_timer()
        if timer_at != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if timer_at is None else self._loop.call_at(timer_at, self._fire)
            self._timer_at = timer_at

    def fail(self, error: TransportError) -> None:
        """End the connection because of a local error (socket failure, timeout)."""
        self._settle_handshake(error)
        self._shutdown(ERROR_ABORTED, str(error))
        self._lose(error)
        try:
            self.transmit()
        except Exception:
            logger.exception("QUIC connection with %s failed while closing", self._peer)
            self._crash(error)

    def _crash(self, error: TransportError) -> None:
        # Give up on the connection state: report, tell the peer if still possible,
        # stop the timer, release.
        self._settle_handshake(error)
        self._lose(error)
        try:
            self._shutdown(ERROR_ABORTED, "internal error")
            for data, address in self.quic.datagrams_to_send(now=self._loop.time()):
                self._send(data, address)
        except Exception:
            logger.debug("could not send CONNECTION_CLOSE to %s", self._peer, exc_info=True)
        self._close_sent = True
        if not self.terminated:
            self._on_terminated_event(
                events.ConnectionTerminated(
                    error_code=QuicErrorCode.INTERNAL_ERROR,
                    frame_type=None,
                    reason_phrase=str(error),
                )
            )

    # Channel

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the data stream; ignored once the channel is closing."""
        check_bytes_like(data)
        if self._closing or not data:
            return
        if self._can_send():
            self.quic.send_stream_data(DATA_STREAM, bytes(data))
        else:
            # A server cannot send on stream 0 until the client has opened it.
            self._early.append(bytes(data))
            self._early_size += len(data)
        self._watermarks.update(self.get_write_buffer_size())
        self._service_soon()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.quic.ack_now()  # what we received counts as delivered at the peer
        if self._can_send():
            self.quic.send_stream_data(DATA_STREAM, b"", end_stream=True)
            self._fin_sent = True
            self._service_soon()
            if self._close_timeout is not None:
                # A peer that never takes the rest must not hold the close forever.
                self._close_handle = self._loop.call_later(self._close_timeout, self._close_expired)
        else:
            self._shutdown(QuicErrorCode.NO_ERROR, "")
            self._lose_soon(None)
            self._service_soon()

    def abort(self) -> None:
        if self._lost:
            return
        self._shutdown(ERROR_ABORTED, "aborted")
        self._lose_soon(None)
        self._service_soon()

    def pause_reading(self) -> None:
        self._gate.pause()

    def resume_reading(self) -> None:
        self._gate.resume()

    def get_write_buffer_size(self) -> int:
        if self._lost:
            return 0
        return self._early_size + self.quic.unacked_bytes()

    def acknowledged_bytes(self) -> int:
        return self.quic.acknowledged_bytes()

    def _can_send(self) -> bool:
        # The client opens the data stream by writing; a server waits for it.
        return self._is_client or self.quic.has_data_stream()

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
        if close_event is not None and not self._close_sent:
            self._close_sent = True
            self._closing = True
            self._end(termination_error(close_event))

    def _on_handshake(self, event: events.HandshakeCompleted) -> None:
        if event.alpn_protocol != ALPN:
            self._fail_protocol(
                f"the peer did not agree to ALPN {ALPN!r} (negotiated {event.alpn_protocol!r})",
                ERROR_PROTOCOL,
            )
            return
        self.established = True
        if self._keepalive is not None:
            # The connection ends after the lower of both ends' idle timeouts (quic-go's
            # zipper announces 5 s): ping well within it.
            self._keepalive = min(self._keepalive, self.quic.idle_timeout() / 3)
            self._keepalive_handle = self._loop.call_later(self._keepalive, self._ping)
        try:
            if self._handler is None and self._factory is not None:
                self._handler = self._factory()
                self._watermarks.handler = self._handler
            if self._handler is not None:
                self._handler.connection_made(self)
        except Exception as exc:
            logger.exception("starting the connection's handler failed; dropping it")
            self._shutdown(ERROR_ABORTED, "the peer's handler failed to start")
            self._lost = True
            self._settle_handshake(
                TransportError(f"the connection handler failed to start: {exc!r}")
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
        if self._early and self.quic.has_data_stream():
            for chunk in self._early:
                self.quic.send_stream_data(DATA_STREAM, chunk)
            self._drop_early()
            if self._closing and not self._fin_sent and not self._close_sent:
                self.quic.send_stream_data(DATA_STREAM, b"", end_stream=True)
                self._fin_sent = True
        if self._lost:
            return
        if event.data:
            self._gate.feed(event.data)
        if event.end_stream:
            self._peer_fin = True
            if self._gate.empty:
                self._on_peer_closed()

    def _on_terminated_event(self, event: events.ConnectionTerminated) -> None:
        self.terminated = True
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = None
        for handle in (self._keepalive_handle, self._close_handle):
            if handle is not None:
                handle.cancel()
        self._keepalive_handle = self._close_handle = None
        if not self._close_sent:
            self._close_sent = True
            self._end(termination_error(event))
        else:
            self._end(None)
        if self._on_terminated is not None:
            self._on_terminated(self)
        self._released.set()

    def _on_peer_closed(self) -> None:
        # The peer sent FIN after its last byte, and all of it was delivered.
        self._shutdown(QuicErrorCode.NO_ERROR, "")
        self._lose(None)

    # delivery

    def _deliver(self, data: bytes) -> None:
        if self._lost or self._handler is None:
            return
        self.quic.consumed += len(data)
        try:
            self._handler.data_received(data)
        except Exception as exc:
            logger.exception("data_received failed; aborting the connection")
            self._shutdown(ERROR_ABORTED, "application error")
            self._lose(exc)
            self._service_soon()

    def _drained(self) -> None:
        # Held bytes were delivered: the peer may have credit to get, or a FIN to honour.
        if self._peer_fin and not self._lost:
            self._on_peer_closed()
        self._service_soon()

    # bookkeeping

    def _progress(self) -> None:
        if self._lost:
            return
        self._watermarks.update(self.get_write_buffer_size())
        acknowledged = self.quic.acknowledged_bytes()
        if acknowledged > self._confirmed and self._handler is not None and self.established:
            self._confirmed = acknowledged
            call_hook(self._handler.write_confirmed, acknowledged)
        if self._fin_sent and not self._close_sent and self.quic.data_stream_finished():
            # Everything we wrote was acknowledged: the close is complete.
            self._shutdown(QuicErrorCode.NO_ERROR, "")
            self._lose(None)

    def _fail_protocol(self, message: str, code: int) -> None:
        error = TransportError(message)
        self._shutdown(code, message)
        self._end(error)

    def _end(self, error: Exception | None) -> None:
        self._settle_handshake(
            error if error is not None else TransportError("connection closed by peer")
        )
        if self._gate.empty or error is not None:
            self._lose(error)
        else:
            # An orderly close with bytes still held for a paused reader: they come first.
            self._peer_fin = True

    def _settle_handshake(self, error: Exception | None) -> None:
        waiter = self.handshake
        if waiter is None or waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    def _shutdown(self, code: int, reason: str) -> None:
        self._closing = True
        if not self._close_sent:
            self._close_sent = True
            self.quic.close(error_code=code, reason_phrase=reason)

    def _lose(self, exc: Exception | None) -> None:
        # The peer or the network ended it (an abort comes through _lose_soon instead):
        # what was received and acknowledged is the application's, paused or not.
        if not self._lost:
            self._gate.release()
        handler = self._mark_lost()
        if handler is not None:
            try:
                handler.connection_lost(exc)
            except Exception:
                logger.exception("connection_lost failed")

    def _lose_soon(self, exc: Exception | None) -> None:
        # Called from the application: report from the loop, never re-entrantly.
        handler = self._mark_lost()
        if handler is not None:
            self._loop.call_soon(handler.connection_lost, exc)

    def _mark_lost(self) -> StreamHandler | None:
        """Mark the connection lost, dropping what is held both ways; return the handler
        to tell, or None when there is none to tell (or it was told already)."""
        if self._lost:
            return None
        self._lost = True
        self._closing = True
        self._gate.clear()
        self._drop_early()
        return self._handler if self.established else None

    def _drop_early(self) -> None:
        self._early.clear()
        self._early_size = 0

    def _service_soon(self) -> None:
        if self._service_handle is None and not self.terminated:
            self._service_handle = self._loop.call_soon(self.service)

    def _fire(self) -> None:
        timer_at = self._timer_at
        self._timer = None
        self._timer_at = None
        if self.terminated:
            return
        now = self._loop.time()
        try:
            self.quic.handle_timer(now=max(now, timer_at) if timer_at is not None else now)
        except Exception as exc:
            logger.exception("QUIC timer for %s failed", self._peer)
            self._crash(TransportError(f"internal QUIC error: {exc!r}"))
            return
        self.service()

    def _close_expired(self) -> None:
        if self._lost or self.terminated:
            return
        logger.info(
            "closing %s timed out with %d bytes unacknowledged: aborting",
            self._peer,
            self.get_write_buffer_size(),
        )
        self._shutdown(ERROR_ABORTED, "close timed out")
        self._lose(None)
        self._service_soon()

    def _ping(self) -> None:
        assert self._keepalive is not None
        self._keepalive_handle = None
        if self.terminated or self._close_sent:
            return
        quiet = self._loop.time() - self._last_sent
        if quiet >= self._keepalive * 0.9:
            self.quic.send_ping(0)
            self._service_soon()
            quiet = 0.0
        self._keepalive_handle = self._loop.call_later(self._keepalive - quiet, self._ping)

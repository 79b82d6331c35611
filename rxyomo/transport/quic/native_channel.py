"""One connection of the native QUIC core as a :class:`Channel`.

The connection's state machine lives in the native endpoint (``rxyomo_quic``), named by
a handle; the driver (:mod:`.native`) feeds it datagrams, sends what it has to send and
hands each channel the events for its handle. Everything the interface promises is kept
here as in :mod:`.channel`: watermarks on what the peer has not acknowledged,
``write_confirmed`` as acknowledgements arrive, a paused reader that stops granting
credit (the native side stops reading), held bytes handed over before a loss, and a
close that becomes an abort after ``close_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from rxyomo.transport._common import ChannelState, check_bytes_like
from rxyomo.transport._flow import ReadGate, WriteWatermarks, call_hook
from rxyomo.transport._tls import describe_alert, is_certificate_alert
from rxyomo.transport.base import (
    ALPN,
    CertificateError,
    FlowControl,
    HandlerFactory,
    StreamHandler,
    TransportError,
)
from rxyomo.transport.quic.errors import ERROR_ABORTED, ERROR_PROTOCOL

if TYPE_CHECKING:
    from rxyomo.transport.quic.native_driver import Driver

logger = logging.getLogger("rxyomo.transport.quic")

# Event kinds the native endpoint reports (see native/quic/src/endpoint.rs).
CONNECTED, STREAM_OPENED, DATA, FIN, RESET, UNEXPECTED = 1, 2, 3, 4, 5, 6
ACKED, FINISHED, LOST, DRAINED, ACCEPTED, READABLE = 7, 8, 9, 10, 11, 12

#: Bytes handed to the handler at a time: a handler that pauses reading on the way
#: leaves the rest unread (and the peer without credit for it).
_READ_CHUNK = 16 * 1024

_NO_ERROR = 0
_CONNECTION_REFUSED = 0x2
_CRYPTO_ERROR_FIRST, _CRYPTO_ERROR_LAST = 0x100, 0x1FF


_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b")


def _words(reason: str) -> str:
    # rustls names its errors in CamelCase ("UnknownIssuer"): say them in words.
    return _CAMEL.sub(lambda m: re.sub(r"(?<!^)(?=[A-Z])", " ", m.group(0)).lower(), reason)


def close_error(kind: str, code: int, reason: str) -> TransportError | None:
    """None for an orderly close, else a TransportError saying how the connection ended."""
    if kind == "local":
        reason = _words(reason)
    if kind == "closed" or (kind in ("application", "transport") and code == _NO_ERROR):
        return None
    if kind == "timeout":
        return TransportError("idle timeout: nothing heard from the peer")
    if kind == "reset":
        return TransportError("connection reset by peer (it lost the connection's state)")
    if kind == "version":
        return TransportError("the peer speaks no QUIC version in common")
    if kind in ("transport", "local") and _CRYPTO_ERROR_FIRST <= code <= _CRYPTO_ERROR_LAST:
        alert = code - _CRYPTO_ERROR_FIRST
        error = CertificateError if is_certificate_alert(alert) else TransportError
        return error(describe_alert(alert, reason))
    if kind == "transport" and code == _CONNECTION_REFUSED:
        return TransportError(f"connection refused by server: {reason or 'no reason given'}")
    if kind == "application" and code == ERROR_ABORTED:
        return TransportError(f"connection aborted by peer ({reason or 'no reason given'})")
    if kind == "local":
        return TransportError(f"QUIC error {code:#x}: {reason or 'no reason given'}")
    return TransportError(
        f"connection closed by peer with {kind} error {code:#x}: {reason or 'no reason given'}"
    )


class NativeChannel(ChannelState):
    """The interface's channel over one connection of the native core."""

    def __init__(
        self,
        driver: Driver,
        handle: int,
        flow: FlowControl,
        peer: str,
        *,
        is_client: bool,
        handler: StreamHandler | None = None,
        factory: HandlerFactory | None = None,
        close_timeout: float | None = None,
        idle_timeout: float = 6.0,
        keepalive: float | None = None,
    ) -> None:
        super().__init__(peer)
        self._driver = driver
        self._endpoint = driver.endpoint
        self._loop = driver.loop
        self.handle = handle
        self._is_client = is_client
        self._handler = handler
        self._factory = factory
        self._watermarks = WriteWatermarks(flow, handler)
        self._gate = ReadGate(self._loop, self._deliver, self._drained)
        self.established = False
        #: Resolved when the handshake completes (clients wait on it); servers have none.
        self.handshake: asyncio.Future[None] | None = (
            self._loop.create_future() if factory is None else None
        )
        self._written = 0
        self._acked = 0
        self._stream_open = is_client
        self._fin_sent = False
        self._peer_fin = False
        self._close_sent = False
        self.terminated = False
        self._close_timeout = close_timeout
        self._close_handle: asyncio.TimerHandle | None = None
        # The native side PINGs every ``keepalive`` seconds of silence; a peer announcing a
        # shorter idle timeout gets PINGs at a third of it from here.
        self._idle_timeout = idle_timeout
        self._keepalive = keepalive
        self._ping_every = 0.0
        self._ping_handle: asyncio.TimerHandle | None = None

    # Channel

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the data stream; ignored once the channel is closing."""
        check_bytes_like(data)
        if self._closing or not data:
            return
        if type(data) is not bytes:
            data = bytes(data)
        self._endpoint.write(self.handle, data)
        self._written += len(data)
        self._watermarks.update(self._written - self._acked)
        self._driver.schedule()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._stream_open or self._is_client:
            self._endpoint.finish(self.handle)
            self._fin_sent = True
            if self._close_timeout is not None:
                # A peer that never takes the rest must not hold the close forever.
                self._close_handle = self._loop.call_later(self._close_timeout, self._expired)
        else:
            self._shutdown(_NO_ERROR, "")
            self._lose_soon(None)
        self._driver.schedule()

    def abort(self) -> None:
        if self._lost:
            return
        self._shutdown(ERROR_ABORTED, "aborted")
        self._lose_soon(None)
        self._driver.schedule()

    def pause_reading(self) -> None:
        self._gate.pause()
        if not self._lost and not self.terminated:
            self._endpoint.set_reading(self.handle, False)

    def resume_reading(self) -> None:
        self._gate.resume()

    def get_write_buffer_size(self) -> int:
        return 0 if self._lost else self._written - self._acked

    def acknowledged_bytes(self) -> int:
        return self._acked

    # events (from the driver)

    def on_event(self, kind: int, value: Any) -> None:
        """Handle one event of the native endpoint for this connection."""
        if kind == READABLE:
            self._read()
        elif kind == DATA:
            if not self._lost:
                self._gate.feed(value)
        elif kind == ACKED:
            self._on_acked(value)
        elif kind == CONNECTED:
            alpn, peer_idle_ms = value
            self._on_connected(alpn)
            self._pace_pings(peer_idle_ms / 1000.0)
        elif kind == STREAM_OPENED:
            self._stream_open = True
        elif kind == FIN:
            self._peer_fin = True
            if self._gate.empty and not self._lost:
                self._on_peer_closed()
        elif kind == FINISHED:
            if self._fin_sent and not self._close_sent:
                # Everything we wrote was acknowledged: the close is complete.
                self._shutdown(_NO_ERROR, "")
                self._lose(None)
        elif kind == LOST:
            self._on_lost(close_error(*value))
        elif kind == RESET:
            self._fail_protocol("the peer reset the data stream", ERROR_ABORTED)
        elif kind == UNEXPECTED:
            self._fail_protocol(
                f"unexpected stream {value}: rxyomo uses one stream per connection", ERROR_PROTOCOL
            )
        elif kind == DRAINED:
            self._on_drained()

    def fail(self, error: TransportError) -> None:
        """End the connection because of a local error (socket failure, timeout)."""
        # What the peer's bytes the native side acknowledged but holds are the
        # application's, paused or not: taken before the connection is closed.
        self._read(held=True)
        self._settle_handshake(error)
        self._shutdown(ERROR_ABORTED, str(error))
        self._lose(error)
        self._driver.schedule()

    def _read(self, *, held: bool = False) -> None:
        # Only a reader that is not paused (and holds nothing) reads: what the native side
        # keeps unread is not granted credit for. ``held``: everything, for a loss.
        if self._lost or self.terminated:
            return
        if not held and (self._gate.paused or not self._gate.empty):
            return
        limit = (1 << 62) if held else _READ_CHUNK
        while True:
            data, fin, reset, more = self._endpoint.read(self.handle, limit)
            if data:
                self._gate.feed(data)
            if reset is not None:
                self.on_event(RESET, reset)
                return
            if fin:
                self.on_event(FIN, None)
                return
            if not more or self._lost or self._gate.paused or not self._gate.empty:
                return

    def _on_connected(self, alpn: bytes | None) -> None:
        if alpn != ALPN.encode():
            self._fail_protocol(
                f"the peer did not agree to ALPN {ALPN!r} (negotiated {alpn!r})", ERROR_PROTOCOL
            )
            return
        self.established = True
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

    def _pace_pings(self, peer_idle: float) -> None:
        if self._keepalive is None or not self.established:
            return
        idle = min(self._idle_timeout, peer_idle) if peer_idle > 0 else self._idle_timeout
        if idle / 3 >= self._keepalive:
            return
        self._ping_every = idle / 3
        self._ping_handle = self._loop.call_later(self._ping_every, self._ping)

    def _ping(self) -> None:
        self._ping_handle = None
        if self._lost or self.terminated or self._close_sent:
            return
        self._endpoint.ping(self.handle)
        self._driver.schedule()
        self._ping_handle = self._loop.call_later(self._ping_every, self._ping)

    def _on_acked(self, acked: int) -> None:
        if self._lost or acked <= self._acked:
            return
        self._acked = acked
        self._watermarks.update(self._written - acked)
        if self._handler is not None and self.established:
            call_hook(self._handler.write_confirmed, acked)

    def _on_lost(self, error: TransportError | None) -> None:
        self._closing = True
        if self._close_sent:
            error = None
        self._close_sent = True
        self._end(error)

    def _on_drained(self) -> None:
        self.terminated = True
        self._closing = True
        for handle in (self._close_handle, self._ping_handle):
            if handle is not None:
                handle.cancel()
        self._close_handle = self._ping_handle = None
        if not self._close_sent:
            self._close_sent = True
            self._end(TransportError("connection ended"))
        else:
            self._end(None)
        self._driver.forget(self)
        self._released.set()

    def _on_peer_closed(self) -> None:
        # The peer sent FIN after its last byte, and all of it was delivered.
        self._shutdown(_NO_ERROR, "")
        self._lose(None)

    # delivery

    def _deliver(self, data: bytes) -> None:
        if self._lost or self._handler is None:
            return
        try:
            self._handler.data_received(data)
        except Exception as exc:
            logger.exception("data_received failed; aborting the connection")
            self._shutdown(ERROR_ABORTED, "application error")
            self._lose(exc)
            self._driver.schedule()

    def _drained(self) -> None:
        # Held bytes were delivered: read (and grant credit) again, or honour a FIN.
        if self._peer_fin and not self._lost:
            self._on_peer_closed()
        elif not self._lost and not self.terminated:
            self._endpoint.set_reading(self.handle, True)
        self._driver.schedule()

    # bookkeeping

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
        if not self._close_sent and not self.terminated:
            self._close_sent = True
            self._endpoint.close(self.handle, code, reason.encode(), self._loop.time())

    def _lose(self, exc: Exception | None) -> None:
        # What was received and acknowledged is the application's, paused or not.
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
        if self._lost:
            return None
        self._lost = True
        self._closing = True
        self._gate.clear()
        return self._handler if self.established else None

    def _expired(self) -> None:
        if self._lost or self.terminated:
            return
        logger.info(
            "closing %s timed out with %d bytes unacknowledged: aborting",
            self._peer,
            self.get_write_buffer_size(),
        )
        self._shutdown(ERROR_ABORTED, "close timed out")
        self._lose(None)
        self._driver.schedule()

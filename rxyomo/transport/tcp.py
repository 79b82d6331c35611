"""TLS over TCP: the fallback for networks that block UDP.

Built on asyncio's own Protocol/Transport pair with an ``ssl`` context
(TLS 1.3 minimum, ALPN ``yomo``). asyncio's write-buffer callbacks are mapped
onto the interface with the configured watermarks; reading is paused at the
socket, and the few bytes already decrypted when the pause came are held and
delivered on resume, so no ``data_received`` call happens while paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct

from rxyomo.transport._common import (
    ChannelState,
    check_bytes_like,
    check_positive,
    format_address,
)
from rxyomo.transport._flow import ReadGate, WriteWatermarks, call_hook
from rxyomo.transport._tls import (
    UNTRUSTED_HINT,
    check_cafile,
    client_ssl_context,
    describe_verify_failure,
    server_ssl_context,
)
from rxyomo.transport.base import (
    ALPN,
    CertificateError,
    Channel,
    HandlerFactory,
    Listener,
    StreamHandler,
    Transport,
    TransportError,
    TransportOptions,
)

__all__ = ["TcpTransport"]

logger = logging.getLogger("rxyomo.transport.tcp")


class TcpTransport(Transport):
    """YoMo's byte stream over TLS 1.3 on TCP."""

    name = "tcp"

    def __init__(
        self,
        options: TransportOptions | None = None,
        *,
        handshake_timeout: float = 10.0,
        close_timeout: float = 10.0,
    ) -> None:
        check_positive(handshake_timeout=handshake_timeout, close_timeout=close_timeout)
        self.options = options if options is not None else TransportOptions()
        self.handshake_timeout = handshake_timeout
        #: Seconds a close may take to flush what is queued before it becomes an abort.
        self.close_timeout = close_timeout

    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        """Listen for TLS connections on ``host:port``."""
        context = server_ssl_context(self.options.tls)
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: _TcpChannel(self.options, self.close_timeout, factory=factory),
                host,
                port,
                ssl=context,
                ssl_handshake_timeout=self.handshake_timeout,
            )
        except OSError as exc:
            raise TransportError(f"cannot listen on TCP {host}:{port}: {exc}") from exc
        return _TcpListener(server)

    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        """Open a TLS connection; the server certificate is verified unless turned off."""
        tls = self.options.tls
        check_cafile(tls)
        context = client_ssl_context(tls)
        loop = asyncio.get_running_loop()
        channel = _TcpChannel(self.options, self.close_timeout, handler=handler)
        where = f"{host}:{port}"
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: channel,
                    host,
                    port,
                    ssl=context,
                    server_hostname=tls.server_name or host,
                    ssl_handshake_timeout=self.handshake_timeout,
                ),
                self.handshake_timeout * 2,
            )
        except ssl.SSLCertVerificationError as exc:
            raise CertificateError(describe_verify_failure(where, exc)) from exc
        except ssl.SSLError as exc:
            raise TransportError(f"TLS handshake with {where} failed: {exc}") from exc
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise TransportError(f"TLS handshake with {where} timed out") from exc
        except OSError as exc:
            raise TransportError(f"cannot connect to {where}: {exc}") from exc
        if channel.refusal is not None:
            raise TransportError(channel.refusal)
        return channel


class _TcpListener(Listener):
    def __init__(self, server: asyncio.Server) -> None:
        self._server = server
        sockname = server.sockets[0].getsockname()
        self._address = (str(sockname[0]), int(sockname[1]))

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    def close(self) -> None:
        self._server.close()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()


class _TcpChannel(asyncio.Protocol, ChannelState):
    """One TLS connection: asyncio's protocol side and the interface's channel.

    It is released (``wait_closed`` returns) once asyncio has closed the socket.
    """

    def __init__(
        self,
        options: TransportOptions,
        close_timeout: float,
        *,
        handler: StreamHandler | None = None,
        factory: HandlerFactory | None = None,
    ) -> None:
        ChannelState.__init__(self, "?")  # the address is known once TLS is up
        self._options = options
        self._close_timeout = close_timeout
        self._handler = handler
        self._factory = factory
        self._transport: asyncio.Transport | None = None
        self._gate: ReadGate | None = None
        self._lost_pending: tuple[Exception | None] | None = None
        self._watermarks = WriteWatermarks(options.flow, handler)
        # Bytes written, and the count ``write_confirmed`` last told the handler.
        self._written = 0
        self._confirmed = 0
        self._confirm_handle: asyncio.Handle | None = None
        #: Why a client refused the connection after the handshake (ALPN).
        self.refusal: str | None = None

    # asyncio.Protocol (called once TLS is up)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._gate = ReadGate(asyncio.get_running_loop(), self._deliver, self._drained)
        peername = transport.get_extra_info("peername")
        if peername:
            self._peer = format_address(peername)
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        if alpn != ALPN:
            # Python's server accepts a client without a common ALPN; refuse here.
            self.refusal = (
                f"{self._peer} did not agree to ALPN {ALPN!r} (negotiated {alpn!r}); "
                "is it an rxyomo server?"
            )
            self._closing = True
            transport.abort()
            return
        # asyncio tells of a drained buffer only through resume_writing: with these limits
        # it pauses on any byte left buffered and resumes once none is, which is when
        # everything written is confirmed. The handler's own watermarks are kept here.
        transport.set_write_buffer_limits(high=1, low=0)
        try:
            if self._handler is None:
                assert self._factory is not None
                self._handler = self._factory()
                self._watermarks.handler = self._handler
            self._handler.connection_made(self)
        except Exception as exc:
            logger.exception("starting the connection's handler failed; dropping it")
            self.refusal = f"the connection handler failed to start: {exc!r}"
            self._closing = True
            self._lost = True
            self._reset()

    def data_received(self, data: bytes) -> None:
        if self._gate is not None and not self._lost:
            self._gate.feed(data)

    def eof_received(self) -> bool | None:
        return None  # the peer closed: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._released.set()
        if self._lost_pending is not None or self._lost:
            return
        self._closing = True
        if self._handler is None or self.refusal is not None:
            self._lost = True
            return
        reason = _describe_loss(exc)
        if self._gate is not None and not self._gate.empty:
            # Bytes received before the close are still held: deliver them first.
            self._lost_pending = (reason,)
            return
        self._report_lost(reason)

    def pause_writing(self) -> None:
        self._watermarks.update(self.get_write_buffer_size())

    def resume_writing(self) -> None:
        # The buffer is empty (see the limits set in connection_made).
        self._watermarks.update(0)
        self._report_confirmed()

    # Channel

    def write(self, data: bytes) -> None:
        """Queue ``data``; ignored once the channel is closing."""
        check_bytes_like(data)
        if self.is_closing() or self._transport is None or not data:
            return
        self._transport.write(data)
        self._written += len(data)
        buffered = self.get_write_buffer_size()
        self._watermarks.update(buffered)
        if not buffered and self._confirm_handle is None:
            # Taken at once; told from the loop, never from inside write().
            self._confirm_handle = asyncio.get_running_loop().call_soon(self._report_confirmed)

    def close(self) -> None:
        if self._closing or self._transport is None:
            return
        self._closing = True
        self._transport.close()
        # A peer that stops reading keeps the socket's buffers full: bound the wait.
        asyncio.get_running_loop().call_later(self._close_timeout, self._close_expired)

    def _close_expired(self) -> None:
        if self._transport is not None and not self._released.is_set():
            logger.info("closing %s timed out: aborting", self._peer)
            self._reset()

    def abort(self) -> None:
        if self._transport is None or self._lost:
            return
        self._closing = True
        if self._gate is not None:
            self._gate.clear()
        self._reset()
        if self._lost_pending is not None:
            # asyncio already reported the loss; held bytes are now dropped.
            self._lost_pending = None
            self._report_lost(None)

    def pause_reading(self) -> None:
        if self._gate is None or self._gate.paused:
            return
        self._gate.pause()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._gate is not None:
            self._gate.resume()

    def get_write_buffer_size(self) -> int:
        if self._transport is None or self._lost:
            return 0
        try:
            return self._transport.get_write_buffer_size()
        except AttributeError:
            # Python 3.10's SSL transport, once its socket is gone and before it tells us:
            # nothing it holds will be sent, as after the loss.
            return 0

    # internals

    def _report_confirmed(self) -> None:
        self._confirm_handle = None
        if self._handler is None or self._lost:
            return
        confirmed = self._written - self.get_write_buffer_size()
        if confirmed > self._confirmed:
            self._confirmed = confirmed
            call_hook(self._handler.write_confirmed, confirmed)

    def _deliver(self, data: bytes) -> None:
        if self._handler is None or self._lost:
            return
        try:
            self._handler.data_received(data)
        except Exception as exc:
            logger.exception("data_received failed; aborting the connection")
            self._fail(exc)

    def _drained(self) -> None:
        if self._lost_pending is not None:
            (reason,) = self._lost_pending
            self._lost_pending = None
            self._report_lost(reason)
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def _reset(self) -> None:
        assert self._transport is not None
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 makes the close a reset, so the peer learns it was an abort.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    def _fail(self, exc: Exception) -> None:
        if self._transport is not None:
            self._reset()
        self._report_lost(exc)

    def _report_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        if self._gate is not None:
            self._gate.clear()
        if self._handler is not None:
            self._handler.connection_lost(exc)


def _describe_loss(exc: Exception | None) -> Exception | None:
    if exc is None:
        return None
    if isinstance(exc, ConnectionResetError):
        error = TransportError("connection reset by peer")
    elif isinstance(exc, ssl.SSLCertVerificationError):
        error = CertificateError(f"TLS certificate rejected: {exc}; {UNTRUSTED_HINT}")
    else:
        error = TransportError(f"connection lost: {exc}")
    error.__cause__ = exc
    return error

"""The native QUIC core's driver: one endpoint of ``rxyomo_quic`` on one UDP socket.

The endpoint reads the socket itself (up to 64 datagrams a readiness event, batched
with recvmmsg and GRO) and writes it (GSO where the kernel segments datagrams), so
Python crosses into it once per batch: ``poll`` hands out the events of every
connection touched, then one transmit sends what is due and one timer serves them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

from rxyomo.transport.quic.native_channel import ACCEPTED, DRAINED, NativeChannel
from rxyomo.transport.quic.udp import Address

logger = logging.getLogger("rxyomo.transport.quic")

_BATCH = 64
_SOCKET_BUFFER = 4 * 1024 * 1024


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


def udp_socket(family: int, address: Address) -> socket.socket:
    """A non-blocking UDP socket of ``family`` bound to ``address``, with large buffers."""
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

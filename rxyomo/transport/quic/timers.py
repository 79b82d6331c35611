"""A QUIC channel's clocks: aioquic's own timer, keepalive PINGs and the close timeout.

All of them are cancelled once the connection terminates: a pending handle would keep
the whole connection (buffers, crypto state) alive until it fired.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from rxyomo.transport.base import TransportError
from rxyomo.transport.quic.connection import StreamConnection
from rxyomo.transport.quic.lifecycle import Phase

logger = logging.getLogger("rxyomo.transport.quic")

#: A PING goes out once this share of the keepalive interval passed without sending.
_QUIET_SHARE = 0.9


class TimedChannel(Protocol):
    """What the timers need of the channel they drive."""

    quic: StreamConnection
    #: Loop time of the last datagram sent.
    last_sent: float

    @property
    def peer(self) -> str: ...

    @property
    def phase(self) -> Phase: ...

    def service(self) -> None: ...

    def service_soon(self) -> None: ...

    def crash(self, error: TransportError) -> None: ...

    def close_timed_out(self) -> None: ...


class ChannelTimers:
    """Arms, fires and cancels the timers of one channel."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        channel: TimedChannel,
        keepalive: float | None,
        close_timeout: float | None,
    ) -> None:
        self._loop = loop
        self._channel = channel
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        # aioquic never sends DATA_BLOCKED: a sender stalled by a paused reader is
        # silent, so both ends PING when they have sent nothing for a while.
        self._keepalive = keepalive
        self._keepalive_handle: asyncio.TimerHandle | None = None
        self._close_timeout = close_timeout
        self._close_handle: asyncio.TimerHandle | None = None

    def rearm(self, timer_at: float | None) -> None:
        """Follow aioquic's ``get_timer()``: fire at ``timer_at``, or never for None."""
        if timer_at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if timer_at is None else self._loop.call_at(timer_at, self._fire)
        self._timer_at = timer_at

    def start_keepalive(self, idle_timeout: float) -> None:
        """Ping from now on, well within ``idle_timeout`` (the lower of both ends')."""
        if self._keepalive is None:
            return
        # quic-go's zipper announces 5 s: a third of it leaves room for a lost PING.
        self._keepalive = min(self._keepalive, idle_timeout / 3)
        self._keepalive_handle = self._loop.call_later(self._keepalive, self._ping)

    def start_close_timeout(self) -> None:
        """A peer that never takes the rest must not hold a ``close()`` forever."""
        if self._close_timeout is not None:
            self._close_handle = self._loop.call_later(
                self._close_timeout, self._channel.close_timed_out
            )

    def cancel(self) -> None:
        """Stop every timer: the connection terminated."""
        for handle in (self._timer, self._keepalive_handle, self._close_handle):
            if handle is not None:
                handle.cancel()
        self._timer = self._keepalive_handle = self._close_handle = None
        self._timer_at = None

    def _fire(self) -> None:
        channel = self._channel
        timer_at = self._timer_at
        self._timer = None
        self._timer_at = None
        if channel.phase.terminated:
            return
        now = self._loop.time()
        try:
            channel.quic.handle_timer(now=max(now, timer_at) if timer_at is not None else now)
        except Exception as exc:
            logger.exception("QUIC timer for %s failed", channel.peer)
            channel.crash(TransportError(f"internal QUIC error: {exc!r}"))
            return
        channel.service()

    def _ping(self) -> None:
        assert self._keepalive is not None
        self._keepalive_handle = None
        channel = self._channel
        if not channel.phase.wire_open:
            return  # a CONNECTION_CLOSE was sent or received: nothing to keep alive
        quiet = self._loop.time() - channel.last_sent
        if quiet >= self._keepalive * _QUIET_SHARE:
            channel.quic.send_ping(0)
            channel.service_soon()
            quiet = 0.0
        self._keepalive_handle = self._loop.call_later(self._keepalive - quiet, self._ping)

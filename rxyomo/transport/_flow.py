"""Flow-control pieces shared by the transports: write watermarks and a read gate."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from rxyomo.transport.base import FlowControl, StreamHandler

logger = logging.getLogger("rxyomo.transport")


class WriteWatermarks:
    """Calls ``pause_writing``/``resume_writing`` as a write buffer crosses the watermarks.

    Pauses when the buffer grows above the high watermark and resumes once it
    has drained to the low watermark or below, the way asyncio's transports do.
    """

    __slots__ = ("_flow", "handler", "paused")

    def __init__(self, flow: FlowControl, handler: StreamHandler | None = None) -> None:
        self._flow = flow
        self.handler = handler
        self.paused = False

    def update(self, buffered: int) -> None:
        """Tell the handler if ``buffered`` bytes crossed a watermark."""
        if self.paused:
            if buffered <= self._flow.low_watermark:
                self.paused = False
                if self.handler is not None:
                    call_hook(self.handler.resume_writing)
        elif buffered > self._flow.high_watermark:
            self.paused = True
            if self.handler is not None:
                call_hook(self.handler.pause_writing)


def call_hook(hook: Callable[..., None], *args: Any) -> None:
    """Call a handler's flow-control hook; one that fails is logged, because it must not
    break the transport's bookkeeping."""
    try:
        hook(*args)
    except Exception:
        logger.exception("flow-control hook %r failed", hook)


class ReadGate:
    """Holds received bytes while reading is paused and delivers them in order later.

    ``deliver`` is called for every chunk that passes the gate; ``on_drained``
    after a resume has delivered everything that was held (the place to grant
    the peer more credit or resume the socket). Delivery after a resume runs
    from the event loop, never from inside ``resume()``, so a handler that
    resumes reading from its own callback is not re-entered.
    """

    __slots__ = ("_chunks", "_deliver", "_loop", "_on_drained", "_scheduled", "held", "paused")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[bytes], None],
        on_drained: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._deliver = deliver
        self._on_drained = on_drained
        self._chunks: deque[bytes] = deque()
        self._scheduled = False
        self.held = 0
        self.paused = False

    def feed(self, data: bytes) -> None:
        """Deliver ``data`` now, or hold it if reading is paused or bytes are waiting."""
        if self.paused or self._chunks:
            self._chunks.append(data)
            self.held += len(data)
        else:
            self._deliver(data)

    def pause(self) -> None:
        """Stop delivering."""
        self.paused = True

    def resume(self) -> None:
        """Deliver what is held (soon) and everything after it."""
        if not self.paused:
            return
        self.paused = False
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def release(self) -> None:
        """Deliver everything held at once, paused or not: the connection broke, and
        bytes the transport acknowledged to the peer must reach the application."""
        while self._chunks:
            chunk = self._chunks.popleft()
            self.held -= len(chunk)
            self._deliver(chunk)

    def clear(self) -> None:
        """Drop what is held (the connection is gone)."""
        self._chunks.clear()
        self.held = 0

    @property
    def empty(self) -> bool:
        """True when nothing is held."""
        return not self._chunks

    def _drain(self) -> None:
        self._scheduled = False
        while self._chunks and not self.paused:
            chunk = self._chunks.popleft()
            self.held -= len(chunk)
            self._deliver(chunk)
        if not self.paused:
            self._on_drained()

"""The one timer an asyncio adapter keeps for its sans-I/O protocol core."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CoreTimer:
    """A single ``loop.call_at`` handle, moved only when a deadline comes earlier.

    A busy connection would otherwise create a timer per frame, since every frame
    pushes the core's heartbeat and idle deadlines later; a timer that fires
    before the current deadline lets the core re-check, and is armed again.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[], None]) -> None:
        self._loop = loop
        self._fire_callback = fire
        self._handle: asyncio.TimerHandle | None = None
        self._at = float("inf")

    def arm(self, when: float | None) -> None:
        """Fire at ``when`` unless already armed for an earlier time."""
        if when is None or when >= self._at:
            return
        self.cancel()
        self._at = when
        self._handle = self._loop.call_at(when, self._fire)

    def cancel(self) -> None:
        """Disarm."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._at = float("inf")

    def _fire(self) -> None:
        self._handle = None
        self._at = float("inf")
        self._fire_callback()

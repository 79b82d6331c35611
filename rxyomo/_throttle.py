"""Warnings a peer can trigger at will, logged at a bounded rate.

A hostile or broken client can send bad frames as fast as the network carries them; one
log line per frame would let it fill the disk and slow the zipper down. Each kind of
warning is logged at most once per interval; the next line says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledLog:
    """Log each kind of warning at most once per ``interval`` seconds.

    Kinds are fixed strings chosen in code (not taken from the peer), so the table of
    kinds stays small.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        # kind -> (when it was last logged, how many were held back since)
        self._kinds: dict[str, tuple[float, int]] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log ``message % args`` unless a ``kind`` warning was logged within the interval."""
        self._emit(logging.WARNING, kind, message, args, exc_info=False)

    def exception(self, kind: str, message: str, *args: object) -> None:
        """Like :meth:`warning`, at ERROR level with the exception being handled."""
        self._emit(logging.ERROR, kind, message, args, exc_info=True)

    def _emit(
        self, level: int, kind: str, message: str, args: tuple[object, ...], *, exc_info: bool
    ) -> None:
        now = self._clock()
        last = self._kinds.get(kind)
        if last is not None and now - last[0] < self._interval:
            self._kinds[kind] = (last[0], last[1] + 1)
            return
        self._kinds[kind] = (now, 0)
        if last is not None and last[1]:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, last[1], now - last[0])
        self._logger.log(level, message, *args, exc_info=exc_info)

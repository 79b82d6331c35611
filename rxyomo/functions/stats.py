"""Counters of one served function, kept by its runner's worker threads."""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from typing import Any

__all__ = ["FunctionStats", "percentile"]

#: Call times kept for the percentiles: the latest calls, so that they follow the present.
_WINDOW = 1024
#: Versions kept in ``by_version``: the latest ones (a reload under load spans two).
_VERSIONS = 8


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (0 for none)."""
    if not values:
        return 0.0
    rank = max(math.ceil(fraction * len(values)) - 1, 0)
    return values[min(rank, len(values) - 1)]


class FunctionStats:
    """Frames, errors by cause, call times, memory and versions of one function.

    Thread-safe: workers record, anyone reads a :meth:`snapshot`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Frames accepted (queued or settled at once).
        self.frames = 0
        #: Frames whose call succeeded.
        self.handled = 0
        #: Frames that produced no answer, by cause.
        self.errors: Counter[str] = Counter()
        #: Submissions refused because the queue was full (back-pressure).
        self.refused = 0
        #: Instances made (a fault discards one; a reload replaces them).
        self.instances_made = 0
        #: Frames handled (successfully or not) per version.
        self.by_version: dict[str, int] = {}
        self.reloads = 0
        self.failed_reloads = 0
        self.last_reload_error = ""
        self._times: deque[float] = deque(maxlen=_WINDOW)
        self._memory: dict[int, int] = {}

    def accepted(self) -> None:
        """A frame was accepted."""
        with self._lock:
            self.frames += 1

    def refuse(self) -> None:
        """A frame was refused: the queue was full."""
        with self._lock:
            self.refused += 1

    def record(self, version: str, seconds: float, cause: str | None, *, ran: bool) -> None:
        """One frame settled by ``version``; ``ran`` says whether code was called (a
        quarantined or closed frame was not, and has no call time)."""
        with self._lock:
            if cause is None:
                self.handled += 1
            else:
                self.errors[cause] += 1
            if ran:
                self._times.append(seconds)
            if version not in self.by_version and len(self.by_version) >= _VERSIONS:
                del self.by_version[next(iter(self.by_version))]
            self.by_version[version] = self.by_version.get(version, 0) + 1

    def instance_made(self) -> None:
        """A worker made an instance."""
        with self._lock:
            self.instances_made += 1

    def memory(self, worker: int, size: int | None) -> None:
        """Worker ``worker``'s instance now holds ``size`` bytes (None: it has none)."""
        with self._lock:
            if size is None:
                self._memory.pop(worker, None)
            else:
                self._memory[worker] = size

    def reloaded(self, error: str = "") -> None:
        """A reload took over, or (with ``error``) failed and left the old version."""
        with self._lock:
            if error:
                self.failed_reloads += 1
                self.last_reload_error = error
            else:
                self.reloads += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain data (JSON-ready); call times in milliseconds."""
        with self._lock:
            times = sorted(self._times)
            return {
                "frames": self.frames,
                "handled": self.handled,
                "errors": dict(self.errors),
                "refused": self.refused,
                "instances_made": self.instances_made,
                "call_ms": {
                    "p50": round(percentile(times, 0.50) * 1000, 3),
                    "p99": round(percentile(times, 0.99) * 1000, 3),
                    "calls": len(times),
                },
                "memory": sum(self._memory.values()),
                "by_version": dict(self.by_version),
                "reloads": self.reloads,
                "failed_reloads": self.failed_reloads,
                "last_reload_error": self.last_reload_error,
            }

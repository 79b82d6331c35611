"""Plain counters the hot paths bump: traffic rows, histograms, call times, latencies.

They are cheap on purpose (a dict look-up and an increment a frame); the Prometheus
collector (:mod:`rxyomo.observe.metrics`) and the live view read them when asked, and
need none of the optional dependencies.
"""

from __future__ import annotations

import bisect
import collections
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "CALL_BUCKETS",
    "MAX_ROWS",
    "OTHER",
    "FunctionMetrics",
    "Histogram",
    "Recent",
    "Traffic",
    "tag_label",
]

#: Upper bounds, in seconds, of the call-time and latency histograms' buckets.
CALL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Distinct label sets a family keeps; the rest are counted together under :data:`OTHER`,
#: so that clients with ever new names or tags cannot grow the metrics without bound.
MAX_ROWS = 1024
OTHER = "other"


def tag_label(tag: int) -> str:
    """A data tag as its metric label: ``0x10``."""
    return f"0x{tag:X}"


class Histogram:
    """Counts of observations per bucket, their sum and count (Prometheus' histogram)."""

    __slots__ = ("bounds", "buckets", "count", "sum")

    def __init__(self, bounds: tuple[float, ...] = CALL_BUCKETS) -> None:
        self.bounds = bounds
        #: Observations per bucket (not cumulative); the last is above every bound.
        self.buckets = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count one observation."""
        self.buckets[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus exposes them, ending with ``+Inf``."""
        total = 0
        out = []
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.buckets, strict=True):
            total += count
            out.append((bound, total))
        return out


class Recent:
    """The latest observations (a bounded window), for medians on the live view."""

    __slots__ = ("values",)

    def __init__(self, size: int = 64) -> None:
        self.values: collections.deque[float] = collections.deque(maxlen=size)

    def add(self, value: float) -> None:
        self.values.append(value)

    def median(self) -> float | None:
        """The median of the window, or None while it is empty."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass
class Row:
    """Frames and bytes of one label set."""

    frames: int = 0
    bytes: int = 0


@dataclass
class Traffic:
    """Frames and bytes by ``(kind, client, tag)``, bounded to :data:`MAX_ROWS` sets."""

    rows: dict[tuple[str, str, str], Row] = field(default_factory=dict)

    def row(self, kind: str, client: str, tag: int) -> Row:
        """The row to count into (created on first use, :data:`OTHER` past the bound)."""
        key = (kind, client, tag_label(tag))
        row = self.rows.get(key)
        if row is None:
            if len(self.rows) >= MAX_ROWS:
                key = (kind, OTHER, OTHER)
                row = self.rows.get(key)
            if row is None:
                row = self.rows[key] = Row()
        return row

    def items(self) -> Iterator[tuple[tuple[str, str, str], Row]]:
        """Every label set and its row (a copy, safe while the loop counts on)."""
        return iter(list(self.rows.items()))

    def total(self) -> Row:
        """All rows added up."""
        frames = sum(row.frames for row in self.rows.values())
        return Row(frames, sum(row.bytes for row in self.rows.values()))


@dataclass
class FunctionCalls:
    """One function's handler calls on frames of one tag."""

    seconds: Histogram = field(default_factory=Histogram)
    errors: int = 0
    recent: Recent = field(default_factory=Recent)


class FunctionMetrics:
    """Call times and errors of the stream functions and sinks run in this process (the
    zipper's own, or a function host's), by function and tag.

    Calls are recorded from the event loop; a lock keeps a scrape from another thread
    consistent.
    """

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], FunctionCalls] = {}
        self._lock = threading.Lock()

    def record(self, function: str, tag: int, seconds: float, failed: bool) -> None:
        """One handler call of ``function`` on a frame of ``tag``."""
        key = (function, tag_label(tag))
        with self._lock:
            calls = self._calls.get(key)
            if calls is None:
                if len(self._calls) >= MAX_ROWS:
                    key = (OTHER, OTHER)
                calls = self._calls.setdefault(key, FunctionCalls())
            calls.seconds.observe(seconds)
            calls.recent.add(seconds)
            if failed:
                calls.errors += 1

    def items(self) -> list[tuple[tuple[str, str], FunctionCalls]]:
        """Every ``(function, tag)`` and its calls."""
        with self._lock:
            return list(self._calls.items())

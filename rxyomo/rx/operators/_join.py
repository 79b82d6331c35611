"""``join``: pair the items of two streams whose event times are within a window."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from .._checks import ms_to_seconds
from .._reporting import ErrorReporter, default_reporter

__all__ = ["join"]

_L = TypeVar("_L")
_R = TypeVar("_R")
_J = TypeVar("_J")

EventTime = datetime | float


def _seconds(value: EventTime) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"an event time must be a datetime or seconds, got {value!r}")
    return float(value)


def join(
    joiner: Callable[[_L, _R], _J],
    right: Observable[_R],
    time_extractor: Callable[[Any], EventTime],
    window_ms: float,
    *,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_L]], Observable[_J]]:
    """Emit ``joiner(left, right)`` for every left and right item whose event times,
    given by ``time_extractor`` (a ``datetime`` or seconds), differ by at most ``window_ms``.

    As rxgo's ``Join`` used by YoMo: times come from the items, not from a clock, and
    each stream is taken to arrive in time order, so an item falls out of the other
    side's buffer once it is more than the window older than that side's newest item.
    Each pair is emitted once, when its later item arrives. The result completes when
    both streams have completed and fails when either fails. An item whose time cannot
    be read, or a pair the joiner raises on, is reported and skipped.
    """
    window = ms_to_seconds(window_ms, "window_ms")
    report = (reporter or default_reporter()).report

    def _join(left: Observable[_L]) -> Observable[_J]:
        def subscribe(
            observer: abc.ObserverBase[_J], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            lock = threading.RLock()
            lefts: deque[tuple[float, _L]] = deque()
            rights: deque[tuple[float, _R]] = deque()
            open_sides = [2]

            def stamp(value: Any) -> float | None:
                try:
                    return _seconds(time_extractor(value))
                except Exception as exc:
                    report("join", value, exc)
                    return None

            def emit(pair_left: _L, pair_right: _R) -> None:
                try:
                    joined = joiner(pair_left, pair_right)
                except Exception as exc:
                    report("join", (pair_left, pair_right), exc)
                    return
                observer.on_next(joined)

            def on_left(value: _L) -> None:
                with lock:
                    at = stamp(value)
                    if at is None:
                        return
                    while rights and rights[0][0] < at - window:
                        rights.popleft()
                    lefts.append((at, value))
                    for r_at, r_value in tuple(rights):
                        if abs(at - r_at) <= window:
                            emit(value, r_value)

            def on_right(value: _R) -> None:
                with lock:
                    at = stamp(value)
                    if at is None:
                        return
                    while lefts and lefts[0][0] < at - window:
                        lefts.popleft()
                    rights.append((at, value))
                    for l_at, l_value in tuple(lefts):
                        if abs(at - l_at) <= window:
                            emit(l_value, value)

            def on_error(error: Exception) -> None:
                with lock:
                    observer.on_error(error)

            def on_completed() -> None:
                with lock:
                    open_sides[0] -= 1
                    if open_sides[0] == 0:
                        observer.on_completed()

            return CompositeDisposable(
                left.subscribe(on_left, on_error, on_completed, scheduler=scheduler),
                right.subscribe(on_right, on_error, on_completed, scheduler=scheduler),
            )

        return Observable(subscribe)

    return _join

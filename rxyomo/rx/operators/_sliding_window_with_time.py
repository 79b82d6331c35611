"""``sliding_window_with_time``: hand the items of the last T ms to a handler every S ms."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from reactivex import Observable, abc

from .._checks import period_to_seconds
from .._reporting import ErrorReporter, default_reporter
from .._timing import pick_scheduler, subscribe_with_ticks

__all__ = ["sliding_window_with_time"]

_T = TypeVar("_T")


def sliding_window_with_time(
    window_ms: float,
    slide_ms: float,
    handler: Callable[[list[_T]], object],
    *,
    scheduler: abc.SchedulerBase | None = None,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Every ``slide_ms`` call ``handler(items)`` with the items that arrived in the last
    ``window_ms`` (if there are any); pass every item on unchanged, at once.

    As YoMo's ``SlidingWindowWithTime(windowTimeInMS, slideTimeInMS, handler)``: the
    stream carries the original items; when the source ends the handler gets the last
    window once more, then the end is passed on. A handler that raises is reported and
    the stream goes on.
    """
    window = timedelta(seconds=period_to_seconds(window_ms, "window_ms"))
    if not window:  # shorter than a timedelta can hold
        raise ValueError(f"window_ms must be at least 0.001 ms, got {window_ms!r}")
    slide = period_to_seconds(slide_ms, "slide_ms")
    report = (reporter or default_reporter()).report

    def _sliding_window_with_time(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = pick_scheduler(scheduler, subscribe_scheduler)
            arrived: deque[tuple[datetime, _T]] = deque()

            def check() -> None:
                oldest = sched.now - window
                while arrived and arrived[0][0] < oldest:
                    arrived.popleft()
                if arrived:
                    items = [value for _, value in arrived]
                    try:
                        handler(items)
                    except Exception as exc:
                        report("sliding_window_with_time", items, exc)

            def on_next(value: _T) -> None:
                arrived.append((sched.now, value))
                observer.on_next(value)

            return subscribe_with_ticks(
                source, observer, on_next, sched, slide, check, subscribe_scheduler
            )

        return Observable(subscribe)

    return _sliding_window_with_time

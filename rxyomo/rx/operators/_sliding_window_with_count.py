"""``sliding_window_with_count``: hand the last N items to a handler every M items."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from .._checks import check_count
from .._reporting import ErrorReporter, default_reporter

__all__ = ["sliding_window_with_count"]

_T = TypeVar("_T")


def sliding_window_with_count(
    window_size: int,
    slide_size: int,
    handler: Callable[[list[_T]], object],
    *,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Call ``handler(window)`` with the last ``window_size`` items, first when the window
    fills and then after every ``slide_size`` further items; pass every item on unchanged.

    As YoMo's ``SlidingWindowWithCount`` the stream carries the original items, not the
    windows. A handler that raises is reported (with the window as the item) and the
    stream goes on. (YoMo v1.3 skipped one item after the first window when
    ``slide_size`` > 1; here every window holds the latest items.)
    """
    check_count(window_size, "window_size")
    check_count(slide_size, "slide_size")
    report = (reporter or default_reporter()).report

    def _sliding_window_with_count(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            window: deque[_T] = deque(maxlen=window_size)
            seen = 0

            def on_next(value: _T) -> None:
                nonlocal seen
                window.append(value)
                seen += 1
                if seen >= window_size and (seen - window_size) % slide_size == 0:
                    items = list(window)
                    try:
                        handler(items)
                    except Exception as exc:
                        report("sliding_window_with_count", items, exc)
                observer.on_next(value)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return _sliding_window_with_count

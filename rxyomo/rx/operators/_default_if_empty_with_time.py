"""``default_if_empty_with_time``: a default item whenever the stream stays quiet."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from .._checks import period_to_seconds
from .._timing import pick_scheduler, restartable

__all__ = ["default_if_empty_with_time"]

_T = TypeVar("_T")
_D = TypeVar("_D")


def default_if_empty_with_time(
    milliseconds: float, default: _D, *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[_T]], Observable[_T | _D]]:
    """Pass items through; each time ``milliseconds`` go by without one, emit ``default``.

    As in YoMo v1.3 the wait restarts after every item and after every default, so a
    silent stream yields ``default`` once per period until it completes.
    """
    quiet = period_to_seconds(milliseconds)

    def _default_if_empty_with_time(source: Observable[_T]) -> Observable[_T | _D]:
        def subscribe(
            observer: abc.ObserverBase[_T | _D],
            subscribe_scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            sched = pick_scheduler(scheduler, subscribe_scheduler)
            restart, timer = restartable(sched, quiet, lambda: observer.on_next(default))

            def on_next(value: _T) -> None:
                restart()
                observer.on_next(value)

            def on_error(error: Exception) -> None:
                timer.dispose()
                observer.on_error(error)

            def on_completed() -> None:
                timer.dispose()
                observer.on_completed()

            restart()
            subscription = source.subscribe(
                on_next, on_error, on_completed, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(timer, subscription)

        return Observable(subscribe)

    return _default_if_empty_with_time

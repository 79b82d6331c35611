"""``repeat``: replay a finished stream's items, as rxgo's ``Repeat(count, frequency)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, MultipleAssignmentDisposable

from .._checks import check_count, ms_to_seconds
from .._timing import pick_scheduler

__all__ = ["INFINITE", "repeat"]

_T = TypeVar("_T")

#: ``count`` for a replay that never stops (rxgo's ``Infinite``).
INFINITE = -1


def repeat(
    count: int,
    interval_ms: float | None = None,
    *,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Pass the items on; when the source completes, emit the same items again ``count``
    more times (``INFINITE`` for ever), waiting ``interval_ms`` before each replay.

    As rxgo's ``Repeat`` the replay is of the recorded items: the source is not
    subscribed to again. Each replay is scheduled on the stream's scheduler (at once when
    no interval is given), so an endless replay never blocks the event loop.
    """
    if count != INFINITE:
        check_count(count, "count", minimum=0)
    delay = 0.0 if interval_ms is None else ms_to_seconds(interval_ms, "interval_ms")

    def _repeat(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = pick_scheduler(scheduler, subscribe_scheduler)
            recorded: list[_T] = []
            left = count
            # Not serial: a replay may run inside its own schedule call.
            replays = MultipleAssignmentDisposable()

            def on_next(value: _T) -> None:
                recorded.append(value)
                observer.on_next(value)

            def replay(_: abc.SchedulerBase, __: Any = None) -> None:
                nonlocal left
                for value in recorded:
                    if replays.is_disposed:
                        return
                    observer.on_next(value)
                if left != INFINITE:
                    left -= 1
                next_round()

            def next_round() -> None:
                if replays.is_disposed:
                    return
                if left == 0:
                    observer.on_completed()
                    return
                replays.disposable = sched.schedule_relative(delay, replay)

            subscription = source.subscribe(
                on_next, observer.on_error, next_round, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(subscription, replays)

        return Observable(subscribe)

    return _repeat

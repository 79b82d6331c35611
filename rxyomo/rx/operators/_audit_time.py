"""``audit_time``: the last item of each period, as YoMo's ``AuditTime``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from .._checks import period_to_seconds
from .._timing import pick_scheduler, subscribe_with_ticks

__all__ = ["audit_time"]

_T = TypeVar("_T")


def audit_time(
    milliseconds: float, *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Every ``milliseconds`` from subscription, emit the latest item of that period.

    YoMo v1.3 built this as ``BufferWithTime(ms)`` followed by "last of the buffer": a
    period without items emits nothing, and the pending item is emitted before the
    stream completes or fails.
    """
    period = period_to_seconds(milliseconds)

    def _audit_time(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = pick_scheduler(scheduler, subscribe_scheduler)
            pending: list[_T] = []  # zero or one item

            def flush() -> None:
                if pending:
                    observer.on_next(pending.pop())

            def on_next(value: _T) -> None:
                pending[:] = (value,)

            return subscribe_with_ticks(
                source, observer, on_next, sched, period, flush, subscribe_scheduler
            )

        return Observable(subscribe)

    return _audit_time

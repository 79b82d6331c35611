"""``retry``: subscribe again after a failure, if the failure says so."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import (
    CompositeDisposable,
    SerialDisposable,
    SingleAssignmentDisposable,
)
from reactivex.scheduler import CurrentThreadScheduler

from .._checks import check_count

__all__ = ["resubscribing", "retry"]

_T = TypeVar("_T")


def resubscribing(
    source: Observable[_T],
    delays: Callable[[], Iterator[float]],
    should_retry: Callable[[Exception], bool] | None,
    scheduler: Callable[[abc.SchedulerBase | None], abc.SchedulerBase],
) -> Observable[_T]:
    """``source``, subscribed again after each failure ``should_retry`` accepts, waiting
    each time the next of ``delays()`` seconds; when they run out the failure is passed on.
    """

    def subscribe(
        observer: abc.ObserverBase[_T], subscribe_scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        sched = scheduler(subscribe_scheduler)
        waits = delays()
        # Separate slots: an attempt may fail (and schedule the next) inside its own
        # subscribe call, before its disposable is known.
        subscription = SerialDisposable()
        timer = SerialDisposable()
        whole = CompositeDisposable(subscription, timer)

        def attempt(_: abc.SchedulerBase | None = None, __: Any = None) -> None:
            if whole.is_disposed:
                return
            current = SingleAssignmentDisposable()
            subscription.disposable = current
            current.disposable = source.subscribe(
                observer.on_next, on_error, observer.on_completed, scheduler=subscribe_scheduler
            )

        def on_error(error: Exception) -> None:
            wait = next(waits, None)
            try:
                again = wait is not None and (should_retry is None or should_retry(error))
            except Exception as exc:
                exc.__context__ = error
                observer.on_error(exc)
                return
            if not again:
                observer.on_error(error)
            elif not whole.is_disposed:
                assert wait is not None
                timer.disposable = sched.schedule_relative(wait, attempt)

        attempt()
        return whole

    return Observable(subscribe)


def retry(
    count: int, should_retry: Callable[[Exception], bool] | None = None
) -> Callable[[Observable[_T]], Observable[_T]]:
    """On a failure, subscribe to the source again, at most ``count`` times and only when
    ``should_retry(error)`` is true (always, if not given); then pass the failure on.

    As rxgo's ``Retry(count, shouldRetry)``. Items emitted before a failure are not taken
    back. A new attempt runs on a trampoline, so many quick failures never nest deeply.
    """
    check_count(count, "count", minimum=0)

    def _retry(source: Observable[_T]) -> Observable[_T]:
        return resubscribing(
            source,
            lambda: itertools.repeat(0.0, count),
            should_retry,
            lambda _: CurrentThreadScheduler.singleton(),
        )

    return _retry

"""Timers for the operators: on the stream's scheduler, never a hop per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable
from reactivex.scheduler import TimeoutScheduler

__all__ = ["every", "pick_scheduler", "restartable", "subscribe_with_ticks"]

_T = TypeVar("_T")


def pick_scheduler(
    own: abc.SchedulerBase | None, subscribed: abc.SchedulerBase | None
) -> abc.SchedulerBase:
    """The scheduler a timed operator uses, in reactivex's order of precedence:
    the operator's own, then the one given at subscription, then a thread timer."""
    return own or subscribed or TimeoutScheduler.singleton()


def every(
    scheduler: abc.SchedulerBase, period: float, tick: Callable[[], None]
) -> abc.DisposableBase:
    """Call ``tick`` every ``period`` seconds until the returned disposable is disposed.

    Written on ``schedule_relative`` alone, so that it works on any scheduler, the
    virtual-time test scheduler included.
    """
    timer = SerialDisposable()

    def action(_: abc.SchedulerBase, __: Any = None) -> None:
        if timer.is_disposed:
            return
        timer.disposable = scheduler.schedule_relative(period, action)
        tick()

    timer.disposable = scheduler.schedule_relative(period, action)
    return timer


def subscribe_with_ticks(
    source: Observable[_T],
    observer: abc.ObserverBase[_T],
    on_next: Callable[[_T], None],
    scheduler: abc.SchedulerBase,
    period: float,
    tick: Callable[[], None],
    subscribe_scheduler: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Subscribe to ``source`` with ``on_next`` taking its items, and call ``tick`` every
    ``period`` seconds; when ``source`` ends, stop the timer, ``tick`` once more, then pass
    the completion or the error on to ``observer``.

    The shape of the operators that gather items and let them out on a clock.
    """

    def last_tick() -> None:
        timer.dispose()
        tick()

    def on_error(error: Exception) -> None:
        last_tick()
        observer.on_error(error)

    def on_completed() -> None:
        last_tick()
        observer.on_completed()

    timer = every(scheduler, period, tick)
    subscription = source.subscribe(on_next, on_error, on_completed, scheduler=subscribe_scheduler)
    return CompositeDisposable(timer, subscription)


def restartable(
    scheduler: abc.SchedulerBase, delay: float, fire: Callable[[], None]
) -> tuple[Callable[[], None], abc.DisposableBase]:
    """A one-shot timer that ``restart()`` pushes back; firing re-arms it.

    Returns ``(restart, disposable)``; nothing fires until the first ``restart()``.
    """
    timer = SerialDisposable()

    def action(_: abc.SchedulerBase, __: Any = None) -> None:
        if timer.is_disposed:
            return
        restart()
        fire()

    def restart() -> None:
        if not timer.is_disposed:
            timer.disposable = scheduler.schedule_relative(delay, action)

    return restart, timer

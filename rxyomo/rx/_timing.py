"""Timers for the operators: on the stream's scheduler, never a hop per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivex import abc
from reactivex.disposable import SerialDisposable
from reactivex.scheduler import TimeoutScheduler

__all__ = ["every", "pick_scheduler", "restartable"]


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

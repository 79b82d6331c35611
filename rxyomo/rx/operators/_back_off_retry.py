"""``back_off_retry``: subscribe again after a failure, waiting longer each time."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from reactivex import Observable, abc

from .._checks import ms_to_seconds
from .._timing import pick_scheduler
from ._retry import resubscribing

__all__ = ["back_off_retry", "exponential_backoff"]

_T = TypeVar("_T")


def exponential_backoff(
    initial_ms: float = 500.0,
    multiplier: float = 1.5,
    max_interval_ms: float = 60_000.0,
    *,
    max_retries: int | None = None,
    jitter: float = 0.0,
) -> Callable[[], Iterator[float]]:
    """A back-off policy for :func:`back_off_retry`: waits of ``initial_ms``, times
    ``multiplier`` each retry, capped at ``max_interval_ms``, each spread by up to
    ``jitter`` (0..1) either way; ``max_retries`` waits, or endless when None.

    The defaults are those of the Go ``backoff`` package YoMo used, without its jitter.
    """
    ms_to_seconds(initial_ms, "initial_ms")
    ms_to_seconds(max_interval_ms, "max_interval_ms")
    if not multiplier >= 1.0:
        raise ValueError(f"multiplier must be >= 1, got {multiplier!r}")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in 0..1, got {jitter!r}")

    def waits() -> Iterator[float]:
        counter = itertools.count() if max_retries is None else range(max_retries)
        wait = initial_ms
        for _ in counter:
            spread = wait * jitter
            yield max(0.0, wait + random.uniform(-spread, spread)) if spread else wait
            wait = min(wait * multiplier, max_interval_ms)

    return waits


def back_off_retry(
    backoff: Iterable[float] | Callable[[], Iterable[float]],
    should_retry: Callable[[Exception], bool] | None = None,
    *,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """On a failure, wait the next of the ``backoff`` waits (milliseconds) and subscribe
    to the source again; when the waits run out, pass the failure on.

    ``backoff`` is a re-iterable of waits (``[100, 200, 400]``) or a function returning a
    fresh iterable per subscription (:func:`exponential_backoff`). As YoMo's
    ``BackOffRetry(backoff.BackOff)``; the waits run on the stream's scheduler.
    """

    def delays() -> Iterator[float]:
        waits = backoff() if callable(backoff) else backoff
        return (ms_to_seconds(wait, "a back-off wait") for wait in waits)

    def _back_off_retry(source: Observable[_T]) -> Observable[_T]:
        return resubscribing(
            source, delays, should_retry, lambda subscribed: pick_scheduler(scheduler, subscribed)
        )

    return _back_off_retry

"""Time- and count-windowed operators of ``RxStream``; times in milliseconds, as YoMo's.

Timers run on the stream's scheduler (the stream function's event loop in the runtime);
the items themselves are never hopped through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from reactivex import Observable
from reactivex import operators as ops

from . import operators as yops
from ._checks import check_count, ms_to_seconds, period_to_seconds
from ._core import StreamCore, as_observable

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["TimeMethods"]

T = TypeVar("T")
U = TypeVar("U")


def _not_empty(buffer: list[Any]) -> bool:
    return bool(buffer)


class TimeMethods(StreamCore[T]):
    """Debounce, buffers, windows, sampling, timestamps, joins and replays."""

    __slots__ = ()

    def debounce(self, milliseconds: float) -> RxStream[T]:
        """An item only once ``milliseconds`` pass without a newer one."""
        return self._next(
            self._observable.pipe(ops.debounce(ms_to_seconds(milliseconds), self._scheduler))
        )

    def buffer_with_count(self, count: int) -> RxStream[list[T]]:
        """Lists of ``count`` items; the rest as a shorter list at the end."""
        return self._next(
            self._observable.pipe(ops.buffer_with_count(check_count(count)), ops.filter(_not_empty))
        )

    def buffer_with_time(self, milliseconds: float) -> RxStream[list[T]]:
        """A list of the items of each ``milliseconds`` period; an empty period gives none
        (as rxgo, unlike reactivex)."""
        return self._next(
            self._observable.pipe(
                ops.buffer_with_time(period_to_seconds(milliseconds), scheduler=self._scheduler),
                ops.filter(_not_empty),
            )
        )

    def buffer_with_time_or_count(self, milliseconds: float, count: int) -> RxStream[list[T]]:
        """A list when ``count`` items are in or ``milliseconds`` have passed, whichever is
        first; no empty lists."""
        return self._next(
            self._observable.pipe(
                ops.buffer_with_time_or_count(
                    period_to_seconds(milliseconds), check_count(count), self._scheduler
                ),
                ops.filter(_not_empty),
            )
        )

    def window_with_count(self, count: int) -> RxStream[Observable[T]]:
        """A stream (an ``Observable``) of each ``count`` items."""
        return self._next(self._observable.pipe(ops.window_with_count(check_count(count))))

    def window_with_time(self, milliseconds: float) -> RxStream[Observable[T]]:
        """A stream (an ``Observable``) of each ``milliseconds`` period's items."""
        return self._next(
            self._observable.pipe(
                ops.window_with_time(period_to_seconds(milliseconds), scheduler=self._scheduler)
            )
        )

    def window_with_time_or_count(self, milliseconds: float, count: int) -> RxStream[Observable[T]]:
        """A stream per ``count`` items or ``milliseconds``, whichever is first."""
        return self._next(
            self._observable.pipe(
                ops.window_with_time_or_count(
                    period_to_seconds(milliseconds), check_count(count), self._scheduler
                )
            )
        )

    def sample(self, sampler: Any) -> RxStream[T]:
        """The latest item each time ``sampler`` (a stream, or a period in milliseconds)
        emits, if a new one came since."""
        if isinstance(sampler, (int, float)) and not isinstance(sampler, bool):
            return self._next(
                self._observable.pipe(
                    ops.sample(period_to_seconds(sampler), scheduler=self._scheduler)
                )
            )
        return self._next(self._observable.pipe(ops.sample(as_observable(sampler))))

    def timestamp(self) -> RxStream[Any]:
        """Each item as ``Timestamp(value, timestamp)``, the time it passed by."""
        return self._next(self._observable.pipe(ops.timestamp(scheduler=self._scheduler)))

    def time_interval(self) -> RxStream[Any]:
        """Each item as ``TimeInterval(value, interval)``, the time since the previous one
        (rxgo emitted the interval alone)."""
        return self._next(self._observable.pipe(ops.time_interval(scheduler=self._scheduler)))

    def join(
        self,
        joiner: Callable[[T, Any], U],
        right: Any,
        time_extractor: Callable[[Any], Any],
        window_ms: float,
    ) -> RxStream[U]:
        """``joiner(left, right)`` for each pair whose event times (``time_extractor``: a
        ``datetime`` or seconds) are within ``window_ms`` (rxgo's ``Join``)."""
        return self._next(
            self._observable.pipe(
                yops.join(
                    joiner,
                    as_observable(right),
                    time_extractor,
                    window_ms,
                    reporter=self._reporter,
                )
            )
        )

    def repeat(self, count: int, interval_ms: float | None = None) -> RxStream[T]:
        """After the source completes, replay its items ``count`` more times
        (``operators.INFINITE``: for ever), ``interval_ms`` apart (rxgo's ``Repeat``)."""
        return self._next(
            self._observable.pipe(yops.repeat(count, interval_ms, scheduler=self._scheduler))
        )

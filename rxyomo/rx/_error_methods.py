"""Failure handling of ``RxStream``: retries and recovery from a failed stream.

These act on a stream that *ended* with an error. A single failing item never ends a
stream (see :mod:`rxyomo.rx._reporting`), so it never reaches them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from . import operators as yops
from ._core import StreamCore, as_observable

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["ErrorMethods"]

T = TypeVar("T")
U = TypeVar("U")


class ErrorMethods(StreamCore[T]):
    """rxgo's ``Retry``, ``BackOffRetry`` and ``OnError*``."""

    __slots__ = ()

    def retry(
        self, count: int, should_retry: Callable[[Exception], bool] | None = None
    ) -> RxStream[T]:
        """Subscribe to the source again after a failure, at most ``count`` times, when
        ``should_retry(error)`` allows (always, if not given)."""
        return self._next(self._observable.pipe(yops.retry(count, should_retry)))

    def back_off_retry(
        self,
        backoff: Iterable[float] | Callable[[], Iterable[float]],
        should_retry: Callable[[Exception], bool] | None = None,
    ) -> RxStream[T]:
        """Subscribe again after a failure, waiting the next of the ``backoff`` waits in
        milliseconds (a list, or a policy such as ``operators.exponential_backoff()``)."""
        return self._next(
            self._observable.pipe(
                yops.back_off_retry(backoff, should_retry, scheduler=self._scheduler)
            )
        )

    def on_error_resume_next(self, resume: Callable[[Exception], Any]) -> RxStream[Any]:
        """On a failure, go on with the stream ``resume(error)`` returns."""
        return self._next(
            self._observable.pipe(ops.catch(lambda error, _: as_observable(resume(error))))
        )

    def on_error_return(self, resume: Callable[[Exception], U]) -> RxStream[T | U]:
        """On a failure, emit ``resume(error)`` and complete."""

        def handler(error: Exception, _: Observable[Any]) -> Observable[Any]:
            return reactivex.return_value(resume(error))

        return self._next(self._observable.pipe(ops.catch(handler)))

    def on_error_return_item(self, item: U) -> RxStream[T | U]:
        """On a failure, emit ``item`` and complete."""
        resumed: Observable[Any] = reactivex.return_value(item)
        return self._next(self._observable.pipe(ops.catch(resumed)))

"""The state every ``RxStream`` carries, and the one way a stage makes the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import reactivex
from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

from ._reporting import ErrorReporter
from .operators import map as map_

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["StreamCore", "as_observable", "item_of", "key_of"]

T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K")

#: The two halves of a ``(key, item)`` pair, as :meth:`StreamCore._keyed` makes them.
key_of = itemgetter(0)
item_of = itemgetter(1)


def as_observable(other: Any) -> Observable[Any]:
    """An ``RxStream``, an ``Observable`` or an iterable, as an ``Observable``."""
    if isinstance(other, Observable):
        return other
    if isinstance(other, StreamCore):
        return other.observable
    if isinstance(other, Iterable) and not isinstance(other, (str, bytes)):
        return reactivex.from_iterable(other)
    raise TypeError(f"expected an RxStream, an Observable or an iterable, got {other!r}")


class StreamCore(Generic[T]):
    """An observable plus what its operators share: the timer scheduler, the event loop
    and the error reporter. Each stage wraps a new observable around the same three."""

    __slots__ = ("_loop", "_observable", "_reporter", "_scheduler")

    def __init__(
        self,
        observable: Observable[T],
        *,
        scheduler: abc.SchedulerBase | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        reporter: ErrorReporter | None = None,
    ) -> None:
        if not isinstance(observable, Observable):
            raise TypeError(f"RxStream wraps a reactivex Observable, got {observable!r}")
        if loop is None and scheduler is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        if scheduler is None and loop is not None:
            # Timers only: items are never hopped through the loop.
            scheduler = AsyncIOScheduler(loop)
        self._observable = observable
        self._scheduler = scheduler
        self._loop = loop
        self._reporter = reporter or ErrorReporter()

    @property
    def observable(self) -> Observable[T]:
        """The underlying reactivex ``Observable``."""
        return self._observable

    @property
    def scheduler(self) -> abc.SchedulerBase | None:
        """The scheduler the time-based operators set their timers on."""
        return self._scheduler

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop results of an executor are brought back to."""
        return self._loop

    @property
    def reporter(self) -> ErrorReporter:
        """The reporter of this pipeline's item errors (shared by all its stages)."""
        return self._reporter

    def pipe(self, *operators: Callable[[Observable[Any]], Observable[Any]]) -> RxStream[Any]:
        """Apply reactivex operators (or rxyomo's) and wrap the result: the escape hatch."""
        return self._next(self._observable.pipe(*operators))

    def _next(self, observable: Observable[U]) -> RxStream[U]:
        stage: Any = object.__new__(type(self))
        stage._observable = observable
        stage._scheduler = self._scheduler
        stage._loop = self._loop
        stage._reporter = self._reporter
        return cast("RxStream[U]", stage)

    def _map(self, function: Callable[[T], U], name: str) -> Observable[U]:
        return self._observable.pipe(map_(function, reporter=self._reporter, name=name))

    def _keyed(self, key: Callable[[T], K], name: str) -> Observable[tuple[K, T]]:
        """Each item paired with its key; an item whose key raises is reported, dropped."""
        return self._map(lambda item: (key(item), item), name)

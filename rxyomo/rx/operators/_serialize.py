"""``serialize``: put items back in the order of their sequence numbers."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from .._reporting import ErrorReporter, default_reporter

__all__ = ["serialize"]

_T = TypeVar("_T")


def serialize(
    start: int,
    identifier: Callable[[_T], int],
    *,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Emit the items in the order of ``identifier(item)``, starting at ``start``: an item
    that comes early waits until every smaller number has been emitted.

    As rxgo's ``Serialize(from, identifier)``. An item whose number raises, is not an int,
    is already past or is already waiting is reported and dropped. When the source ends,
    the items still waiting (behind a number that never came) are emitted in order
    before the end is passed on, rather than lost.
    """
    report = (reporter or default_reporter()).report

    def _serialize(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            expected = start
            waiting: list[tuple[int, int, _T]] = []  # (number, arrival, item): a heap
            numbers: set[int] = set()
            arrival = itertools.count()

            def on_next(value: _T) -> None:
                nonlocal expected
                try:
                    number = identifier(value)
                    if isinstance(number, bool) or not isinstance(number, int):
                        raise TypeError(f"identifier returned {number!r}, not an int")
                    if number < expected or number in numbers:
                        raise ValueError(f"sequence number {number} was already seen")
                except Exception as exc:
                    report("serialize", value, exc)
                    return
                if number != expected:
                    numbers.add(number)
                    heapq.heappush(waiting, (number, next(arrival), value))
                    return
                observer.on_next(value)
                expected += 1
                while waiting and waiting[0][0] == expected:
                    numbers.discard(expected)
                    observer.on_next(heapq.heappop(waiting)[2])
                    expected += 1

            def drain() -> None:
                while waiting:
                    observer.on_next(heapq.heappop(waiting)[2])
                numbers.clear()

            def on_error(error: Exception) -> None:
                drain()
                observer.on_error(error)

            def on_completed() -> None:
                drain()
                observer.on_completed()

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return _serialize

"""``map`` with YoMo's continue-on-error: a failing item is reported and dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from .._reporting import ErrorReporter, default_reporter

__all__ = ["map"]

_T = TypeVar("_T")
_U = TypeVar("_U")


def map(
    mapper: Callable[[_T], _U],
    *,
    reporter: ErrorReporter | None = None,
    name: str = "map",
) -> Callable[[Observable[_T]], Observable[_U]]:
    """Apply ``mapper`` to each item; an item it raises on is reported as ``name``, skipped.

    Unlike ``reactivex.operators.map`` the stream goes on after a failing item, as YoMo's
    ``Map`` did under rxgo's ``ContinueOnError`` strategy.
    """
    report = (reporter or default_reporter()).report

    def _map(source: Observable[_T]) -> Observable[_U]:
        def subscribe(
            observer: abc.ObserverBase[_U], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            emit = observer.on_next

            def on_next(value: _T) -> None:
                try:
                    result = mapper(value)
                except Exception as exc:
                    report(name, value, exc)
                    return
                emit(result)  # outside the try: a downstream failure is not ours

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return _map

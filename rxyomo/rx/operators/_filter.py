"""``filter`` with YoMo's continue-on-error: an item the predicate raises on is dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from .._reporting import ErrorReporter, default_reporter

__all__ = ["filter"]

_T = TypeVar("_T")


def filter(
    predicate: Callable[[_T], object],
    *,
    reporter: ErrorReporter | None = None,
    name: str = "filter",
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Keep the items ``predicate`` accepts; one it raises on is reported as ``name``, dropped."""
    report = (reporter or default_reporter()).report

    def _filter(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            emit = observer.on_next

            def on_next(value: _T) -> None:
                try:
                    keep = predicate(value)
                except Exception as exc:
                    report(name, value, exc)
                    return
                if keep:
                    emit(value)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return _filter

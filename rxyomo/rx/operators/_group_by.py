"""``group_by``: split a stream into a fixed number of streams, as rxgo's ``GroupBy``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.subject import Subject

from .._checks import check_count
from .._reporting import ErrorReporter, default_reporter

__all__ = ["group_by"]

_T = TypeVar("_T")


def group_by(
    length: int,
    distribution: Callable[[_T], int],
    *,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_T]], Observable[Observable[_T]]]:
    """Emit ``length`` streams at subscription, then send each item to stream number
    ``distribution(item)``.

    The groups are hot: subscribe to each as it is emitted (``flat_map`` or
    ``merge_all`` do) or its first items are missed. An item whose index raises or falls
    outside ``0..length-1`` is reported and dropped (rxgo ended every group instead).
    The groups complete or fail with the source.
    """
    check_count(length, "length")
    report = (reporter or default_reporter()).report

    def _group_by(source: Observable[_T]) -> Observable[Observable[_T]]:
        def subscribe(
            observer: abc.ObserverBase[Observable[_T]],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            groups: list[Subject[_T]] = [Subject() for _ in range(length)]
            for group in groups:
                observer.on_next(group.pipe(ops.as_observable()))

            def on_next(value: _T) -> None:
                try:
                    index = distribution(value)
                    if isinstance(index, bool) or not isinstance(index, int):
                        raise TypeError(f"distribution returned {index!r}, not an int")
                    if not 0 <= index < length:
                        raise IndexError(f"group index {index} outside 0..{length - 1}")
                except Exception as exc:
                    report("group_by", value, exc)
                    return
                groups[index].on_next(value)

            def on_error(error: Exception) -> None:
                for group in groups:
                    group.on_error(error)
                observer.on_error(error)

            def on_completed() -> None:
                for group in groups:
                    group.on_completed()
                observer.on_completed()

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return _group_by

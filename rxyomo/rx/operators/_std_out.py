"""``std_out``: print each item as YoMo's ``StdOut`` did, and pass it on."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO, TypeVar

from reactivex import Observable, abc

__all__ = ["std_out"]

_T = TypeVar("_T")


def std_out(file: TextIO | None = None) -> Callable[[Observable[_T]], Observable[_T]]:
    """Write ``[StdOut]:  <item>`` for each item to ``file`` (standard output by default)."""

    def _std_out(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            # Looked up at subscription, so that a redirected sys.stdout is honoured.
            out = file if file is not None else sys.stdout

            def on_next(value: _T) -> None:
                print("[StdOut]: ", value, file=out)
                observer.on_next(value)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return _std_out

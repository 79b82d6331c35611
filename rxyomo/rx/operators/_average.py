"""``average``: the mean of a stream of numbers, as YoMo's ``Average<Kind>`` family."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, compose
from reactivex import operators as ops

from .._reporting import ErrorReporter
from ._map import map as map_
from ._numbers import NumberKind, checker, finish

__all__ = ["average"]


_EMPTY: tuple[float, int] = (0, 0)


def _accumulate(acc: tuple[float, int], value: float) -> tuple[float, int]:
    return acc[0] + value, acc[1] + 1


def average(
    kind: NumberKind = "float64", *, reporter: ErrorReporter | None = None
) -> Callable[[Observable[object]], Observable[float]]:
    """Emit the mean of the items when the source completes; ``0`` for an empty stream.

    ``kind`` is the Go number kind of YoMo's ``AverageFloat32`` ... ``AverageInt64``: the
    float kinds take ints and floats and give a float (rounded to single precision for
    ``"float32"``); the int kinds take ints in their range and give the mean truncated
    toward zero, as Go's integer division does. An item of the wrong kind is reported and
    left out.
    """
    check = checker(kind)
    integral = not kind.startswith("float")

    def mean(total_count: tuple[float, int]) -> float:
        total, count = total_count
        if count == 0:
            return finish(kind, 0)
        if integral:
            quotient = abs(int(total)) // count
            return quotient if total >= 0 else -quotient
        return finish(kind, total / count)

    return compose(
        map_(check, reporter=reporter, name=f"average_{kind}"),
        ops.reduce(_accumulate, _EMPTY),
        ops.map(mean),
    )

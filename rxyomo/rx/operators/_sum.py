"""``sum``: the total of a stream of numbers, as YoMo's ``Sum<Kind>`` family."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from reactivex import Observable, compose
from reactivex import operators as ops

from .._reporting import ErrorReporter
from ._map import map as map_
from ._numbers import NumberKind, checker, finish

__all__ = ["sum"]


def _add(total: float, value: float) -> float:
    return total + value


def sum(  # the family's Python name; the builtin is not needed here
    kind: NumberKind = "float64", *, reporter: ErrorReporter | None = None
) -> Callable[[Observable[object]], Observable[float]]:
    """Emit the total of the items when the source completes; nothing for an empty stream.

    ``kind`` is the Go number kind of YoMo's ``SumFloat32``, ``SumFloat64`` and
    ``SumInt64``: float kinds take ints and floats (a float32 total is rounded to single
    precision), int kinds take ints in their range. An item of the wrong kind is
    reported and left out.
    """
    check = checker(kind)
    return compose(
        map_(check, reporter=reporter, name=f"sum_{kind}"),
        ops.scan(_add, 0.0 if kind.startswith("float") else 0),
        ops.take_last(1),
        ops.map(partial(finish, kind)),
    )

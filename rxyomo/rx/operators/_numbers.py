"""Checks for the typed numeric aggregates (``average_*``, ``sum_*``): Go's number kinds."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Literal

__all__ = ["NumberKind", "checker", "finish"]

NumberKind = Literal["float32", "float64", "int", "int8", "int16", "int32", "int64"]

_INT_BITS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64}


def checker(kind: NumberKind) -> Callable[[object], float]:
    """A function returning an item as a number of ``kind``, or raising a typed error."""
    if kind in ("float32", "float64"):

        def as_float(value: object) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"expected an int or a float, got {value!r}")
            return value

        return as_float
    if kind not in _INT_BITS:
        raise ValueError(f"unknown number kind {kind!r}")
    bound = 1 << (_INT_BITS[kind] - 1)

    def as_int(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an {kind}, got {value!r}")
        if not -bound <= value < bound:
            raise OverflowError(f"{value} does not fit an {kind}")
        return value

    return as_int


def finish(kind: NumberKind, value: float) -> float:
    """``value`` as Go would hold it in ``kind``: float32 rounding, int truncation."""
    if kind == "float32":
        return float(struct.unpack("f", struct.pack("f", value))[0])
    return float(value) if kind == "float64" else int(value)

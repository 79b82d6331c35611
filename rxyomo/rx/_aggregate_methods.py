"""Operators of ``RxStream`` that emit one result when the source completes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from reactivex import Observable
from reactivex import operators as ops

from . import operators as yops
from ._core import StreamCore, as_observable, item_of, key_of

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["AggregateMethods"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class AggregateMethods(StreamCore[T]):
    """rxgo's aggregates. Where rxgo returned an "optional single" (``Reduce``, ``Max``,
    ``Sum*``), an empty stream gives no item rather than reactivex's error."""

    __slots__ = ()

    def all(self, predicate: Callable[[T], object]) -> RxStream[bool]:
        """``True`` if every item satisfies ``predicate`` (``False`` as soon as one fails)."""
        return self._next(self._keyed(predicate, "all").pipe(ops.all(key_of)))

    def contains(self, predicate: Callable[[T], object]) -> RxStream[bool]:
        """``True`` as soon as an item satisfies ``predicate``, else ``False`` at the end
        (rxgo's ``Contains`` takes a predicate, not a value)."""
        return self._next(self._keyed(predicate, "contains").pipe(ops.some(key_of)))

    def count(self) -> RxStream[int]:
        """The number of items."""
        return self._next(self._observable.pipe(ops.count()))

    def _average(self, kind: yops.NumberKind) -> RxStream[float]:
        return self._next(self._observable.pipe(yops.average(kind, reporter=self._reporter)))

    def average_float32(self) -> RxStream[float]:
        """The mean as a float32 (ints and floats accepted); ``0`` when empty."""
        return self._average("float32")

    def average_float64(self) -> RxStream[float]:
        """The mean as a float64 (ints and floats accepted); ``0`` when empty."""
        return self._average("float64")

    def average_int(self) -> RxStream[float]:
        """The mean of ints, truncated toward zero as Go's ``int`` division; ``0`` when empty."""
        return self._average("int")

    def average_int8(self) -> RxStream[float]:
        """``average_int`` for items in the int8 range."""
        return self._average("int8")

    def average_int16(self) -> RxStream[float]:
        """``average_int`` for items in the int16 range."""
        return self._average("int16")

    def average_int32(self) -> RxStream[float]:
        """``average_int`` for items in the int32 range."""
        return self._average("int32")

    def average_int64(self) -> RxStream[float]:
        """``average_int`` for items in the int64 range."""
        return self._average("int64")

    def _sum(self, kind: yops.NumberKind) -> RxStream[float]:
        return self._next(self._observable.pipe(yops.sum(kind, reporter=self._reporter)))

    def sum_float32(self) -> RxStream[float]:
        """The total as a float32; nothing when empty."""
        return self._sum("float32")

    def sum_float64(self) -> RxStream[float]:
        """The total as a float64; nothing when empty."""
        return self._sum("float64")

    def sum_int64(self) -> RxStream[float]:
        """The total of int64 items; nothing when empty."""
        return self._sum("int64")

    def reduce(self, accumulator: Callable[[Any, T], Any], *seed: Any) -> RxStream[Any]:
        """The last result of ``accumulator(acc, item)``, from ``seed`` if given, else from
        the first item. Nothing for an empty stream without a seed; ``seed`` for one with.
        An item the accumulator raises on is reported and left out."""
        if len(seed) > 1:
            raise TypeError("reduce() takes at most one seed")
        report = self._reporter.report

        def step(acc: Any, item: T) -> Any:
            try:
                return accumulator(acc, item)
            except Exception as exc:
                report("reduce", item, exc)
                return acc

        if seed:
            return self._next(self._observable.pipe(ops.reduce(step, seed[0])))
        return self._next(self._observable.pipe(ops.scan(step), ops.take_last(1)))

    def max(self, comparator: Callable[[T, T], int]) -> RxStream[T]:
        """The largest item by ``comparator(a, b)`` (negative, zero, positive as a < = > b);
        nothing for an empty stream."""
        return self.reduce(lambda best, item: item if comparator(best, item) < 0 else best)

    def min(self, comparator: Callable[[T, T], int]) -> RxStream[T]:
        """The smallest item by ``comparator``; nothing for an empty stream."""
        return self.reduce(lambda best, item: item if comparator(best, item) > 0 else best)

    def to_list(self) -> RxStream[list[T]]:
        """One list of all the items."""
        return self._next(self._observable.pipe(ops.to_list()))

    def to_map(self, key_selector: Callable[[T], K]) -> RxStream[dict[K, T]]:
        """One dict of the items by ``key_selector(item)`` (a later item wins)."""
        return self._next(self._keyed(key_selector, "to_map").pipe(ops.to_dict(key_of, item_of)))

    def to_map_with_value_selector(
        self, key_selector: Callable[[T], K], value_selector: Callable[[T], V]
    ) -> RxStream[dict[K, V]]:
        """One dict of ``value_selector(item)`` by ``key_selector(item)``."""
        return self._next(
            self._map(
                lambda item: (key_selector(item), value_selector(item)),
                "to_map_with_value_selector",
            ).pipe(ops.to_dict(key_of, item_of))
        )

    def sequence_equal(self, other: Iterable[T] | Observable[T] | StreamCore[T]) -> RxStream[bool]:
        """Whether the source and ``other`` emit equal items in the same order."""
        return self._next(self._observable.pipe(ops.sequence_equal(as_observable(other))))

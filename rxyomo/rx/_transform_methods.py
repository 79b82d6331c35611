"""Item-by-item operators of ``RxStream``: map, filter, take/skip, distinct, groups, ..."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from reactivex import Observable
from reactivex import operators as ops
from reactivex.observable.groupedobservable import GroupedObservable

from . import operators as yops
from ._checks import check_count
from ._core import StreamCore, as_observable, item_of, key_of

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["TransformMethods"]

T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K")


def _key_is_false(pair: tuple[Any, Any]) -> bool:
    return not pair[0]


class TransformMethods(StreamCore[T]):
    """rxgo's per-item operators, each on reactivex's where it has one. A user function
    that raises on an item gets that item reported and dropped (YoMo's continue-on-error).
    """

    __slots__ = ()

    def map(self, function: Callable[[T], U]) -> RxStream[U]:
        """Emit ``function(item)`` for each item."""
        return self._next(self._map(function, "map"))

    def filter(self, predicate: Callable[[T], object]) -> RxStream[T]:
        """Keep the items ``predicate`` accepts."""
        return self._next(self._observable.pipe(yops.filter(predicate, reporter=self._reporter)))

    def flat_map(self, function: Callable[[T], Any]) -> RxStream[Any]:
        """Merge the streams (``RxStream``, ``Observable`` or iterable) ``function`` returns."""
        return self._next(
            self._map(lambda item: as_observable(function(item)), "flat_map").pipe(ops.merge_all())
        )

    def scan(self, accumulator: Callable[[Any, T], Any], *seed: Any) -> RxStream[Any]:
        """Emit each running result of ``accumulator(acc, item)``, starting from ``seed``
        if given, else from the first item. An item it raises on leaves ``acc`` as it was
        and is not emitted."""
        if len(seed) > 1:
            raise TypeError("scan() takes at most one seed")
        report = self._reporter.report
        skipped = object()

        def step(state: tuple[Any, Any], item: T) -> tuple[Any, Any]:
            acc = state[0]
            if acc is skipped:
                return item, item
            try:
                acc = accumulator(acc, item)
            except Exception as exc:
                report("scan", item, exc)
                return state[0], skipped
            return acc, acc

        def emitted(state: tuple[Any, Any]) -> bool:
            return state[1] is not skipped

        start: tuple[Any, Any] = (seed[0] if seed else skipped, skipped)
        return self._next(
            self._observable.pipe(ops.scan(step, start), ops.filter(emitted), ops.map(item_of))
        )

    def distinct(self, key: Callable[[T], Any] | None = None) -> RxStream[T]:
        """Drop the items whose ``key(item)`` (the item itself by default) was seen before."""
        if key is None:
            return self._next(self._observable.pipe(ops.distinct()))
        return self._next(self._keyed(key, "distinct").pipe(ops.distinct(key_of), ops.map(item_of)))

    def distinct_until_changed(self, key: Callable[[T], Any] | None = None) -> RxStream[T]:
        """Drop the items whose key equals the previous item's."""
        if key is None:
            return self._next(self._observable.pipe(ops.distinct_until_changed()))
        return self._next(
            self._keyed(key, "distinct_until_changed").pipe(
                ops.distinct_until_changed(key_of), ops.map(item_of)
            )
        )

    def skip(self, count: int) -> RxStream[T]:
        """Drop the first ``count`` items."""
        return self._next(self._observable.pipe(ops.skip(check_count(count, minimum=0))))

    def skip_last(self, count: int) -> RxStream[T]:
        """Drop the last ``count`` items (each item is held back ``count`` items)."""
        return self._next(self._observable.pipe(ops.skip_last(check_count(count, minimum=0))))

    def skip_while(self, predicate: Callable[[T], object]) -> RxStream[T]:
        """Drop items while ``predicate`` holds, then pass everything."""
        return self._next(
            self._keyed(predicate, "skip_while").pipe(ops.skip_while(key_of), ops.map(item_of))
        )

    def take(self, count: int) -> RxStream[T]:
        """The first ``count`` items, then complete."""
        return self._next(self._observable.pipe(ops.take(check_count(count, minimum=0))))

    def take_last(self, count: int) -> RxStream[T]:
        """The last ``count`` items, when the source completes."""
        return self._next(self._observable.pipe(ops.take_last(check_count(count, minimum=0))))

    def take_until(self, predicate: Callable[[T], object]) -> RxStream[T]:
        """Items up to and including the first one ``predicate`` accepts, then complete
        (rxgo's ``TakeUntil(predicate)``, not reactivex's ``take_until(other)``)."""
        return self._next(
            self._keyed(predicate, "take_until").pipe(
                ops.take_while(_key_is_false, inclusive=True), ops.map(item_of)
            )
        )

    def take_while(self, predicate: Callable[[T], object]) -> RxStream[T]:
        """Items while ``predicate`` holds; complete at the first it rejects."""
        return self._next(
            self._keyed(predicate, "take_while").pipe(ops.take_while(key_of), ops.map(item_of))
        )

    def start_with(self, items: Iterable[T] | Observable[T] | StreamCore[T]) -> RxStream[T]:
        """Emit ``items`` (an iterable or a stream, run to its end) before the source's."""
        if isinstance(items, (Observable, StreamCore)):
            return self._next(as_observable(items).pipe(ops.concat(self._observable)))
        return self._next(self._observable.pipe(ops.start_with(*items)))

    def element_at(self, index: int) -> RxStream[T]:
        """Only the item at ``index``; an error if the source ends before it."""
        return self._next(self._observable.pipe(ops.element_at(check_count(index, minimum=0))))

    def first(self) -> RxStream[T]:
        """Only the first item; nothing for an empty stream (rxgo's ``First``)."""
        return self._next(self._observable.pipe(ops.take(1)))

    def first_or_default(self, default: T) -> RxStream[T]:
        """The first item, or ``default`` for an empty stream."""
        return self._next(self._observable.pipe(ops.first_or_default(default_value=default)))

    def last(self) -> RxStream[T]:
        """Only the last item; nothing for an empty stream (rxgo's ``Last``)."""
        return self._next(self._observable.pipe(ops.take_last(1)))

    def last_or_default(self, default: T) -> RxStream[T]:
        """The last item, or ``default`` for an empty stream."""
        return self._next(self._observable.pipe(ops.last_or_default(default_value=default)))

    def find(self, predicate: Callable[[T], object]) -> RxStream[T]:
        """The first item ``predicate`` accepts; nothing if none does (rxgo's ``Find``)."""
        return self._next(
            self._observable.pipe(
                yops.filter(predicate, reporter=self._reporter, name="find"), ops.take(1)
            )
        )

    def ignore_elements(self) -> RxStream[T]:
        """No items; only the end (completion or failure)."""
        return self._next(self._observable.pipe(ops.ignore_elements()))

    def default_if_empty(self, default: T) -> RxStream[T]:
        """``default`` if the source completes without an item."""
        return self._next(self._observable.pipe(ops.default_if_empty(default)))

    def group_by(self, length: int, distribution: Callable[[T], int]) -> RxStream[Observable[T]]:
        """``length`` streams, emitted at once; each item goes to stream
        ``distribution(item)`` (rxgo's ``GroupBy``)."""
        return self._next(
            self._observable.pipe(yops.group_by(length, distribution, reporter=self._reporter))
        )

    def group_by_dynamic(self, distribution: Callable[[T], K]) -> RxStream[GroupedObservable[K, T]]:
        """A stream per key of ``distribution(item)``, emitted when its first item arrives;
        each has the key as ``.key`` (rxgo's ``GroupByDynamic``)."""
        return self._next(
            self._keyed(distribution, "group_by_dynamic").pipe(ops.group_by(key_of, item_of))
        )

    def zip_from_iterable(
        self,
        other: Iterable[Any] | Observable[Any] | StreamCore[Any],
        zipper: Callable[[T, Any], U],
    ) -> RxStream[U]:
        """Pair the n-th item with the n-th of ``other`` and emit ``zipper(a, b)``; ends
        with the shorter."""

        def zipped(pair: tuple[Any, ...]) -> U:
            return zipper(pair[0], pair[1])

        return self._next(
            self._observable.pipe(
                ops.zip(as_observable(other)),
                yops.map(zipped, reporter=self._reporter, name="zip_from_iterable"),
            )
        )

    def do_on_next(self, action: Callable[[T], object]) -> RxStream[T]:
        """Call ``action(item)`` for each item and pass the item on (a raising action is
        reported; the item still passes). rxgo's ``DoOnNext`` subscribed; this one is a
        stage of the pipeline, run when the pipeline runs."""
        report = self._reporter.report

        def tap(item: T) -> None:
            try:
                action(item)
            except Exception as exc:
                report("do_on_next", item, exc)

        return self._next(self._observable.pipe(ops.do_action(on_next=tap)))

    def do_on_error(self, action: Callable[[Exception], object]) -> RxStream[T]:
        """Call ``action(error)`` when the stream fails, then pass the failure on."""
        return self._next(self._observable.pipe(ops.do_action(on_error=cast(Any, action))))

    def do_on_completed(self, action: Callable[[], object]) -> RxStream[T]:
        """Call ``action()`` when the stream completes, then pass the completion on."""
        return self._next(self._observable.pipe(ops.do_action(on_completed=cast(Any, action))))

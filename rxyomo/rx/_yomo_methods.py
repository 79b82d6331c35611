"""The YoMo-specific half of ``RxStream``: Y3 in and out, and YoMo's own operators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

import y3
from reactivex import Observable

from . import operators as yops
from ._core import StreamCore
from ._encoded import Encoded
from ._reporting import ItemErrorHandler

if TYPE_CHECKING:
    from ._stream import RxStream

__all__ = ["YoMoMethods"]

T = TypeVar("T")
U = TypeVar("U")


class YoMoMethods(StreamCore[T]):
    """``Subscribe``, ``OnObserve``, ``Encode``, ``RawBytes``, ``StdOut``, ``AuditTime``,
    ``DefaultIfEmptyWithTime``, the sliding windows, ``ZipMultiObservers``, ``Marshal``,
    ``Unmarshal``, ``Serialize``."""

    __slots__ = ()

    def _as_payloads(self) -> Observable[bytes]:
        # The Y3 operators read payloads; other items are reported by the codec.
        return cast("Observable[bytes]", self._observable)

    def subscribe(self, key: int, *, split_packets: bool = False) -> RxStream[bytes]:
        """Observe Y3 ``key`` in each payload: emit, for each root packet, its first child
        packet with that key, whole (tag, length and value), as YoMo's ``Subscribe(key)``.

        A payload that is not valid Y3 is reported. ``split_packets=True`` reads the
        payloads as one byte stream, where a packet may span payloads.
        """
        return self._next(
            self._as_payloads().pipe(
                yops.subscribe(key, split_packets=split_packets, reporter=self._reporter)
            )
        )

    def on_observe(
        self,
        function: Callable[[T], U],
        *,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        ordered: bool = True,
    ) -> RxStream[U]:
        """Emit ``function(item)`` (YoMo's ``OnObserve(decode)``); a failing item is reported
        and the stream goes on. Give ``executor`` and/or ``max_concurrency`` to run a
        CPU-heavy function off the event loop (see :func:`rxyomo.rx.operators.on_observe`).
        """
        return self._next(
            self._observable.pipe(
                yops.on_observe(
                    function,
                    executor=executor,
                    max_concurrency=max_concurrency,
                    ordered=ordered,
                    loop=self._loop,
                    reporter=self._reporter,
                )
            )
        )

    def encode(
        self, key: int, *, dialect: y3.Dialect | None = None, type_: object = None
    ) -> RxStream[Encoded]:
        """Marshal each item as Y3 under ``key`` into an :class:`Encoded` for the runtime to
        send as a Data frame tagged ``key`` (YoMo's ``Encode(key)``). ``dialect`` defaults to
        the codec-golang dialect of YoMo v1.x; ``type_`` (e.g. ``y3.Kind.FLOAT32``) fixes the
        Y3 type. An item that cannot be marshalled is reported and dropped.
        """
        return self._next(
            self._observable.pipe(
                yops.encode(key, dialect=dialect, type_=type_, reporter=self._reporter)
            )
        )

    def raw_bytes(self) -> RxStream[bytes]:
        """Each item as ``bytes``: the whole payload of each Data frame (YoMo's ``RawBytes``)."""
        return self._next(self._observable.pipe(yops.raw_bytes(reporter=self._reporter)))

    def std_out(self, file: TextIO | None = None) -> RxStream[T]:
        """Print ``[StdOut]:  <item>`` for each item and pass it on (YoMo's ``StdOut``)."""
        return self._next(self._observable.pipe(yops.std_out(file)))

    def audit_time(self, milliseconds: float) -> RxStream[T]:
        """The latest item of each ``milliseconds`` period (YoMo's ``AuditTime``)."""
        return self._next(
            self._observable.pipe(yops.audit_time(milliseconds, scheduler=self._scheduler))
        )

    def default_if_empty_with_time(self, milliseconds: float, default: U) -> RxStream[T | U]:
        """Emit ``default`` each time ``milliseconds`` pass without an item
        (YoMo's ``DefaultIfEmptyWithTime``)."""
        return self._next(
            self._observable.pipe(
                yops.default_if_empty_with_time(milliseconds, default, scheduler=self._scheduler)
            )
        )

    def sliding_window_with_count(
        self, window_size: int, slide_size: int, handler: Callable[[list[T]], object]
    ) -> RxStream[T]:
        """Call ``handler`` with the last ``window_size`` items every ``slide_size`` items;
        the stream carries the original items (YoMo's ``SlidingWindowWithCount``)."""
        return self._next(
            self._observable.pipe(
                yops.sliding_window_with_count(
                    window_size, slide_size, handler, reporter=self._reporter
                )
            )
        )

    def sliding_window_with_time(
        self, window_ms: float, slide_ms: float, handler: Callable[[list[T]], object]
    ) -> RxStream[T]:
        """Call ``handler`` every ``slide_ms`` with the items of the last ``window_ms``; the
        stream carries the original items (YoMo's ``SlidingWindowWithTime``)."""
        return self._next(
            self._observable.pipe(
                yops.sliding_window_with_time(
                    window_ms,
                    slide_ms,
                    handler,
                    scheduler=self._scheduler,
                    reporter=self._reporter,
                )
            )
        )

    def zip_multi_observers(
        self,
        observers: Sequence[tuple[int, Callable[[bytes], Any]]],
        zipper: Callable[[list[Any]], U],
        *,
        split_packets: bool = False,
    ) -> RxStream[U]:
        """Observe several Y3 keys, decode each with its function, and emit
        ``zipper([v1, v2, ...])`` once every key has a value (YoMo's ``ZipMultiObservers``).
        """
        return self._next(
            self._as_payloads().pipe(
                yops.zip_multi_observers(
                    observers, zipper, split_packets=split_packets, reporter=self._reporter
                )
            )
        )

    def marshal(self, marshaller: Callable[[T], bytes]) -> RxStream[bytes]:
        """Turn each item into bytes with ``marshaller`` (YoMo's ``Marshal``)."""
        return self._next(self._map(marshaller, "marshal"))

    def unmarshal(self, unmarshaller: Callable[[T], U]) -> RxStream[U]:
        """Turn each item (bytes) into a value with ``unmarshaller`` (YoMo's ``Unmarshal``)."""
        return self._next(self._map(unmarshaller, "unmarshal"))

    def serialize(self, start: int, identifier: Callable[[T], int]) -> RxStream[T]:
        """Put the items in the order of ``identifier(item)`` from ``start``
        (rxgo's ``Serialize``)."""
        return self._next(
            self._observable.pipe(yops.serialize(start, identifier, reporter=self._reporter))
        )

    def on_item_error(self, handler: ItemErrorHandler) -> RxStream[T]:
        """Call ``handler`` with each :class:`ItemError` of this pipeline (logged either way)."""
        self._reporter.add_handler(handler)
        return self._next(self._observable)

"""``on_observe``: run the user's function on each observed value, as YoMo's ``OnObserve``.

Inline by default. For CPU-heavy functions (inference, WebAssembly) an executor runs them
off the event loop, at most ``max_concurrency`` at a time, and the results are put back in
input order unless ``ordered=False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from .._checks import check_count
from .._reporting import ErrorReporter, default_reporter
from ._map import map as map_

__all__ = ["on_observe"]

_T = TypeVar("_T")
_U = TypeVar("_U")

_NAME = "on_observe"


def on_observe(
    function: Callable[[_T], _U],
    *,
    executor: Executor | None = None,
    max_concurrency: int | None = None,
    ordered: bool = True,
    loop: asyncio.AbstractEventLoop | None = None,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[_T]], Observable[_U]]:
    """Emit ``function(item)`` for each item; an item it raises on is reported and dropped.

    With neither ``executor`` nor ``max_concurrency`` the function runs inline, on the
    thread that delivers the item. Otherwise it runs on ``executor`` (a thread pool of
    ``max_concurrency`` threads, owned by the subscription, when none is given), with at
    most ``max_concurrency`` calls in flight (default: the number of CPUs); items beyond
    that wait their turn in arrival order, none is dropped. Results are emitted in input
    order (``ordered=False``: as they finish) on ``loop`` (default: the event loop running
    at subscription), so the rest of the pipeline stays on the event loop; without a loop
    they are emitted from the executor's threads, one at a time. The stream completes or
    fails only after the calls already accepted have finished.
    """
    if executor is None and max_concurrency is None:
        return map_(function, reporter=reporter, name=_NAME)
    limit = check_count(
        max_concurrency if max_concurrency is not None else os.cpu_count() or 1,
        "max_concurrency",
    )
    report = (reporter or default_reporter()).report

    def _on_observe(source: Observable[_T]) -> Observable[_U]:
        def subscribe(
            observer: abc.ObserverBase[_U], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return _Dispatcher(
                source,
                observer,
                scheduler,
                function,
                executor,
                limit,
                ordered,
                loop or _running_loop(),
                report,
            ).disposable

        return Observable(subscribe)

    return _on_observe


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_FAILED = object()


class _Dispatcher:
    """One subscription's state: what waits, what runs, what is done but not yet emitted."""

    def __init__(
        self,
        source: Observable[Any],
        observer: abc.ObserverBase[Any],
        scheduler: abc.SchedulerBase | None,
        function: Callable[[Any], Any],
        executor: Executor | None,
        limit: int,
        ordered: bool,
        loop: asyncio.AbstractEventLoop | None,
        report: Callable[[str, object, Exception], None],
    ) -> None:
        self._observer = observer
        self._function = function
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=limit, thread_name_prefix="rxyomo-on-observe"
        )
        self._limit = limit
        self._ordered = ordered
        self._loop = loop
        self._report = report
        # Reentrant: emitting downstream may push the next item into this operator.
        self._lock = threading.RLock()
        self._waiting: deque[tuple[int, Any]] = deque()
        self._running = 0
        self._arrived = 0
        self._next_out = 0
        self._finished: dict[int, Any] = {}
        self._settled: deque[tuple[int, Any, Future[Any]]] = deque()
        self._settling = False
        self._ended = False
        self._error: Exception | None = None
        self._closed = False
        subscription = source.subscribe(
            self._on_next, self._on_error, self._on_completed, scheduler=scheduler
        )
        self.disposable = Disposable(lambda: self._close(subscription))

    def _on_next(self, item: Any) -> None:
        with self._lock:
            if self._closed:
                return
            number = self._arrived
            self._arrived += 1
            if self._running < self._limit:
                self._start(number, item)
            else:
                self._waiting.append((number, item))

    def _on_error(self, error: Exception) -> None:
        with self._lock:
            self._ended, self._error = True, error
            self._end_if_idle()

    def _on_completed(self) -> None:
        with self._lock:
            self._ended = True
            self._end_if_idle()

    def _start(self, number: int, item: Any) -> None:
        self._running += 1
        try:
            future = self._executor.submit(self._function, item)
        except Exception as exc:  # the executor was shut down under us
            self._running -= 1
            self._done(number, item, _FAILED, exc)
            return
        future.add_done_callback(lambda f: self._hand_back(number, item, f))

    def _hand_back(self, number: int, item: Any, future: Future[Any]) -> None:
        if self._loop is None:
            self._settle(number, item, future)
            return
        # A closed loop raises: nobody is left to receive the result.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._settle, number, item, future)

    def _settle(self, number: int, item: Any, future: Future[Any]) -> None:
        with self._lock:
            self._settled.append((number, item, future))
            if self._settling:
                # Re-entered (a call that finished at once, from _start below): the loop
                # further up takes it, so that the stack does not grow per item.
                return
            self._settling = True
            try:
                while self._settled:
                    number, item, future = self._settled.popleft()
                    self._running -= 1
                    if self._closed:
                        continue
                    if future.cancelled():
                        self._done(number, item, _FAILED, None)
                    elif (exc := future.exception()) is not None:
                        error = exc if isinstance(exc, Exception) else None
                        self._done(number, item, _FAILED, error)
                    else:
                        self._done(number, item, future.result(), None)
                    while self._waiting and self._running < self._limit and not self._closed:
                        self._start(*self._waiting.popleft())
                self._end_if_idle()
            finally:
                self._settling = False

    def _done(self, number: int, item: Any, result: Any, error: Exception | None) -> None:
        if error is not None:
            self._report(_NAME, item, error)
        if not self._ordered:
            if result is not _FAILED:
                self._observer.on_next(result)
            return
        self._finished[number] = result
        while self._next_out in self._finished:
            ready = self._finished.pop(self._next_out)
            self._next_out += 1
            if ready is not _FAILED:
                self._observer.on_next(ready)

    def _end_if_idle(self) -> None:
        if not self._ended or self._running or self._waiting or self._closed:
            return
        self._closed = True
        self._shutdown()
        if self._error is not None:
            self._observer.on_error(self._error)
        else:
            self._observer.on_completed()

    def _close(self, subscription: abc.DisposableBase) -> None:
        with self._lock:
            self._closed = True
            self._waiting.clear()
        subscription.dispose()
        self._shutdown()

    def _shutdown(self) -> None:
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

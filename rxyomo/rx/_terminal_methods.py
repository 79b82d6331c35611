"""Running an ``RxStream``: subscribing, collecting, sending elsewhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from reactivex import abc
from reactivex.notification import Notification, OnCompleted, OnError, OnNext

from ._core import StreamCore
from ._reporting import ItemError

__all__ = ["TerminalMethods"]

T = TypeVar("T")

_log = logging.getLogger("rxyomo.rx")


class _Queue(Protocol):
    def put_nowait(self, item: Any, /) -> None: ...


class TerminalMethods(StreamCore[T]):
    """rxgo's ``ForEach``, ``Run``, ``Connect``, ``Send``, ``ToSlice``, ``Error``, ``Errors``.

    The blocking Go calls are coroutines here, so that they can wait on the event loop
    that feeds the stream.
    """

    __slots__ = ()

    def for_each(
        self,
        on_next: Callable[[T], object] | None = None,
        on_error: Callable[[Exception], object] | None = None,
        on_completed: Callable[[], object] | None = None,
    ) -> abc.DisposableBase:
        """Subscribe; dispose the result to stop. A failure without ``on_error`` is logged."""
        # The callbacks' results are ignored; reactivex merely types them as None. No
        # scheduler is passed down: the timed operators already hold the stream's, and a
        # source left without one delivers its items where they come from.
        return self._observable.subscribe(
            cast(Any, on_next), cast(Any, on_error or self._log_failure), cast(Any, on_completed)
        )

    def run(self) -> abc.DisposableBase:
        """Run the pipeline for its effects, ignoring its items (rxgo's ``Run``)."""
        return self.for_each()

    def connect(self) -> abc.DisposableBase:
        """Start the pipeline (rxgo's ``Connect``); the same as :meth:`run`."""
        return self.for_each()

    def send(self, queue: _Queue) -> abc.DisposableBase:
        """Put a reactivex ``Notification`` in ``queue`` (``put_nowait``, e.g. an
        ``asyncio.Queue``) for each item and for the end (rxgo's ``Send`` to a channel)."""

        def put(notification: Notification[T]) -> None:
            queue.put_nowait(notification)

        return self._observable.subscribe(
            lambda value: put(OnNext(value)),
            lambda error: put(OnError(error)),
            lambda: put(OnCompleted()),
        )

    async def to_slice(self) -> list[T]:
        """Run to the end and return the items; raise the failure, if the stream fails."""
        items: list[T] = []
        await self._until_end(items.append, None)
        return items

    async def errors(self) -> list[Exception]:
        """Run to the end and return every error: the item errors reported meanwhile, then
        the failure that ended the stream, if any (rxgo's ``Errors``)."""
        found: list[Exception] = []
        try:
            await self._until_end(None, lambda report: found.append(report.error))
        except Exception as exc:
            found.append(exc)
        return found

    async def error(self) -> Exception | None:
        """Run until the first error (an item error or the failure) and return it; None if
        the stream completes without one (rxgo's ``Error``)."""
        found: list[Exception] = []
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()

        def first(report: ItemError) -> None:
            if not found:
                found.append(report.error)
                loop.call_soon_threadsafe(_settle, stop, None)

        try:
            await self._until_end(None, first, stop)
        except Exception as exc:
            return found[0] if found else exc
        return found[0] if found else None

    async def _until_end(
        self,
        on_next: Callable[[T], object] | None,
        on_item_error: Callable[[ItemError], object] | None,
        stop: asyncio.Future[None] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        remove = self._reporter.add_handler(on_item_error) if on_item_error else None

        def failed(error: Exception) -> None:
            loop.call_soon_threadsafe(_settle, done, error)

        def completed() -> None:
            loop.call_soon_threadsafe(_settle, done, None)

        subscription = self._observable.subscribe(cast(Any, on_next), failed, completed)
        try:
            if stop is None:
                await done
            else:
                await asyncio.wait((done, stop), return_when=asyncio.FIRST_COMPLETED)
                if done.done():
                    done.result()
        finally:
            subscription.dispose()
            if remove is not None:
                remove()

    def _log_failure(self, error: Exception) -> None:
        _log.error("the stream failed: %r", error, exc_info=error)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)

"""``RxStream``: YoMo's stream-function API, a fluent wrapper over a reactivex Observable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar

import reactivex
from reactivex import abc
from reactivex.subject import Subject

from ._aggregate_methods import AggregateMethods
from ._error_methods import ErrorMethods
from ._reporting import ErrorReporter
from ._source import StreamFeeder
from ._terminal_methods import TerminalMethods
from ._time_methods import TimeMethods
from ._transform_methods import TransformMethods
from ._yomo_methods import YoMoMethods

__all__ = ["RxStream"]

T = TypeVar("T")


class RxStream(
    YoMoMethods[T],
    TransformMethods[T],
    AggregateMethods[T],
    TimeMethods[T],
    ErrorMethods[T],
    TerminalMethods[T],
):
    """A stream of items with YoMo v1.3's ``RxStream`` operators, in snake_case.

    A stream function's handler takes the input stream and returns the output stream::

        def handler(stream: RxStream[bytes]) -> RxStream[Encoded]:
            return stream.subscribe(0x10).on_observe(decode).map(peek).encode(0x11)

    Each method returns a new ``RxStream`` around a new reactivex ``Observable``; nothing
    runs until the result is subscribed to (:meth:`for_each`, :meth:`run`, or the runtime).
    A user function that raises on an item gets that item reported to :attr:`reporter`
    and dropped, and the stream goes on (YoMo's continue-on-error). Times are in
    milliseconds; timers run on :attr:`scheduler`, an ``AsyncIOScheduler`` on the event
    loop given (or running) when the stream was made.
    """

    __slots__ = ()

    @classmethod
    def from_source(
        cls,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        scheduler: abc.SchedulerBase | None = None,
        reporter: ErrorReporter | None = None,
    ) -> tuple[RxStream[bytes], StreamFeeder]:
        """A hot input stream and its :class:`StreamFeeder`: the runtime feeds one payload
        per incoming Data frame and ends it with ``complete()`` or ``error(exc)``."""
        subject: Subject[bytes] = Subject()
        stream: RxStream[bytes] = RxStream(
            subject, loop=loop, scheduler=scheduler, reporter=reporter
        )
        return stream, StreamFeeder(subject)

    @classmethod
    def from_iterable(
        cls,
        items: Iterable[T],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        scheduler: abc.SchedulerBase | None = None,
        reporter: ErrorReporter | None = None,
    ) -> RxStream[T]:
        """A cold stream of ``items``, emitted when subscribed to."""
        return RxStream(
            reactivex.from_iterable(items), loop=loop, scheduler=scheduler, reporter=reporter
        )

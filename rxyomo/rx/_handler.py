"""Running a stream function's handler: the wiring the runtime needs, in one call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from reactivex import abc

from ._encoded import Encoded
from ._reporting import ErrorReporter
from ._source import StreamFeeder
from ._stream import RxStream

__all__ = ["Handler", "run_handler"]

#: YoMo's ``Handler(rxstream) -> rxstream``.
Handler = Callable[[RxStream[bytes]], RxStream[Any]]


def run_handler(
    handler: Handler,
    write: Callable[[int, bytes], object],
    *,
    consume: Callable[[Any], object] | None = None,
    on_error: Callable[[Exception], object] | None = None,
    on_completed: Callable[[], object] | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
    scheduler: abc.SchedulerBase | None = None,
    reporter: ErrorReporter | None = None,
) -> tuple[StreamFeeder, abc.DisposableBase]:
    """Build ``handler``'s pipeline on a fresh input stream and start it.

    Each :class:`Encoded` reaching the end is passed to ``write(tag, payload)`` (send it as
    a Data frame); any other value goes to ``consume`` (a sink's), or, without one, is
    reported as an item error. Returns the feeder (one ``feed(payload)`` per incoming
    Data frame, then ``complete()`` or ``error(exc)``) and the subscription (dispose it to
    stop). A handler that does not return an ``RxStream`` raises ``TypeError`` here.
    """
    source, feeder = RxStream.from_source(loop=loop, scheduler=scheduler, reporter=reporter)
    output = handler(source)
    if not isinstance(output, RxStream):
        raise TypeError(f"a handler must return an RxStream, got {type(output).__name__}")
    report = output.reporter.report

    def deliver(item: Any) -> None:
        if isinstance(item, Encoded):
            write(item.tag, item.payload)
        elif consume is not None:
            consume(item)
        else:
            report("handler", item, TypeError("the pipeline's output is not Encoded"))

    subscription = output.for_each(deliver, on_error, on_completed)
    return feeder, subscription

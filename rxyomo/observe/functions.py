"""A stream function's handler call, timed and traced (when either is on)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rxyomo.observe.hooks import HOOKS
from rxyomo.protocol.metadata import TRACE_ID

if TYPE_CHECKING:
    from rxyomo.client.stream_function import Received, StreamFunction

__all__ = ["observed_call"]


async def observed_call(
    function: StreamFunction, item: Received, call: Callable[[Received], Awaitable[None]]
) -> None:
    """Run ``call(item)`` (the handler and the sending of its answers) in the span of a
    traced frame, and record its time and outcome in the process's function metrics.

    The span's ids go into the frame's metadata before the handler runs, so its answers
    carry them on and the next hop's span is this one's child, as in YoMo.
    """
    tracing = HOOKS.tracing
    metrics = HOOKS.functions
    span = None
    if tracing is not None and TRACE_ID in item.metadata:
        kind = "pipe_handler" if function.is_pipe else "async_handler"  # YoMo's names
        span = tracing.function(function.name, item.tag, len(item.data), item.metadata, kind)
    errors = function.errors
    started = time.perf_counter()
    try:
        if span is not None and tracing is not None:
            with tracing.current(span):
                await call(item)
        else:
            await call(item)
    finally:
        failed = function.errors != errors
        if metrics is not None:
            metrics.record(function.name, item.tag, time.perf_counter() - started, failed)
        if span is not None and tracing is not None:
            if failed:
                tracing.failed(span, RuntimeError(f"the handler failed on tag 0x{item.tag:X}"))
            span.end()

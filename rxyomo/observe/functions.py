"""A stream function's handler call, or a hosted function's call, timed and traced (when
either is on)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from rxyomo.observe.hooks import HOOKS
from rxyomo.protocol.metadata import TRACE_ID

if TYPE_CHECKING:
    from rxyomo.client.stream_function import Received, StreamFunction
    from rxyomo.functions.frames import Frame, Outcome

__all__ = ["is_observed", "observed_call", "observed_host_call"]

_T = TypeVar("_T")


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
    metrics = metrics if function.timed else None
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


def is_observed(metadata: object) -> bool:
    """Whether a call on a frame with this metadata is timed or traced: when neither is on,
    callers skip :func:`observed_host_call` altogether."""
    return HOOKS.functions is not None or (
        HOOKS.tracing is not None and TRACE_ID in metadata  # type: ignore[operator]
    )


def observed_host_call(
    name: str, frame: Frame, call: Callable[[Frame], tuple[Outcome, _T]]
) -> tuple[Outcome, _T]:
    """Run a hosted function's ``call(frame)`` (on a worker thread of its runner) in the
    span of a traced frame, and record its time and outcome in the process's function
    metrics.

    The frame handed to ``call`` carries the span's ids in its metadata, and so does the
    outcome's: the answers built from it make the next hop's span this one's child.
    """
    tracing = HOOKS.tracing
    metrics = HOOKS.functions
    span = None
    if tracing is not None and TRACE_ID in frame.metadata:
        meta = dict(frame.metadata)
        span = tracing.function(name, frame.tag, len(frame.data), meta, "async_handler")
        if span is not None:
            frame = dataclasses.replace(frame, metadata=meta)
    observing = tracing.current(span) if span is not None and tracing is not None else None
    with observing or contextlib.nullcontext():
        outcome, extra = call(frame)
    if metrics is not None:
        metrics.record(name, frame.tag, outcome.seconds, not outcome.ok)
    if span is not None and tracing is not None:
        if not outcome.ok:
            tracing.failed(span, RuntimeError(f"{outcome.cause}: {outcome.detail}"))
        span.end()
    return outcome, extra

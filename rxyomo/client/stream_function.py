"""Stream functions and sinks: observe tags, handle each frame, maybe answer."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rxyomo._throttle import ThrottledLog
from rxyomo.client._client import ZipperClient
from rxyomo.client.context import Answer, Context, CronContext, answer_metadata, takes_context
from rxyomo.client.cron import CronSchedule
from rxyomo.client.source import check_tag
from rxyomo.observe.hooks import HOOKS
from rxyomo.protocol.frames import ClientType, DataFrame
from rxyomo.protocol.metadata import (
    SOURCE_ID,
    TID,
    TRACE_ID,
    MetadataError,
    decode_metadata,
    encode_metadata,
    new_tid,
)
from rxyomo.rx import RxStream, StreamFeeder, run_handler

if TYPE_CHECKING:
    from reactivex.abc import DisposableBase

log = logging.getLogger("rxyomo.function")

#: What a handler may return: nothing, one (tag, payload) answer, or several.
HandlerResult = None | tuple[int, bytes] | Iterable[tuple[int, bytes]]
#: A handler takes the payload, or a :class:`~rxyomo.client.Context` when its first
#: parameter is annotated so (YoMo's form), and may be ``async``.
Handler = (
    Callable[[bytes], HandlerResult | Awaitable[HandlerResult]]
    | Callable[[Context], HandlerResult | Awaitable[HandlerResult]]
)
#: A sink's handler: a :data:`Handler` that answers nothing.
SinkHandler = (
    Callable[[bytes], Awaitable[None] | None] | Callable[[Context], Awaitable[None] | None]
)
CronHandler = Callable[[CronContext], Awaitable[None] | None]
#: YoMo's Rx form: a function from the input stream to the output stream.
RxHandler = Callable[[RxStream[bytes]], RxStream[Any]]


@dataclass(frozen=True)
class Received:
    """One incoming frame, as the handler's caller sees it."""

    tag: int
    data: bytes
    metadata: dict[str, str]


class StreamFunction(ZipperClient):
    """Observes data tags and runs a handler on each frame, as YoMo's
    ``yomo.NewStreamFunction(name)`` with ``SetObserveDataTags`` and ``SetHandler``.

    The handler gets the payload bytes and returns ``None``, ``(tag, payload)``,
    or an iterable of those; it may be ``async``. Written YoMo's way, it takes a
    :class:`~rxyomo.client.Context` instead (``def handler(ctx: Context)``, or
    ``context=True``) with the frame's tag, data and metadata, and answers with
    ``ctx.write(tag, data)``. Either way answers carry the incoming frame's metadata,
    less its target, as YoMo's do. Frames are handled in order, one at a time per
    instance: run more instances (same name) to share load. Incoming frames queue up
    to ``max_pending``; beyond that the function stops reading, so back-pressure
    reaches the zipper and the source.

    ``init`` runs once before the first connection (YoMo's ``sfn.Init``: load a
    model); ``set_cron_handler`` runs a function on a schedule; ``set_error_handler``
    hears of connection errors and of frames the handler failed on.
    """

    client_type = ClientType.STREAM_FUNCTION

    def __init__(
        self,
        name: str,
        *,
        observe: Iterable[int] = (),
        handler: Handler | None = None,
        max_pending: int = 256,
        init: Callable[[], Awaitable[object] | object] | None = None,
        context: bool | None = None,
        **kwargs: Any,
    ) -> None:
        tags = tuple(observe)
        for tag in tags:
            check_tag(tag)
        super().__init__(name, observed_tags=tags, **kwargs)
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._handler: Callable[[Any], Any] | None = None
        self._context = False
        if handler is not None:
            self.set_handler(handler, context=context)
        self._init = init
        self._initialized = False
        self._cron: tuple[CronSchedule, CronHandler] | None = None
        self._cron_task: asyncio.Task[None] | None = None
        self._max_pending = max_pending
        self._inbox: asyncio.Queue[Received] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._paused = False
        self._rx: tuple[RxHandler, Callable[[Any], object] | None] | None = None
        #: The metadata of the latest frame fed to the Rx pipeline: its outputs carry it.
        self._rx_metadata: Mapping[str, str] = {}
        self._feeder: StreamFeeder | None = None
        self._outbox: asyncio.Queue[tuple[int, bytes, Mapping[str, str]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._rx_subscription: DisposableBase | None = None
        #: Frames whose handler raised; the function goes on with the next.
        self.errors = 0
        #: Whether its handler calls go into the process's function metrics (when they
        #: are on). A hosted function's handler only hands frames to its runner, which
        #: records the calls themselves.
        self.timed = True
        self.handled = 0
        # A peer can make every frame fail: log at a bounded rate.
        self._warn = ThrottledLog(log)

    def set_handler(self, handler: Handler, *, context: bool | None = None) -> None:
        """Set the function run on each observed frame.

        It takes a :class:`~rxyomo.client.Context` when ``context`` is True, or when
        ``context`` is None and its first parameter is annotated as one; the payload
        otherwise.
        """
        self._handler = handler
        self._context = takes_context(handler) if context is None else context

    def set_init(self, init: Callable[[], Awaitable[object] | object]) -> None:
        """Run ``init`` (sync or async) once, before the first connection; if it raises,
        :meth:`connect` raises and nothing connects (YoMo's ``sfn.Init``)."""
        self._init = init

    def set_observe_data_tags(self, *tags: int) -> None:
        """Observe ``tags`` from the next connection on (YoMo's ``SetObserveDataTags``)."""
        for tag in tags:
            check_tag(tag)
        self.observed_tags = tuple(tags)

    def set_wanted_target(self, target: str) -> None:
        """Receive only frames written for ``target``, from the next connection on."""
        self.want_target = target

    def set_cron_handler(self, spec: str, handler: CronHandler) -> None:
        """Run ``handler`` on the schedule ``spec`` while the function runs (YoMo's
        ``SetCronHandler``: ``"@every 1h30m"``, ``"@hourly"``, ``"0 30 * * *"``).

        It gets a :class:`~rxyomo.client.CronContext` to write with; each run's frames
        get this function's id as source id and a new transaction id.
        """
        self._cron = (CronSchedule(spec), handler)

    def pipe(self, handler: RxHandler, *, consume: Callable[[Any], object] | None = None) -> None:
        """Handle frames with YoMo's Rx form, ``handler(stream) -> stream``.

        The input stream carries each observed frame's payload; every
        :class:`~rxyomo.rx.Encoded` item at the end (from ``encode(tag)``) is
        sent as a data frame; other items go to ``consume`` (a sink's), or are
        reported as item errors when there is none. An output carries the metadata
        (less its routing keys) of the latest frame the pipeline took in when it came
        out: for a pipeline that maps each frame to an answer, its frame's, so that
        transaction and trace ids go on as they do from a handler.
        """
        self._rx = (handler, consume)
        self._handler = self._feed_rx
        self._context = False

    async def connect(self) -> None:
        """Connect, then handle frames until closed."""
        if self._handler is None and self._cron is None:
            raise ValueError(
                f"stream function {self.name!r} has no handler: call set_handler() or pipe()"
            )
        if not self._initialized and self._init is not None:
            result = self._init()
            if inspect.isawaitable(result):
                await result
        self._initialized = True
        if self._inbox is None:
            loop = asyncio.get_running_loop()
            if self._rx is not None:
                self._start_rx(loop)
            self._inbox = asyncio.Queue()
            self._worker = loop.create_task(self._work())
            if self._cron is not None:
                self._cron_task = loop.create_task(self._run_cron(*self._cron))
        await super().connect()

    async def _run_cron(self, schedule: CronSchedule, handler: CronHandler) -> None:
        due = schedule.next_after(datetime.now().astimezone())
        while True:
            await asyncio.sleep(max((due - datetime.now().astimezone()).total_seconds(), 0))
            context = CronContext(metadata={SOURCE_ID: self.id, TID: new_tid()})
            try:
                result = handler(context)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.errors += 1
                self._warn.exception("cron failed", "%s: the cron handler failed", self.name)
                self._report_error(exc)
            for answer in context.take_answers():
                await self._write_answer(answer, context.metadata)
            # The next run after this one ended: a slow handler skips runs, never piles up.
            due = schedule.next_after(max(due, datetime.now().astimezone()))

    def _start_rx(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._rx is not None
        handler, consume = self._rx
        outbox: asyncio.Queue[tuple[int, bytes, Mapping[str, str]]] = asyncio.Queue()
        self._outbox = outbox
        self._feeder, self._rx_subscription = run_handler(
            handler,
            lambda tag, payload: outbox.put_nowait((tag, payload, self._rx_metadata)),
            consume=consume,
            on_error=lambda exc: log.error("%s: the Rx pipeline failed: %s", self.name, exc),
            loop=loop,
        )
        self._writer = loop.create_task(self._write_outputs(outbox))

    async def _feed_rx(self, data: bytes) -> None:
        assert self._feeder is not None
        assert self._outbox is not None
        self._feeder.feed(data)
        # The pipeline's output is sent by another task: when it falls behind,
        # stop taking input so back-pressure reaches the zipper.
        if self._outbox.qsize() >= self._max_pending:
            await self._outbox.join()

    async def _write_outputs(
        self, outbox: asyncio.Queue[tuple[int, bytes, Mapping[str, str]]]
    ) -> None:
        while True:
            tag, payload, incoming = await outbox.get()
            try:
                await self.write(tag, payload, metadata=answer_metadata(incoming))
            finally:
                outbox.task_done()

    async def write(
        self, tag: int, data: bytes, *, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Send a frame of this function's own (outside the handler's return value),
        with ``metadata`` as given."""
        check_tag(tag)
        meta = dict(metadata or {})
        frame = DataFrame(tag=tag, payload=bytes(data), metadata=encode_metadata(meta))
        await self._send(frame, meta.get(TID))

    async def _write_answer(self, answer: Answer, incoming: Mapping[str, str]) -> None:
        await self.write(answer.tag, answer.data, metadata=answer_metadata(incoming, answer.target))

    async def close(self, timeout: float = 5.0) -> None:
        """Handle the frames already received, send their answers, then close."""
        if self.is_connected:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._finish(), timeout)
        await super().close(timeout)

    async def _finish(self) -> None:
        await self.join()
        if self._feeder is not None and not self._feeder.closed:
            self._feeder.complete()  # flushes windows and buffers into the outbox
        if self._outbox is not None:
            await self._outbox.join()

    async def join(self) -> None:
        """Wait until every frame received so far has been handled."""
        if self._inbox is not None:
            await self._inbox.join()

    def _on_frame(self, frame: DataFrame) -> None:
        try:
            meta = decode_metadata(frame.metadata) if frame.metadata else {}
        except MetadataError as exc:
            self._warn.warning(
                "bad metadata", "%s: frame with bad metadata dropped: %s", self.name, exc
            )
            self.errors += 1
            return
        assert self._inbox is not None
        self._inbox.put_nowait(Received(frame.tag, frame.payload, meta))
        if self._inbox.qsize() >= self._max_pending:
            self._paused = True
            self._pause_reading()

    async def _work(self) -> None:
        assert self._inbox is not None
        while True:
            item = await self._inbox.get()
            try:
                await self._handle(item)
            finally:
                self._inbox.task_done()
            if self._paused and self._inbox.qsize() <= self._max_pending // 2:
                self._paused = False
                self._resume_reading()

    @property
    def is_pipe(self) -> bool:
        """Whether frames go through an Rx pipeline (:meth:`pipe`) rather than a handler."""
        return self._rx is not None

    async def _handle(self, item: Received) -> None:
        # Traced frames and timed calls only: the others go straight to the handler.
        if HOOKS.functions is None and (HOOKS.tracing is None or TRACE_ID not in item.metadata):
            await self._call(item)
        else:
            from rxyomo.observe.functions import observed_call

            await observed_call(self, item, self._call)

    async def _call(self, item: Received) -> None:
        if self._handler is None:  # a cron-only function observes nothing to handle
            return
        context: Context | None = None
        try:
            if self._context:
                # As YoMo hands it over: the routing keys named this receiver, not its answers.
                meta = answer_metadata(item.metadata)
                context = Context(metadata=meta, tag=item.tag, data=item.data)
                result = self._handler(context)
            else:
                if self._rx is not None:
                    self._rx_metadata = item.metadata
                result = self._handler(item.data)
            if inspect.isawaitable(result):
                result = await result
            answers = context.take_answers() if context is not None else []
            answers += [Answer(tag, payload) for tag, payload in _answers(result)]
        except Exception as exc:
            # YoMo's functions keep going when one item fails (a bad answer included).
            self.errors += 1
            self._warn.exception(
                "handler failed", "%s: handler failed on a frame of tag 0x%X", self.name, item.tag
            )
            self._report_error(exc)
            return
        self.handled += 1
        for answer in answers:
            # Answers carry the metadata of the frame they answer, as YoMo's do.
            await self._write_answer(answer, item.metadata)

    async def _on_closed(self) -> None:
        if self._rx_subscription is not None:
            self._rx_subscription.dispose()
        for task in (self._worker, self._writer, self._cron_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _answers(result: HandlerResult) -> Iterable[tuple[int, bytes]]:
    if result is None:
        return ()
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        return (result,)
    return result


class Sink(StreamFunction):
    """A stream function at the end of the line: it consumes and answers nothing.

    In a seed-era workflow it must be listed under ``sinks:``.
    """

    def __init__(
        self,
        name: str,
        *,
        observe: Iterable[int] = (),
        handler: SinkHandler | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, observe=observe, handler=handler, **kwargs)

    def pipe(self, handler: RxHandler, *, consume: Callable[[Any], object] | None = None) -> None:
        """Consume frames with an Rx pipeline; its output items are simply dropped
        unless ``consume`` is given (a sink sends nothing on)."""
        super().pipe(handler, consume=consume or (lambda _item: None))

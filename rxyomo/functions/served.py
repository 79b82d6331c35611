"""A hosted function connected to a zipper as a stream function, and a host's worth of them.

:class:`ServedFunction` is a :class:`~rxyomo.client.StreamFunction` whose handler hands
each frame to the function's runner and returns at once, so that up to the runner's
capacity (its instances plus its queue) frames are in the works while the connection
reads on. Past that the handler waits; the stream function's inbox then fills and it
stops reading, so back-pressure reaches the zipper and the sources, as for any stream
function. Answers are written as their frames complete, with the incoming frame's
metadata (less its routing keys, as YoMo's ``ctx.Write``) and the version that produced
them under :data:`~rxyomo.functions.frames.VERSION_KEY`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

from rxyomo._throttle import ThrottledLog
from rxyomo.client import StreamFunction
from rxyomo.client.context import Context, answer_metadata
from rxyomo.functions.frames import VERSION_KEY, Frame, Outcome
from rxyomo.functions.host import FunctionHost
from rxyomo.functions.runner import Done, FunctionRunner

__all__ = ["ServedFunction", "serve_host"]

log = logging.getLogger("rxyomo.functions")


class ServedFunction:
    """Connects the function ``name`` of ``host`` to a zipper.

    ``client_options`` go to the :class:`~rxyomo.client.StreamFunction` (``zipper``,
    ``transport``, ``tls``, ``credential``, ``reconnect``, ...). The function is looked
    up in the host for every frame, so a replaced function serves on the same
    connection; the tags observed (and the target wanted, for a YoMo-ABI module that
    names one) are those of the version served when it is made.
    """

    def __init__(
        self, host: FunctionHost, name: str, *, max_pending: int = 16, **client_options: Any
    ) -> None:
        runner = host.runner(name)
        self.host = host
        self.name = name
        if runner.version.wanted_target:
            client_options.setdefault("want_target", runner.version.wanted_target)
        self.client = StreamFunction(
            name,
            observe=runner.observe,
            handler=self._handle,
            context=True,
            max_pending=max_pending,
            **client_options,
        )
        self.client.timed = False  # the runner records the calls
        #: Answers written, and answers that could not be (the connection closed).
        self.written = 0
        self.unsent = 0
        #: Frames that produced no answer (their causes are in the runner's stats).
        self.failed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._room = asyncio.Event()
        self._outbox: asyncio.Queue[Outcome] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listening: FunctionRunner | None = None
        self._closing = False
        self._warn = ThrottledLog(log)

    async def connect(self) -> None:
        """Connect and serve (raises as :meth:`StreamFunction.connect` does)."""
        self._loop = asyncio.get_running_loop()
        if self._writer is None:
            self._writer = self._loop.create_task(self._write_answers())
        await self.client.connect()

    async def wait_stopped(self) -> None:
        """Until the connection stops for good (raises why, unless it was closed)."""
        await self.client.wait_stopped()

    async def close(self, timeout: float = 5.0) -> None:
        """Finish the frames received (answers written), then close the connection."""
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._drain(), timeout)
        await self.client.close(max(deadline - loop.time(), 0.1))
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._listening is not None:
            self._listening.remove_room_listener(self._wake)

    async def _drain(self) -> None:
        await self.client.join()
        while self._in_flight:
            self._room.clear()
            await self._room.wait()

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._room.set)

    def _runner(self) -> FunctionRunner:
        runner = self.host.runner(self.name)
        if runner is not self._listening:
            if self._listening is not None:
                self._listening.remove_room_listener(self._wake)
            runner.add_room_listener(self._wake)
            self._listening = runner
        return runner

    async def _handle(self, ctx: Context) -> None:
        runner = self._runner()
        frame = Frame(ctx.tag, ctx.data, ctx.metadata)
        if self._closing:
            # The stream function's close waits for this handler: answer before returning.
            outcome = await self._call(runner, frame)
            await self._write(outcome)
            return
        while self._in_flight >= runner.capacity:
            self._room.clear()
            await self._room.wait()
        self._in_flight += 1
        loop = asyncio.get_running_loop()
        put = self._outbox.put_nowait
        await self._submit(runner, frame, lambda outcome: loop.call_soon_threadsafe(put, outcome))

    async def _submit(self, runner: FunctionRunner, frame: Frame, done: Done) -> None:
        while True:
            self._room.clear()
            if runner.submit(frame, done):
                return
            await self._room.wait()  # the queue was full: until the runner has room

    async def _call(self, runner: FunctionRunner, frame: Frame) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def settle(outcome: Outcome) -> None:
            if not future.done():
                future.set_result(outcome)

        await self._submit(
            runner, frame, lambda outcome: loop.call_soon_threadsafe(settle, outcome)
        )
        return await future

    async def _write_answers(self) -> None:
        while True:
            outcome = await self._outbox.get()
            try:
                await self._write(outcome)
            finally:
                self._in_flight -= 1
                self._room.set()

    async def _write(self, outcome: Outcome) -> None:
        if not outcome.ok:
            self.failed += 1
            return
        for answer in outcome.answers:
            meta = answer_metadata(outcome.frame.metadata, answer.target)
            meta[VERSION_KEY] = outcome.version
            try:
                await self.client.write(answer.tag, answer.data, metadata=meta)
            except Exception as exc:  # closed or stopped: the answer cannot go anywhere
                self.unsent += 1
                self._warn.warning("unsent", "%s: an answer was not sent: %s", self.name, exc)
                continue
            self.written += 1


async def serve_host(
    host: FunctionHost,
    *,
    stop: asyncio.Event | None = None,
    stats_interval: float | None = None,
    out: Any = None,
    **client_options: Any,
) -> int:
    """Connect every function of ``host`` and serve until ``stop`` is set, SIGINT or
    SIGTERM, or every connection stopped; SIGHUP reloads every function. Returns the
    exit status: 0, or 1 when no function could connect. ``out`` (default stdout) gets
    one line per function once it serves."""
    out = out if out is not None else sys.stdout
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    handled: list[signal.Signals] = []

    def reload_all() -> None:
        log.info("SIGHUP: reloading every function")
        loop.run_in_executor(None, host.reload_all)

    for signum, action in (
        (signal.SIGINT, stop.set),
        (signal.SIGTERM, stop.set),
        (signal.SIGHUP, reload_all),
    ):
        try:
            loop.add_signal_handler(signum, action)
            handled.append(signum)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass  # not the main thread, or no such signal here
    served: list[ServedFunction] = []
    try:
        for name in host.names:
            function = ServedFunction(host, name, **client_options)
            try:
                await function.connect()
            except Exception as exc:  # rejected, unreachable, untrusted: said, not traced
                print(f"rxyomo run: {name}: cannot connect: {exc}", file=sys.stderr, flush=True)
                await function.close(0.1)
                continue
            served.append(function)
            version = host.runner(name).version
            print(
                f"rxyomo run: serving {version.describe()}, version {version.version}",
                file=out,
                flush=True,
            )
        if not served:
            return 1
        stopped: dict[asyncio.Task[Any], ServedFunction] = {
            loop.create_task(f.wait_stopped()): f for f in served
        }
        stopper = loop.create_task(stop.wait())
        others: list[asyncio.Task[Any]] = [stopper]
        if stats_interval:
            others.append(loop.create_task(_log_stats(host, stats_interval)))
        try:
            remaining: set[asyncio.Task[Any]] = set(stopped)
            while remaining and not stop.is_set():
                done, _ = await asyncio.wait(
                    remaining | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done & remaining:
                    remaining.discard(task)
                    if task.exception() is not None:
                        name = stopped[task].name
                        print(f"rxyomo run: {name}: stopped: {task.exception()}", file=sys.stderr)
        finally:
            for task in (*stopped, *others):
                task.cancel()
            await asyncio.gather(*stopped, *others, return_exceptions=True)
        return 0
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        await asyncio.gather(*(f.close() for f in served), return_exceptions=True)


async def _log_stats(host: FunctionHost, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        for name, data in host.snapshot().items():
            log.info(
                "%s: %d frames, %d handled, errors %s, p50 %.2f ms, p99 %.2f ms, version %s",
                name,
                data["frames"],
                data["handled"],
                data["errors"] or "none",
                data["call_ms"]["p50"],
                data["call_ms"]["p99"],
                data["version"],
            )

"""The flow's and the sink's pipelines, in YoMo's Rx form.

Flow ``image-recognition``: ``subscribe(0x10).on_observe(decode).encode(0x11)``, as the
article's, with ``decode`` running the WebAssembly classifier on an executor thread so that
the event loop keeps moving frames while a picture is classified.

Sink ``label-printer``: ``subscribe(0x11).on_observe(decode_result).map(receive)``; results
from several flow instances come back in any order, and a reorder buffer prints them in the
order the source sent them.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from frames import (
    IMAGE_KEY,
    LABEL_KEY,
    ImageFrame,
    Recognition,
    decode_image,
    decode_result,
    read_sentence,
)

from rxyomo.rx import Encoded, RxStream

__all__ = ["FLOW_NAME", "SINK_NAME", "ImageRecognition", "LabelPrinter", "Printed", "Reorder"]

FLOW_NAME = "image-recognition"
SINK_NAME = "label-printer"

log = logging.getLogger("image-recognition")


class ImageRecognition:
    """The flow: classifies each image with ``infer`` (a :class:`recognizer.Recognizer`, or
    any ``jpeg -> sentence`` function), ``workers`` images at a time on threads of its own;
    ``workers=0`` classifies on the event loop itself, as the article's function did, which
    holds up every other frame meanwhile.

    A picture the classifier fails on is answered with a :class:`Recognition` carrying the
    error, so the sink still accounts for every frame.
    """

    def __init__(self, infer: Callable[[bytes], str], *, workers: int = 1) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (inline) or more, got {workers}")
        self.infer = infer
        self.workers = workers
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="infer") if workers else None
        self.count = 0
        self._count_lock = threading.Lock()

    def decode(self, packet: bytes) -> Recognition | str:
        """The article's ``decode``: take the image out of the observed packet and classify
        it. Runs on an executor thread."""
        image = decode_image(packet)
        if isinstance(image, bytes):  # the article's form: the JPEG alone
            sentence = self.infer(image)
            log.info("🖼️  %s", plain_sentence(sentence))
            return sentence
        return self._recognize(image)

    def _recognize(self, frame: ImageFrame) -> Recognition:
        worker = f"{os.getpid()}/{threading.current_thread().name}"
        started = time.perf_counter()
        try:
            sentence, error = self.infer(frame.jpeg), ""
        except Exception as exc:  # reported to the sink in the frame's place
            sentence, error = "", f"{type(exc).__name__}: {exc}"
            log.warning("frame %d: %s", frame.index, error)
        spent = int((time.perf_counter() - started) * 1e6)
        with self._count_lock:
            self.count += 1
        if not error:
            log.info("frame %d: %s (%.1f ms)", frame.index, plain_sentence(sentence), spent / 1e3)
        return Recognition(
            index=frame.index,
            sent_ns=frame.sent_ns,
            sentence=sentence,
            inference_us=spent,
            worker=worker,
            error=error,
            position=frame.position,
        )

    def handler(self, stream: RxStream[bytes]) -> RxStream[Encoded]:
        """``subscribe(0x10).on_observe(decode).encode(0x11)``."""
        observed = stream.subscribe(IMAGE_KEY)
        if self.executor is None:
            return observed.on_observe(self.decode).encode(LABEL_KEY)
        return observed.on_observe(
            self.decode, executor=self.executor, max_concurrency=self.workers
        ).encode(LABEL_KEY)

    async def warm_up(self, warm: Callable[[], object]) -> None:
        """Run ``warm`` (e.g. ``Recognizer.warm_up``) where the images will be classified,
        so that the first frame finds that thread's guest instance ready."""
        if self.executor is None:
            warm()
        else:
            await asyncio.get_running_loop().run_in_executor(self.executor, warm)

    def close(self) -> None:
        """Stop the executor (calls in progress finish first)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True)


def plain_sentence(sentence: str) -> str:
    """The guest's sentence without its link markup."""
    found = read_sentence(sentence)
    if found is None:
        return sentence
    confidence, label = found
    return f"It {confidence} a {html.unescape(label)} in the picture"


@dataclass(frozen=True)
class Printed:
    """One result as the sink showed it."""

    #: The source's frame index (-1 for an answer to the article's form, which has none).
    index: int
    text: str
    label: str | None
    #: Source send to sink receive, in milliseconds (None when unknown).
    latency_ms: float | None
    received_ns: int
    result: Recognition | None = None


class Reorder:
    """Puts results back in index order.

    A result waits until every earlier index has been shown; a missing index is given up
    after ``max_wait`` seconds or when ``max_held`` results are waiting behind it, so one
    lost frame cannot stall the output. A result for an index already passed is shown at
    once.
    """

    def __init__(self, *, first: int = 0, max_held: int = 256, max_wait: float = 5.0) -> None:
        self.next = first
        self.max_held = max_held
        self.max_wait = max_wait
        self._held: dict[int, tuple[float, Printed]] = {}
        #: Indexes given up on.
        self.skipped: list[int] = []

    def __len__(self) -> int:
        return len(self._held)

    def push(self, item: Printed, now: float) -> list[Printed]:
        """Add a result; returns what can be shown now, in order."""
        if item.index < self.next:
            return [item]
        self._held.setdefault(item.index, (now, item))
        ready = self._release()
        if len(self._held) > self.max_held:
            ready += self._skip()
        return ready + self.expire(now)

    def expire(self, now: float) -> list[Printed]:
        """Give up on missing indexes that have kept results waiting ``max_wait`` seconds."""
        ready: list[Printed] = []
        while self._held and now - min(t for t, _ in self._held.values()) >= self.max_wait:
            ready += self._skip()
        return ready

    def flush(self) -> list[Printed]:
        """Everything still held, in order (at the end of the stream)."""
        ready: list[Printed] = []
        while self._held:
            ready += self._skip()
        return ready

    def _skip(self) -> list[Printed]:
        first = min(self._held)
        self.skipped.extend(range(self.next, first))
        self.next = first
        return self._release()

    def _release(self) -> list[Printed]:
        ready = []
        while self.next in self._held:
            ready.append(self._held.pop(self.next)[1])
            self.next += 1
        return ready


class LabelPrinter:
    """The sink: prints each result, in the source's order, as the article's function
    phrased it ("It is very likely a <label> in the picture"), with its latency.

    ``show`` receives each line (default: ``print``); ``on_result`` each :class:`Printed`.
    """

    def __init__(
        self,
        *,
        show: Callable[[str], object] = print,
        on_result: Callable[[Printed], object] | None = None,
        max_wait: float = 5.0,
    ) -> None:
        self.show = show
        self.on_result = on_result
        self.reorder = Reorder(max_wait=max_wait)
        self.printed: list[Printed] = []

    def receive(self, result: Recognition | str) -> list[Printed]:
        """Take one result from the flow; returns the results shown because of it."""
        now_ns = time.time_ns()
        if isinstance(result, str):
            found = read_sentence(result)
            item = Printed(-1, plain_sentence(result), found and found[1], None, now_ns)
            return self._emit([item])
        latency = (now_ns - result.sent_ns) / 1e6 if result.sent_ns else None
        if result.error:
            text, label = f"could not be classified: {result.error}", None
        else:
            found = read_sentence(result.sentence)
            text, label = plain_sentence(result.sentence), found and found[1]
        item = Printed(result.index, text, label, latency, now_ns, result)
        return self._emit(self.reorder.push(item, time.monotonic()))

    def tick(self) -> list[Printed]:
        """Show results whose missing predecessors waited too long (call periodically)."""
        return self._emit(self.reorder.expire(time.monotonic()))

    def flush(self) -> list[Printed]:
        """Show everything still held (at the end)."""
        return self._emit(self.reorder.flush())

    def _emit(self, items: list[Printed]) -> list[Printed]:
        for item in items:
            self.printed.append(item)
            self.show(format_line(item))
            if self.on_result is not None:
                self.on_result(item)
        return items

    def handler(self, stream: RxStream[bytes]) -> RxStream[list[Printed]]:
        """``subscribe(0x11).on_observe(decode_result).map(receive)``."""
        return stream.subscribe(LABEL_KEY).on_observe(decode_result).map(self.receive)


def format_line(item: Printed) -> str:
    """``frame   3  It is very likely a espresso in the picture   12.3 ms``."""
    name = f"frame {item.index:4d}" if item.index >= 0 else "frame    ?"
    latency = f"{item.latency_ms:8.1f} ms" if item.latency_ms is not None else ""
    return f"{name}  {item.text:<56} {latency}".rstrip()

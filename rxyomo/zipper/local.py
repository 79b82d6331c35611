"""Functions the zipper serves itself: a workflow entry with ``wasm:`` (or ``python:``).

Each runs in a :class:`~rxyomo.functions.runner.FunctionRunner` of the zipper's
:class:`~rxyomo.functions.host.FunctionHost`, on worker threads, and the router sees it
as one more connection, a :class:`LocalFunction`: a destination the routing table
chooses by the same rules as a connected stream function (the tags it observes, never
its own answers, targets, the workflow's order), and the sender of its answers, which are
routed on as a stream function's would be, with the incoming frame's metadata (less its
routing keys) and the version that made them under
:data:`~rxyomo.functions.frames.VERSION_KEY`.

- **Back-pressure.** When the runner's queue is full, the function refuses the frame and
  holds it, in order, and counts as a congested destination: the router pauses reading
  from every sender that routes to it (:class:`~rxyomo.delivery.backpressure.BackPressure`,
  as for a slow connection). Once the runner has room again (its room listener) the held
  frames go in first and the senders resume. A function whose answers meet a congested
  destination stops taking frames the same way, so the pressure travels upstream.
- **Threads.** Outcomes and room come from worker threads; they hop to the event loop
  with ``call_soon_threadsafe``, once per batch rather than once per frame.
- **Receipts.** A frame's ticket is released when its call ends: delivered (whatever
  the call's fate, as a connected function's handler error is), or dropped when it never
  ran (the function was quarantined, or closed).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from typing import Any, Protocol

from rxyomo.client.context import answer_metadata
from rxyomo.delivery.settlement import Ticket
from rxyomo.functions.frames import CLOSED, QUARANTINED, VERSION_KEY, Frame, Outcome
from rxyomo.functions.runner import FunctionRunner
from rxyomo.protocol.frames import ClientType, DataFrame
from rxyomo.protocol.metadata import MetadataError, decode_metadata, encode_metadata
from rxyomo.zipper.stats import ConnectionStats, ZipperStats

__all__ = ["FunctionOwner", "LocalFunction"]

#: Where the connections list of the stats shows a served function's traffic from.
IN_PROCESS = "in-process"


class FunctionOwner(Protocol):
    """What a :class:`LocalFunction` tells the zipper (its router)."""

    #: The zipper's counters.
    stats: ZipperStats

    def answered(self, function: LocalFunction, frame: DataFrame) -> None:
        """``function`` answered with ``frame``: route it on."""

    def dropped(self, reason: str, ticket: Ticket | None) -> None:
        """A frame routed to the function was not delivered, for ``reason``."""

    def congested(self, function: LocalFunction) -> None:
        """The function takes no more frames for now: pause whoever routes to it."""

    def drained(self, function: LocalFunction) -> None:
        """The function takes frames again: resume those it held paused."""

    def input_handled(self) -> None:
        """A batch of answers was routed: flush them, and settle soon."""


class LocalFunction:
    """A served function as the router sees it (see the module's documentation).

    Frames come in with :meth:`deliver` and answers go out through the owner, on the
    event loop's thread; ``runner`` calls back from its worker threads.
    """

    def __init__(
        self,
        owner: FunctionOwner,
        conn_id: int,
        runner: FunctionRunner,
        call_soon_threadsafe: Any,
    ) -> None:
        self.owner = owner
        self.conn_id = conn_id
        self.runner = runner
        self.name = runner.name
        #: Frames routed to it (``frames_out``) and answers it wrote (``frames_in``).
        self.stats = ConnectionStats(name=runner.name, peer=IN_PROCESS)
        #: Served functions ask for no receipts of their answers.
        self.settlement = None
        #: Answers refused because they cannot be routed, and failed calls.
        self.failed = 0
        #: The most frames held at once while the runner was full.
        self.held_most = 0
        self._call_soon_threadsafe = call_soon_threadsafe
        self._held: deque[Frame] = deque()
        self._paused = False  # a destination of its answers is congested
        self._congested = False  # the owner holds its senders paused
        self._closed = False
        # What the worker threads hand over, taken in one hop per batch.
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._room = False
        self._hop_due = False
        runner.add_room_listener(self._room_from_worker)

    @property
    def client_type(self) -> ClientType:
        """A served function is routed to as a stream function."""
        return ClientType.STREAM_FUNCTION

    @property
    def is_open(self) -> bool:
        """Whether it takes frames."""
        return not self._closed

    # frames in (the loop's thread)

    def deliver(self, frame: DataFrame, ticket: Ticket | None) -> None:
        """Hand ``frame`` to the runner, or hold it (in order) while the runner is full."""
        try:
            metadata = decode_metadata(frame.metadata)
        except MetadataError:
            self.owner.dropped("bad metadata", ticket)
            return
        if ticket is not None:
            ticket.hold()  # until the call ends
        payload = frame.payload if type(frame.payload) is bytes else bytes(frame.payload)
        item = Frame(frame.tag, payload, metadata, ticket)
        self.stats.frames_out += 1
        self.stats.bytes_out += len(payload)
        if self._held or self._paused or not self.runner.submit(item, self._done_from_worker):
            self._held.append(item)
            self.held_most = max(self.held_most, len(self._held))
            self._hold_senders()

    def pause_reading(self) -> None:
        """A destination of its answers is congested: take no more frames for now."""
        self._paused = True

    def resume_reading(self) -> None:
        """Undo :meth:`pause_reading`."""
        self._paused = False
        self._feed()

    # from the worker threads

    def _done_from_worker(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)
            due = not self._hop_due
            self._hop_due = True
        if due:
            self._hop()

    def _room_from_worker(self) -> None:
        with self._lock:
            self._room = True
            due = not self._hop_due
            self._hop_due = True
        if due:
            self._hop()

    def _hop(self) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nowhere to route to
            self._call_soon_threadsafe(self._take)

    # back on the loop's thread

    def _take(self) -> None:
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
            room, self._room = self._room, False
            self._hop_due = False
        for outcome in outcomes:
            self._settle(outcome)
        if room:
            self._feed()
        self.owner.input_handled()

    def _settle(self, outcome: Outcome) -> None:
        ticket = outcome.frame.key
        dropped = None
        if outcome.cause in (QUARANTINED, CLOSED):
            dropped = f"function {self.name!r} {outcome.cause}"
            self.owner.stats.drop(dropped)
        if isinstance(ticket, Ticket):
            ticket.release(dropped)
        if not outcome.ok:
            self.failed += 1
            return
        if self._closed:
            return
        for answer in outcome.answers:
            meta = answer_metadata(outcome.frame.metadata, answer.target)
            meta[VERSION_KEY] = outcome.version
            self.owner.answered(self, DataFrame(answer.tag, answer.data, encode_metadata(meta)))

    def _feed(self) -> None:
        """The held frames into the runner, oldest first, while it takes them; then the
        senders go on."""
        held = self._held
        while held and not self._paused:
            if not self.runner.submit(held[0], self._done_from_worker):
                return  # full again: its room listener says when
            held.popleft()
        if not held and not self._paused and self._congested:
            self._congested = False
            self.owner.drained(self)

    def _hold_senders(self) -> None:
        if not self._congested:
            self._congested = True
            self.owner.congested(self)

    # the end

    def close(self) -> None:
        """Stop taking frames: those held are dropped (counted, their tickets released).
        The runner itself is the host's to close; call :meth:`finish` once it is."""
        self._closed = True
        self.runner.remove_room_listener(self._room_from_worker)
        reason = f"function {self.name!r} {CLOSED}"
        while self._held:
            ticket = self._held.popleft().key
            self.owner.stats.drop(reason)
            if isinstance(ticket, Ticket):
                ticket.release(reason)

    def finish(self) -> None:
        """Settle what the closed runner handed back (on the loop's thread)."""
        self._take()

    def snapshot(self) -> dict[str, Any]:
        """The runner's stats and the zipper's side of the function, as plain data."""
        data = self.runner.snapshot()
        data.update(
            served_by="zipper",
            routed=self.stats.frames_out,
            answers=self.stats.frames_in,
            held=len(self._held),
            held_most=self.held_most,
            holding_senders=self._congested,
            paused=self._paused,
        )
        return data

"""Runs one function: a bounded queue, worker threads, limits, quarantine, versions.

Whoever feeds the function calls :meth:`FunctionRunner.submit` with a
:class:`~rxyomo.functions.frames.Frame` and a callback; the callback gets the frame's
:class:`~rxyomo.functions.frames.Outcome` on a worker thread (or at once, in the caller's
thread, for a frame that is not run). Nothing here needs an event loop.

- **Instances.** ``limits.instances`` workers, each a thread with an instance of its own:
  calls into wasm release the GIL (wasmtime is called through ctypes), so instances and
  other functions run in parallel.
- **Back-pressure.** At most ``limits.queue`` frames wait. ``submit`` refuses a frame
  when they do (it returns False and keeps nothing); once the queue is down to half, the
  room listeners are called, so the feeder can resume.
- **Containment.** Each call runs under the function's own limits (deadline, fuel,
  memory); a fault discards the instance. Repeated costly faults quarantine the function
  (:mod:`rxyomo.functions.quarantine`): its frames are settled at once, unrun, so neither
  its CPU use nor back-pressure from it reaches other functions.
- **Versions.** :meth:`swap` hands the function new code between frames: each frame is
  run by the version current when a worker takes it, so frames in flight finish on the
  old one and every frame is run once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rxyomo._throttle import ThrottledLog
from rxyomo.functions.frames import CLOSED, INSTANCE_FAILED, QUARANTINED, Fault, Frame, Outcome
from rxyomo.functions.quarantine import Quarantine, QuarantinePolicy, State
from rxyomo.functions.stats import FunctionStats
from rxyomo.functions.version import FunctionVersion, Instance
from rxyomo.observe.functions import is_observed, observed_host_call

__all__ = ["Done", "FunctionRunner"]

log = logging.getLogger("rxyomo.functions")

#: The callback that gets each frame's outcome.
Done = Callable[[Outcome], object]


class FunctionRunner:
    """One function's queue and workers (see the module's documentation)."""

    def __init__(
        self,
        version: FunctionVersion,
        *,
        quarantine: QuarantinePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = version.config
        self.name = config.name
        self.config = config
        self.instances = config.limits.instances
        self.queue_size = config.limits.queue
        self.stats = FunctionStats()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[tuple[Frame, Done]] = deque()
        self._version = version
        self._generation = 0
        self._quarantine = Quarantine(quarantine)
        self._busy = 0
        self._closing = False
        self._refused = False
        self._room_listeners: list[Callable[[], None]] = []
        self._warn = ThrottledLog(log)
        self._threads = [
            threading.Thread(
                target=self._work, args=(index,), name=f"fn-{self.name}-{index}", daemon=True
            )
            for index in range(self.instances)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def version(self) -> FunctionVersion:
        """The version new frames run on."""
        with self._cond:
            return self._version

    @property
    def observe(self) -> tuple[int, ...]:
        """The tags the function observes."""
        return self.version.observe

    @property
    def capacity(self) -> int:
        """Frames the function holds at most: those running and those queued."""
        return self.instances + self.queue_size

    @property
    def full(self) -> bool:
        """Whether :meth:`submit` would refuse a frame now."""
        with self._cond:
            return len(self._queue) >= self.queue_size

    @property
    def pending(self) -> int:
        """Frames queued or running."""
        with self._cond:
            return len(self._queue) + self._busy

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closing

    def add_room_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from a worker thread) when a refused feeder may submit again."""
        with self._cond:
            self._room_listeners.append(listener)

    def remove_room_listener(self, listener: Callable[[], None]) -> None:
        """Undo :meth:`add_room_listener`."""
        with self._cond:
            if listener in self._room_listeners:
                self._room_listeners.remove(listener)

    def submit(self, frame: Frame, done: Done) -> bool:
        """Queue ``frame``; ``done`` gets its outcome. False (nothing kept) when the queue
        is full. A frame that will not run (the function is quarantined or closed) is
        settled at once: ``done`` may be called before this returns."""
        with self._cond:
            if self._closing:
                version, cause, detail = self._version.version, CLOSED, "the function was removed"
            elif self._quarantine.remaining(self._clock()) > 0:
                version, cause = self._version.version, QUARANTINED
                detail = self._why_quarantined()
            elif len(self._queue) >= self.queue_size:
                self._refused = True
                self.stats.refuse()
                return False
            else:
                self._queue.append((frame, done))
                self.stats.accepted()
                self._cond.notify()
                return True
        self.stats.accepted()
        self.stats.record(version, 0.0, cause, ran=False)
        self._settle(done, Outcome(frame, version=version, cause=cause, detail=detail))
        return True

    def swap(self, version: FunctionVersion) -> FunctionVersion:
        """Make ``version`` run every frame taken from now on; returns the old one.

        Frames already running finish on the old version. The fault record starts clean.
        """
        if version.name != self.name:
            raise ValueError(f"a version of {version.name!r} cannot serve {self.name!r}")
        with self._cond:
            old, self._version = self._version, version
            self._generation += 1
            self._quarantine.reset()
            self._cond.notify_all()  # idle workers move to the new version now
        old.retire()
        self.stats.reloaded()
        return old

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 5.0, *, drain: bool = True) -> None:
        """Stop taking frames. With ``drain`` the queued ones run first (for up to
        ``timeout`` seconds); those left are settled as closed."""
        with self._cond:
            self._closing = True
            leftovers: list[tuple[Frame, Done]] = []
            if not drain:
                leftovers, self._queue = list(self._queue), deque()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0))
        with self._cond:
            leftovers += list(self._queue)
            self._queue.clear()
            version = self._version.version
        for frame, done in leftovers:
            self.stats.record(version, 0.0, CLOSED, ran=False)
            self._settle(done, Outcome(frame, version=version, cause=CLOSED, detail="closed"))
        self._version.retire()

    def snapshot(self) -> dict[str, Any]:
        """Stats and state as plain data."""
        with self._cond:
            version = self._version
            state = self._quarantine.state.value
            remaining = self._quarantine.remaining(self._clock())
            entered = self._quarantine.entered
            queued, busy = len(self._queue), self._busy
        data = self.stats.snapshot()
        data.update(
            name=self.name,
            kind=self.config.kind,
            convention=version.convention or None,
            source=str(self.config.source),
            version=version.version,
            sha256=version.sha256,
            observe=[f"0x{tag:X}" for tag in version.observe],
            reply=f"0x{self.config.reply:X}" if self.config.reply is not None else None,
            state=state,
            quarantines=entered,
            quarantine_left=round(remaining, 3),
            queued=queued,
            running=busy,
            instances=self.instances,
            queue_size=self.queue_size,
        )
        return data

    # the workers

    def _work(self, index: int) -> None:
        instance: Instance | None = None
        made_for = -1
        while True:
            with self._cond:
                while (
                    not self._queue
                    and not self._closing
                    and not (instance is not None and made_for != self._generation)
                ):
                    self._cond.wait()
                version, generation = self._version, self._generation
                if not self._queue:
                    if self._closing:
                        break
                    item = None  # woken by a new version while idle
                else:
                    item = self._queue.popleft()
                    admitted = self._quarantine.admit(self._clock())
                    quarantined = "" if admitted else self._why_quarantined()
                    self._busy += 1
                    room = self._room_due()
            if item is None:
                # Warm the new version now, so that its first frame does not wait for it.
                self._discard(index, instance)
                instance = self._make(version)
                made_for = generation
                continue
            if room:
                self._call_room_listeners()
            frame, done = item
            if not admitted:
                outcome = Outcome(
                    frame, version=version.version, cause=QUARANTINED, detail=quarantined
                )
                self._finish(index, instance, outcome, ran=False, costly=False)
                self._settle(done, outcome)
                continue
            if instance is None or made_for != generation:
                self._discard(index, instance)
                instance = self._make(version)
                made_for = generation
            if is_observed(frame.metadata):
                call = functools.partial(self._call, version, instance)
                outcome, costly = observed_host_call(self.name, frame, call)
            else:
                outcome, costly = self._call(version, instance, frame)
            if costly:
                self._discard(index, instance)
                instance = None
            self._finish(index, instance, outcome, ran=True, costly=costly)
            self._settle(done, outcome)
        self._discard(index, instance)

    def _call(
        self, version: FunctionVersion, instance: Instance | None, frame: Frame
    ) -> tuple[Outcome, bool]:
        if instance is None:
            detail = "no instance could be made (see the log)"
            failed = Outcome(frame, version=version.version, cause=INSTANCE_FAILED, detail=detail)
            return failed, True
        started = time.perf_counter()
        try:
            answers = instance.call(frame)
        except Fault as fault:
            seconds = time.perf_counter() - started
            self._warn.warning(f"fault {fault.cause}", "%s: a frame failed (%s)", self.name, fault)
            outcome = Outcome(
                frame,
                version=version.version,
                cause=fault.cause,
                detail=fault.detail,
                seconds=seconds,
            )
            return outcome, fault.costly
        except Exception as exc:  # a bug below, not the guest's: contained all the same
            seconds = time.perf_counter() - started
            self._warn.exception("unexpected", "%s: the call failed unexpectedly", self.name)
            detail = f"{type(exc).__name__}: {exc}"
            return Outcome(
                frame,
                version=version.version,
                cause=INSTANCE_FAILED,
                detail=detail,
                seconds=seconds,
            ), True
        seconds = time.perf_counter() - started
        return Outcome(frame, tuple(answers), version.version, seconds=seconds), False

    def _finish(
        self, index: int, instance: Instance | None, outcome: Outcome, *, ran: bool, costly: bool
    ) -> None:
        with self._cond:
            self._busy -= 1
            entered = ran and self._quarantine.record(self._clock(), costly_fault=costly)
            if not self._queue and not self._busy:
                self._cond.notify_all()  # wait_idle
        self.stats.record(outcome.version, outcome.seconds, outcome.cause, ran=ran)
        self.stats.memory(index, instance.memory() if instance is not None else None)
        if entered:
            log.warning(
                "%s: quarantined for %.1f s after %d faults in a row (last: %s)",
                self.name,
                self._quarantine.remaining(self._clock()),
                self._quarantine.consecutive,
                outcome.cause,
            )

    def _make(self, version: FunctionVersion) -> Instance | None:
        try:
            instance = version.instantiate()
        except Fault as fault:
            self._warn.warning("instance", "%s: cannot make an instance: %s", self.name, fault)
            return None
        self.stats.instance_made()
        return instance

    def _discard(self, index: int, instance: Instance | None) -> None:
        if instance is not None:
            try:
                instance.close()
            except Exception:
                log.exception("%s: closing an instance failed", self.name)
        self.stats.memory(index, None)

    def _why_quarantined(self) -> str:
        # Under the lock.
        faults = self._quarantine.consecutive
        if self._quarantine.state is State.TRYING:
            return f"after {faults} faults in a row; another frame is being tried"
        left = self._quarantine.remaining(self._clock())
        return f"after {faults} faults in a row, for {left:.1f} s more"

    def _room_due(self) -> bool:
        # Under the lock: a refused feeder is told once the queue is down to half.
        if self._refused and len(self._queue) <= self.queue_size // 2:
            self._refused = False
            return True
        return False

    def _call_room_listeners(self) -> None:
        with self._cond:
            listeners = list(self._room_listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("%s: a room listener failed", self.name)

    def _settle(self, done: Done, outcome: Outcome) -> None:
        try:
            done(outcome)
        except Exception:
            log.exception("%s: the outcome callback failed", self.name)

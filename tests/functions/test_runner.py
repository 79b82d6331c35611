"""The runner: instances on threads, a bounded queue, quarantine, versions, stats."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rxyomo.functions import (
    CLOSED,
    HANDLER_ERROR,
    INSTANCE_FAILED,
    QUARANTINED,
    Fault,
    Frame,
    FunctionConfig,
    FunctionLimits,
    FunctionRunner,
    FunctionVersion,
    Instance,
    Outcome,
    QuarantinePolicy,
    function_config,
    load_version,
)
from rxyomo.functions.frames import Answer
from tests.functions.conftest import GuestFactory
from tests.waiting import eventually_in_thread

Call = Callable[[Frame], list[Answer]]


class _Instance(Instance):
    def __init__(self, call: Call, closed: list[int]) -> None:
        self._call = call
        self._closed = closed

    def call(self, frame: Frame) -> list[Answer]:
        return self._call(frame)

    def close(self) -> None:
        self._closed.append(1)


class CallVersion(FunctionVersion):
    """A version whose instances call ``call``; made instances and closes are counted."""

    def __init__(self, call: Call, tag: str = "a", **limits: int) -> None:
        config = FunctionConfig("fn", Path("fn.py"), "python", limits=FunctionLimits(**limits))
        super().__init__(config, tag * 64, (0x10,))
        self._call = call
        self.made = 0
        self.closed: list[int] = []
        self.retired = False

    def instantiate(self) -> Instance:
        self.made += 1
        return _Instance(self._call, self.closed)

    def retire(self) -> None:
        self.retired = True


class Collector:
    """Outcomes as they come, from any thread."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self._cond = threading.Condition()

    def __call__(self, outcome: Outcome) -> None:
        with self._cond:
            self.outcomes.append(outcome)
            self._cond.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[Outcome]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.outcomes) >= count, timeout), (
                f"{len(self.outcomes)} of {count} outcomes"
            )
            return list(self.outcomes)


def key(outcome: Outcome) -> int:
    """The frame's key, which these tests make an int."""
    assert isinstance(outcome.frame.key, int)
    return outcome.frame.key


@pytest.fixture
def runners() -> Iterator[list[FunctionRunner]]:
    made: list[FunctionRunner] = []
    yield made
    for runner in made:
        runner.close(timeout=2.0, drain=False)


def _echo(frame: Frame) -> list[Answer]:
    return [Answer(0x11, frame.data)]


def test_a_wasm_function_answers_and_counts(
    make_guest: GuestFactory, runners: list[FunctionRunner]
) -> None:
    config = function_config("echo", make_guest("v1:"), observe=[0x10], export="echo", reply=0x11)
    version = load_version(config)
    runner = FunctionRunner(version)
    runners.append(runner)
    got = Collector()
    for index in range(20):
        assert runner.submit(Frame(0x10, b"%d" % index, {"k": "v"}, key=index), got)
    outcomes = got.wait(20)
    assert [o.frame.key for o in outcomes] == list(range(20))  # one instance: in order
    assert all(o.ok and o.version == version.version for o in outcomes)
    assert outcomes[3].answers == (Answer(0x11, b"v1:3"),)
    stats = runner.snapshot()
    assert (stats["frames"], stats["handled"], stats["errors"]) == (20, 20, {})
    assert stats["call_ms"]["calls"] == 20
    assert 0 < stats["call_ms"]["p50"] <= stats["call_ms"]["p99"]
    assert stats["memory"] == 2 * 65536
    assert stats["by_version"] == {version.version: 20}
    assert stats["sha256"] == version.sha256
    assert stats["instances_made"] == 1


def test_instances_run_at_once_on_their_own_threads(runners: list[FunctionRunner]) -> None:
    together = threading.Barrier(4, timeout=5.0)
    names: set[str] = set()

    def call(frame: Frame) -> list[Answer]:
        names.add(threading.current_thread().name)
        together.wait()  # fails unless all four calls run at the same time
        return []

    runner = FunctionRunner(CallVersion(call, instances=4))
    runners.append(runner)
    got = Collector()
    for _ in range(4):
        runner.submit(Frame(0x10, b""), got)
    assert all(o.ok for o in got.wait(4))
    assert len(names) == 4


def test_wasm_calls_run_in_parallel(
    make_guest: GuestFactory, runners: list[FunctionRunner]
) -> None:
    # Two endless loops cut by a 300 ms deadline finish together: the GIL is released.
    config = function_config(
        "spin", make_guest(), observe=[1], export="spin",
        limits={"timeout_ms": 300, "instances": 2},
    )  # fmt: skip
    runner = FunctionRunner(load_version(config))
    runners.append(runner)
    got = Collector()
    started = time.monotonic()
    runner.submit(Frame(1, b""), got)
    runner.submit(Frame(1, b""), got)
    outcomes = got.wait(2)
    assert time.monotonic() - started < 0.55
    assert [o.cause for o in outcomes] == ["deadline exceeded"] * 2


def test_a_full_queue_refuses_and_calls_the_room_listeners(
    runners: list[FunctionRunner],
) -> None:
    release, entered = threading.Event(), threading.Event()

    def call(frame: Frame) -> list[Answer]:
        entered.set()
        release.wait(5.0)
        return []

    runner = FunctionRunner(CallVersion(call, instances=1, queue=2))
    runners.append(runner)
    room = threading.Event()
    runner.add_room_listener(room.set)
    got = Collector()
    assert runner.submit(Frame(0x10, b"running"), got)
    assert entered.wait(5.0)
    assert runner.submit(Frame(0x10, b"queued"), got)
    assert runner.submit(Frame(0x10, b"queued"), got)
    assert runner.full
    assert not runner.submit(Frame(0x10, b"refused"), got)  # nothing is kept
    assert runner.capacity == 3
    assert runner.snapshot()["refused"] == 1
    assert not room.is_set()
    release.set()
    assert room.wait(5.0)
    assert len(got.wait(3)) == 3
    assert runner.snapshot()["frames"] == 3


def test_repeated_faults_quarantine_and_a_try_ends_it(runners: list[FunctionRunner]) -> None:
    healthy = threading.Event()

    def call(frame: Frame) -> list[Answer]:
        if not healthy.is_set():
            raise Fault("guest trap", "unreachable")
        return []

    version = CallVersion(call)
    policy = QuarantinePolicy(faults=2, backoff=0.3, max_backoff=1.0)
    runner = FunctionRunner(version, quarantine=policy)
    runners.append(runner)
    got = Collector()
    runner.submit(Frame(0x10, b""), got)
    runner.submit(Frame(0x10, b""), got)
    got.wait(2)
    # Quarantined: settled at once, in this thread, never run.
    assert runner.submit(Frame(0x10, b""), got)
    outcomes = got.wait(3)
    assert outcomes[2].cause == QUARANTINED
    assert "after 2 faults in a row" in outcomes[2].detail
    assert outcomes[2].seconds == 0
    stats = runner.snapshot()
    assert stats["state"] == "quarantined"
    assert stats["quarantines"] == 1
    assert stats["errors"] == {"guest trap": 2, QUARANTINED: 1}
    assert version.made == 2  # each fault discarded its instance
    healthy.set()
    time.sleep(0.35)  # scenario: the quarantine's back-off runs out
    runner.submit(Frame(0x10, b""), got)
    assert got.wait(4)[3].ok
    assert runner.snapshot()["state"] == "serving"


def test_handler_errors_do_not_quarantine(runners: list[FunctionRunner]) -> None:
    def call(frame: Frame) -> list[Answer]:
        raise Fault(HANDLER_ERROR, "ValueError: bad input", costly=False)

    version = CallVersion(call)
    runner = FunctionRunner(version, quarantine=QuarantinePolicy(faults=1))
    runners.append(runner)
    got = Collector()
    for _ in range(10):
        runner.submit(Frame(0x10, b""), got)
    assert [o.cause for o in got.wait(10)] == [HANDLER_ERROR] * 10
    assert runner.snapshot()["state"] == "serving"
    assert version.made == 1  # the instance is kept


def test_unexpected_errors_and_failed_instances_are_contained(
    runners: list[FunctionRunner],
) -> None:
    class Broken(CallVersion):
        def instantiate(self) -> Instance:
            if self.made == 0:
                self.made += 1
                raise Fault(INSTANCE_FAILED, "no accelerator")
            return super().instantiate()

    def call(frame: Frame) -> list[Answer]:
        if frame.data == b"bug":
            raise KeyError("a bug below the guest")
        return []

    runner = FunctionRunner(Broken(call))
    runners.append(runner)
    got = Collector()

    def explode(outcome: Outcome) -> None:
        got(outcome)
        raise RuntimeError("the callback failed")  # logged; the worker goes on

    for data in (b"first", b"bug", b"fine"):
        runner.submit(Frame(0x10, data), explode)
    causes = [o.cause for o in got.wait(3)]
    assert causes == [INSTANCE_FAILED, INSTANCE_FAILED, None]
    assert "no instance could be made" in got.outcomes[0].detail
    assert "KeyError" in got.outcomes[1].detail


def test_close_drains_or_settles_what_is_queued(runners: list[FunctionRunner]) -> None:
    gate = threading.Event()

    def call(frame: Frame) -> list[Answer]:
        gate.wait(5.0)
        return []

    drained = FunctionRunner(CallVersion(call))
    got = Collector()
    for _ in range(3):
        drained.submit(Frame(0x10, b""), got)
    gate.set()
    drained.close()
    assert [o.cause for o in got.wait(3)] == [None] * 3
    assert drained.submit(Frame(0x10, b""), got)
    assert got.wait(4)[3].cause == CLOSED

    gate.clear()
    version = CallVersion(call)
    dropped = FunctionRunner(version)
    late = Collector()
    for _ in range(3):
        dropped.submit(Frame(0x10, b""), late)
    threading.Timer(0.2, gate.set).start()
    dropped.close(drain=False)
    causes = sorted(str(o.cause) for o in late.wait(3))
    assert causes == ["None", CLOSED, CLOSED] or causes == [CLOSED, CLOSED, CLOSED]
    assert version.retired
    assert sum(version.closed) == version.made


def test_a_swap_takes_over_between_frames(runners: list[FunctionRunner]) -> None:
    inside = threading.Event()
    gate = threading.Event()

    def old_call(frame: Frame) -> list[Answer]:
        if frame.data == b"slow":
            inside.set()
            gate.wait(5.0)
        return []

    old = CallVersion(old_call, "a")
    new = CallVersion(_echo, "b")
    runner = FunctionRunner(old)
    runners.append(runner)
    got = Collector()
    runner.submit(Frame(0x10, b"slow", key=0), got)
    assert inside.wait(5.0)
    runner.submit(Frame(0x10, b"after", key=1), got)
    assert runner.swap(new) is old
    assert old.retired
    gate.set()
    outcomes = got.wait(2)
    # The frame in flight finished on the old version; the queued one ran on the new.
    assert [(o.frame.key, o.version) for o in outcomes] == [(0, "a" * 16), (1, "b" * 16)]
    assert runner.snapshot()["by_version"] == {"a" * 16: 1, "b" * 16: 1}
    assert runner.snapshot()["reloads"] == 1
    other = CallVersion(_echo)
    other.config = FunctionConfig("other", Path("o.py"), "python")
    with pytest.raises(ValueError, match="cannot serve"):
        runner.swap(other)


def test_an_idle_worker_warms_the_new_version(runners: list[FunctionRunner]) -> None:
    old, new = CallVersion(_echo, "a"), CallVersion(_echo, "b")
    runner = FunctionRunner(old)
    runners.append(runner)
    got = Collector()
    runner.submit(Frame(0x10, b""), got)
    got.wait(1)
    runner.swap(new)
    # Made before any frame asks for it.
    eventually_in_thread(lambda: new.made > 0, "the new version's instance", timeout=5)
    assert len(old.closed) == 1

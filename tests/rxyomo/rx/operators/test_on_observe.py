from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest

from rxyomo.rx import ErrorReporter, ItemError
from rxyomo.rx import operators as yops
from tests.waiting import eventually

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

WAIT = 5.0  # seconds: a bound for the test to fail rather than hang, never a measurement


def test_inline_on_observe_is_a_continue_on_error_map(marbles):
    xs = marbles.hot("-a-b-|", {"a": b"\x01", "b": b""})

    def first_byte(payload: bytes) -> int:
        return payload[0]

    results = marbles.start(lambda: xs.pipe(yops.on_observe(first_byte, reporter=marbles.reporter)))
    assert results == [on_next(201, 1), on_completed(205)]
    assert [item for item, _ in marbles.errors_of("on_observe")] == [b""]


class Recorder:
    """Collects what a subscription receives, and on which thread."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self.threads: set[int] = set()
        self.error: Exception | None = None
        self.done = asyncio.Event()

    def on_next(self, value: object) -> None:
        self.threads.add(threading.get_ident())
        self.items.append(value)

    def on_error(self, error: Exception) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


def run_through(operator, items, *, complete=True):
    subject: Subject[object] = Subject()
    recorder = Recorder()
    subscription = subject.pipe(operator).subscribe(
        recorder.on_next, recorder.on_error, recorder.on_completed
    )
    for item in items:
        subject.on_next(item)
    if complete:
        subject.on_completed()
    return recorder, subject, subscription


async def test_results_keep_input_order_and_come_back_on_the_loop_thread():
    def slow_for_small(x: int) -> int:
        time.sleep(0.002 * (8 - x))  # scenario: work whose later items finish first
        return x * 10

    recorder, _, _ = run_through(yops.on_observe(slow_for_small, max_concurrency=4), range(8))
    await asyncio.wait_for(recorder.done.wait(), WAIT)
    assert recorder.items == [x * 10 for x in range(8)]
    assert recorder.threads == {threading.get_ident()}


async def test_unordered_results_come_as_they_finish():
    one_emitted = threading.Event()

    def work(x: int) -> int:
        if x == 0:  # finishes only once 1 was emitted: impossible in input order
            one_emitted.wait(WAIT)
        return x

    subject: Subject[int] = Subject()
    recorder = Recorder()

    def on_next(value: object) -> None:
        recorder.on_next(value)
        if value == 1:
            one_emitted.set()

    subject.pipe(yops.on_observe(work, max_concurrency=2, ordered=False)).subscribe(
        on_next, recorder.on_error, recorder.on_completed
    )
    subject.on_next(0)
    subject.on_next(1)
    subject.on_completed()
    await asyncio.wait_for(recorder.done.wait(), WAIT)
    assert recorder.items == [1, 0]


async def test_no_more_than_max_concurrency_calls_run_at_once_and_none_is_dropped():
    release = threading.Event()
    lock = threading.Lock()
    loop = asyncio.get_running_loop()
    bound_reached = asyncio.Event()
    running = 0
    started = 0
    peak = 0

    def work(x: int) -> int:
        nonlocal running, started, peak
        with lock:
            running += 1
            started += 1
            peak = max(peak, running)
            if started == 3:
                loop.call_soon_threadsafe(bound_reached.set)
        release.wait(WAIT)
        with lock:
            running -= 1
        return x

    # One worker more than the bound: a fourth call, were the bound broken, would take it.
    with ThreadPoolExecutor(max_workers=4) as pool:
        recorder, _, _ = run_through(
            yops.on_observe(work, executor=pool, max_concurrency=3), range(12)
        )
        await asyncio.wait_for(bound_reached.wait(), WAIT)
        # A marker job, queued behind any fourth call: it runs only on a worker left free.
        marker = pool.submit(lambda: None)
        await eventually(marker.done, "the marker job on the spare worker", timeout=WAIT)
        assert started == 3
        release.set()
        await asyncio.wait_for(recorder.done.wait(), WAIT)
    assert peak == 3
    assert recorder.items == list(range(12))


async def test_a_failing_call_is_reported_and_the_rest_keep_their_order():
    reports: list[ItemError] = []
    reporter = ErrorReporter()
    reporter.add_handler(reports.append)

    def work(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    recorder, _, _ = run_through(
        yops.on_observe(work, max_concurrency=2, reporter=reporter), range(5)
    )
    await asyncio.wait_for(recorder.done.wait(), WAIT)
    assert recorder.items == [0, 1, 3, 4]
    assert [(r.operator, r.item, str(r.error)) for r in reports] == [("on_observe", 2, "two")]


async def test_a_source_failure_waits_for_the_calls_in_flight():
    def slow(x: int) -> int:
        time.sleep(0.01)  # scenario: calls still running when the source fails
        return x

    recorder, subject, _ = run_through(
        yops.on_observe(slow, max_concurrency=2),
        [1, 2],
        complete=False,
    )
    subject.on_error(ConnectionResetError("peer"))
    await asyncio.wait_for(recorder.done.wait(), WAIT)
    assert recorder.items == [1, 2]
    assert isinstance(recorder.error, ConnectionResetError)


async def test_a_given_executor_is_used_and_left_running():
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="inference") as pool:
        recorder, _, _ = run_through(
            yops.on_observe(lambda x: threading.current_thread().name, executor=pool), [1, 2]
        )
        await asyncio.wait_for(recorder.done.wait(), WAIT)
        assert all(name.startswith("inference") for name in recorder.items)
        assert pool.submit(lambda: 5).result(WAIT) == 5


async def test_disposal_stops_results_from_being_emitted():
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        recorder, _, subscription = run_through(
            yops.on_observe(lambda x: release.wait(WAIT) and x, executor=pool, max_concurrency=1),
            [1, 2, 3],
            complete=False,
        )
        subscription.dispose()
        release.set()
        # A marker job behind the call: once it is back on the loop, so is the call's result.
        await asyncio.wait_for(asyncio.wrap_future(pool.submit(lambda: None)), WAIT)
    assert recorder.items == []
    assert not recorder.done.is_set()


def test_without_an_event_loop_results_still_arrive_in_order_and_complete():
    finished = threading.Event()
    items: list[int] = []
    subject: Subject[int] = Subject()

    def plus_one(x: int) -> int:
        return x + 1

    subject.pipe(yops.on_observe(plus_one, max_concurrency=2)).subscribe(
        items.append, on_completed=finished.set
    )
    for x in range(20):
        subject.on_next(x)
    subject.on_completed()
    assert finished.wait(WAIT)
    assert items == [x + 1 for x in range(20)]


@pytest.mark.parametrize("bad", [0, -1])
def test_max_concurrency_must_be_positive(bad):
    with pytest.raises(ValueError, match=f"max_concurrency must be >= 1, got {bad}"):
        yops.on_observe(str, max_concurrency=bad)


def test_calls_that_finish_at_once_do_not_deepen_the_stack():
    import sys
    from concurrent.futures import Executor, Future

    class FirstHeldThenImmediate(Executor):
        """Holds the first call; runs every later one inside submit(), so that its future is
        done before its callback is added."""

        def __init__(self) -> None:
            self.held: Future[object] | None = None

        def submit(self, fn, /, *args, **kwargs):
            future: Future[object] = Future()
            if self.held is None:
                self.held = future
            else:
                future.set_result(fn(*args, **kwargs))
            return future

    executor = FirstHeldThenImmediate()
    items: list[int] = []
    subject: Subject[int] = Subject()
    subject.pipe(yops.on_observe(lambda x: x, executor=executor, max_concurrency=1)).subscribe(
        items.append
    )
    count = sys.getrecursionlimit() * 2
    for x in range(count):  # all but the first wait behind the held call
        subject.on_next(x)
    assert executor.held is not None
    executor.held.set_result(0)  # each waiting call now starts, and is done, in turn
    assert items == list(range(count))

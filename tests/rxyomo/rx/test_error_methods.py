"""RxStream's handling of a failed stream (a failing item never gets here)."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)
BOOM = RuntimeError("boom")


def test_on_error_resume_next_goes_on_with_another_stream(marbles):
    xs = marbles.hot("-a-#", error=BOOM)
    results = marbles.start(
        lambda: marbles.stream(xs).on_error_resume_next(lambda e: marbles.cold("-z|"))
    )
    assert results == [on_next(201, "a"), on_next(204, "z"), on_completed(205)]


def test_on_error_resume_next_accepts_an_iterable(marbles):
    xs = marbles.hot("-#", error=BOOM)
    results = marbles.start(lambda: marbles.stream(xs).on_error_resume_next(lambda e: [str(e)]))
    assert results == [on_next(201, "boom"), on_completed(201)]


def test_on_error_return_maps_the_error_to_a_last_item(marbles):
    xs = marbles.hot("-a-#", error=BOOM)
    results = marbles.start(lambda: marbles.stream(xs).on_error_return(lambda e: type(e).__name__))
    assert results == [on_next(201, "a"), on_next(203, "RuntimeError"), on_completed(203)]


def test_on_error_return_item(marbles):
    xs = marbles.hot("-#", error=BOOM)
    results = marbles.start(lambda: marbles.stream(xs).on_error_return_item(-1))
    assert results == [on_next(201, -1), on_completed(201)]


def test_a_failing_item_does_not_trigger_error_recovery(marbles):
    xs = marbles.hot("-1-0-2-|")
    results = marbles.start(
        lambda: marbles.stream(xs).map(lambda x: 10 // x).on_error_return_item(-1)
    )
    assert results == [on_next(201, 10), on_next(205, 5), on_completed(207)]
    assert len(marbles.errors_of("map")) == 1


def test_retry_and_back_off_retry_on_the_stream(marbles):
    xs = marbles.scheduler.create_cold_observable(on_next(1, "a"), on_error(2, BOOM))
    results = marbles.start(lambda: marbles.stream(xs).back_off_retry([3000]).retry(1))
    # back_off_retry: attempts at 200 and 205; retry(1) then starts it all again at 207.
    assert [s.subscribe for s in xs.subscriptions] == [200, 205, 207, 212]
    assert results[-1] == on_error(214, BOOM)


def test_retry_with_a_predicate_on_the_stream(marbles):
    xs = marbles.cold("-#", error=PermissionError("no"))
    results = marbles.start(
        lambda: marbles.stream(xs).retry(3, lambda e: not isinstance(e, PermissionError))
    )
    assert results == [on_error(201, PermissionError("no"))]


def test_recovery_keeps_the_pipeline_context(marbles):
    xs = marbles.hot("-#", error=BOOM)
    stream = marbles.stream(xs).on_error_resume_next(lambda e: reactivex.of(1, 0))
    results = marbles.start(lambda: stream.map(lambda x: 1 // x))
    assert results == [on_next(201, 1), on_completed(201)]
    assert stream.reporter is marbles.reporter

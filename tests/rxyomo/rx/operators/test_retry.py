from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_retry_subscribes_again_up_to_count_times_then_fails(marbles):
    xs = marbles.cold("-a-#", error=ConnectionError("reset"))
    results = marbles.start(lambda: xs.pipe(yops.retry(2)))
    assert results == [
        on_next(201, "a"),
        on_next(204, "a"),
        on_next(207, "a"),
        on_error(209, ConnectionError("reset")),
    ]


def test_retry_stops_at_a_success(marbles):
    attempts = []

    def source_once_broken():
        attempts.append(1)
        return marbles.cold("-a-#" if len(attempts) == 1 else "-b|", error=OSError("once"))

    import reactivex

    results = marbles.start(
        lambda: reactivex.defer(lambda _: source_once_broken()).pipe(yops.retry(5))
    )
    assert results == [on_next(201, "a"), on_next(204, "b"), on_completed(205)]


def test_retry_passes_on_a_failure_it_should_not_retry(marbles):
    xs = marbles.cold("-a-#", error=PermissionError("denied"))
    results = marbles.start(
        lambda: xs.pipe(yops.retry(3, lambda e: not isinstance(e, PermissionError)))
    )
    assert results == [on_next(201, "a"), on_error(203, PermissionError("denied"))]


def test_a_failing_should_retry_ends_the_stream_with_its_error(marbles):
    def broken(_):
        raise TypeError("predicate")

    xs = marbles.cold("-#", error=OSError("o"))
    results = marbles.start(lambda: xs.pipe(yops.retry(3, broken)))
    assert results == [on_error(201, TypeError("predicate"))]


def test_many_synchronous_failures_do_not_nest(marbles):
    import reactivex

    attempts = []

    def fail_at_once(observer, _=None):
        attempts.append(1)
        observer.on_error(OSError("x"))

    # Nested resubscription would overflow the stack long before 5000 attempts.
    results = marbles.start(lambda: reactivex.create(fail_at_once).pipe(yops.retry(5000)))
    assert results == [on_error(200, OSError("x"))]
    assert len(attempts) == 5001


def test_count_must_not_be_negative():
    with pytest.raises(ValueError, match="count must be >= 0, got -1"):
        yops.retry(-1)

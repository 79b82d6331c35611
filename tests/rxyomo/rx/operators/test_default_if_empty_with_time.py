from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_a_default_fills_each_quiet_period_and_the_wait_restarts_after_items(marbles):
    xs = marbles.hot("-a------b|")
    results = marbles.start(lambda: xs.pipe(yops.default_if_empty_with_time(2000, "x")))
    assert results == [
        on_next(201, "a"),
        on_next(203, "x"),
        on_next(205, "x"),
        on_next(207, "x"),
        on_next(208, "b"),
        on_completed(209),
    ]


def test_a_silent_stream_gets_defaults_from_subscription(marbles):
    xs = marbles.hot("-----|")
    results = marbles.start(lambda: xs.pipe(yops.default_if_empty_with_time(2000, 0)))
    assert results == [on_next(202, 0), on_next(204, 0), on_completed(205)]


def test_a_failure_stops_the_defaults(marbles):
    xs = marbles.hot("---#", error=KeyError("k"))
    results = marbles.start(lambda: xs.pipe(yops.default_if_empty_with_time(2000, 0)))
    assert results == [on_next(202, 0), on_error(203, KeyError("k"))]


def test_disposal_stops_the_timer(marbles):
    xs = marbles.hot("-a")
    marbles.start(lambda: xs.pipe(yops.default_if_empty_with_time(2000, 0)), disposed=206)
    # The run ends (a live timer would tick for ever); the clock stops at the timer
    # that was due next, cancelled.
    assert marbles.scheduler.clock <= 206 + 2


def test_a_period_must_be_positive():
    with pytest.raises(ValueError, match="must be a period > 0 ms, got 0"):
        yops.default_if_empty_with_time(0, "x")

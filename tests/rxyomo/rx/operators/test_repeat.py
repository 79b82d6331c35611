from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_repeat_replays_the_recorded_items_after_each_interval(marbles):
    xs = marbles.cold("-a-b|")
    results = marbles.start(lambda: xs.pipe(yops.repeat(2, 3000)))
    assert results == [
        on_next(201, "a"),
        on_next(203, "b"),
        on_next(207, "a"),
        on_next(207, "b"),
        on_next(210, "a"),
        on_next(210, "b"),
        on_completed(210),
    ]


def test_repeat_does_not_subscribe_to_the_source_again(marbles):
    xs = marbles.scheduler.create_cold_observable(on_next(1, "a"), on_completed(2))
    marbles.start(lambda: xs.pipe(yops.repeat(3, 1000)))
    assert len(xs.subscriptions) == 1


def test_repeat_zero_is_the_source_alone(marbles):
    xs = marbles.cold("-a|")
    results = marbles.start(lambda: xs.pipe(yops.repeat(0)))
    assert results == marbles.exp("-a|")


def test_an_infinite_repeat_runs_until_disposed(marbles):
    xs = marbles.cold("-a|")
    results = marbles.start(lambda: xs.pipe(yops.repeat(yops.INFINITE, 2000)), disposed=209)
    assert results == [on_next(t, "a") for t in (201, 204, 206, 208)]


def test_a_failure_ends_without_replay(marbles):
    xs = marbles.cold("-a#", error=ValueError("v"))
    results = marbles.start(lambda: xs.pipe(yops.repeat(2, 1000)))
    assert results == [on_next(201, "a"), on_error(202, ValueError("v"))]


def test_count_must_not_be_negative_except_infinite():
    with pytest.raises(ValueError, match="count must be >= 0, got -2"):
        yops.repeat(-2)

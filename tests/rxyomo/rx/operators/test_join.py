from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)

# Items are (name, event time in seconds); arrival times are the marbles'.
LEFT = {"a": ("a", 0.0), "b": ("b", 5.0)}
RIGHT = {"x": ("x", 0.5), "y": ("y", 3.0), "z": ("z", 5.8)}


def event_time(item):
    return item[1]


def pair(left, right):
    return left[0] + right[0]


def test_join_pairs_items_whose_event_times_are_within_the_window(marbles):
    left = marbles.hot("-a---b--|", LEFT)
    right = marbles.hot("--x-y--z|", RIGHT)
    results = marbles.start(
        lambda: left.pipe(yops.join(pair, right, event_time, 1000, reporter=marbles.reporter))
    )
    assert results == [on_next(202, "ax"), on_next(207, "bz"), on_completed(208)]


def test_join_completes_only_when_both_sides_have(marbles):
    left = marbles.hot("-a|", LEFT)
    right = marbles.hot("----x|", RIGHT)
    results = marbles.start(lambda: left.pipe(yops.join(pair, right, event_time, 1000)))
    assert results == [on_next(204, "ax"), on_completed(205)]


def test_join_reads_datetimes_too(marbles):
    t0 = datetime(2021, 7, 1, tzinfo=timezone.utc)
    left = marbles.hot("-a|", {"a": ("a", t0)})
    right = marbles.hot("--x|", {"x": ("x", t0 + timedelta(milliseconds=40))})
    results = marbles.start(lambda: left.pipe(yops.join(pair, right, event_time, 50)))
    assert results == [on_next(202, "ax"), on_completed(203)]


def test_join_reports_items_without_a_time_and_failing_pairs(marbles):
    def picky(left, right):
        if right[0] == "z":
            raise ValueError("no z")
        return pair(left, right)

    left = marbles.hot("-a-b|", {"a": ("a", 0.0), "b": ("b", "noon")})
    right = marbles.hot("--x--z|", {"x": ("x", 0.0), "z": ("z", 0.0)})
    results = marbles.start(
        lambda: left.pipe(yops.join(picky, right, event_time, 1000, reporter=marbles.reporter))
    )
    assert results == [on_next(202, "ax"), on_completed(206)]
    reported = [item for item, _ in marbles.errors_of("join")]
    assert reported == [("b", "noon"), (("a", 0.0), ("z", 0.0))]


def test_join_fails_when_either_side_fails(marbles):
    left = marbles.hot("-a------|", LEFT)
    right = marbles.hot("---#", RIGHT, error=RuntimeError("right broke"))
    results = marbles.start(lambda: left.pipe(yops.join(pair, right, event_time, 1000)))
    assert results == [on_error(203, RuntimeError("right broke"))]


def test_the_window_must_be_a_number_of_milliseconds():
    with pytest.raises(TypeError):
        yops.join(pair, None, event_time, "1s")  # type: ignore[arg-type]

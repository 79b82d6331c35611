"""RxStream's time-based operators on virtual time: arguments in milliseconds."""

from __future__ import annotations

import pytest
from reactivex import operators as ops
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)
BOOM = RuntimeError("boom")


def test_debounce_emits_an_item_once_the_stream_is_quiet_for_the_period(marbles):
    xs = marbles.hot("-a-b-----c---|")
    results = marbles.start(lambda: marbles.stream(xs).debounce(3000))
    assert results == [on_next(206, "b"), on_next(212, "c"), on_completed(213)]


def test_debounce_passes_a_failure_on_at_once(marbles):
    xs = marbles.hot("-a#", error=BOOM)
    assert marbles.start(lambda: marbles.stream(xs).debounce(3000)) == [on_error(202, BOOM)]


def test_buffer_with_count_emits_the_rest_at_the_end(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(lambda: marbles.stream(xs).buffer_with_count(2))
    assert results == [on_next(203, [1, 2]), on_next(207, [3]), on_completed(207)]


def test_buffer_with_count_of_an_exact_multiple_has_no_empty_tail(marbles):
    xs = marbles.hot("-1-2-|")
    results = marbles.start(lambda: marbles.stream(xs).buffer_with_count(2))
    assert results == [on_next(203, [1, 2]), on_completed(205)]


def test_buffer_with_time_skips_empty_periods(marbles):
    xs = marbles.hot("-a-b---------c|")
    results = marbles.start(lambda: marbles.stream(xs).buffer_with_time(4000))
    assert results == [on_next(204, ["a", "b"]), on_next(214, ["c"]), on_completed(214)]


def test_buffer_with_time_or_count_closes_on_whichever_comes_first(marbles):
    xs = marbles.hot("-a-b-c-------d-|")
    results = marbles.start(lambda: marbles.stream(xs).buffer_with_time_or_count(6000, 2))
    assert results == [
        on_next(203, ["a", "b"]),
        on_next(209, ["c"]),
        on_next(215, ["d"]),
        on_completed(215),
    ]


def test_windows_are_streams_of_the_items(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: marbles.stream(xs).window_with_count(2).flat_map(lambda w: w.pipe(ops.to_list()))
    )
    assert results == [on_next(203, [1, 2]), on_next(207, [3]), on_completed(207)]


def test_window_with_time(marbles):
    xs = marbles.hot("-1-2--3-|")
    results = marbles.start(
        lambda: marbles.stream(xs).window_with_time(4000).flat_map(lambda w: w.pipe(ops.to_list()))
    )
    assert results == [on_next(204, [1, 2]), on_next(208, [3]), on_completed(208)]


def test_window_with_time_or_count(marbles):
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: (
            marbles.stream(xs)
            .window_with_time_or_count(10000, 2)
            .flat_map(lambda w: w.pipe(ops.to_list()))
        )
    )
    assert results == [on_next(203, [1, 2]), on_next(207, [3]), on_completed(207)]


def test_sample_by_a_period_waits_for_the_tick_to_end(marbles):
    xs = marbles.hot("-a-b-----c-|")
    results = marbles.start(lambda: marbles.stream(xs).sample(4000))
    assert results == [on_next(204, "b"), on_next(212, "c"), on_completed(212)]


def test_sample_by_another_stream(marbles):
    xs = marbles.hot("-a-b--c--|")
    ticks = marbles.hot("--x---x--x|")
    results = marbles.start(lambda: marbles.stream(xs).sample(marbles.stream(ticks)))
    assert results == [on_next(202, "a"), on_next(206, "c"), on_completed(209)]


def test_timestamp_and_time_interval_read_the_scheduler(marbles):
    xs = marbles.hot("-a--b-|")
    stamped = marbles.start(
        lambda: (
            marbles.stream(xs)
            .time_interval()
            .map(lambda ti: (ti.value, ti.interval.total_seconds()))
        )
    )
    assert stamped == [on_next(201, ("a", 1.0)), on_next(204, ("b", 3.0)), on_completed(206)]


def test_timestamp(marbles):
    xs = marbles.hot("-a-|")
    results = marbles.start(
        lambda: marbles.stream(xs).timestamp().map(lambda t: (t.value, t.timestamp.timestamp()))
    )
    assert results == [on_next(201, ("a", 201.0)), on_completed(203)]


def test_join_on_the_stream(marbles):
    left = marbles.hot("-a-|", {"a": ("a", 1.0)})
    right = marbles.hot("--x|", {"x": ("x", 1.2)})
    results = marbles.start(
        lambda: marbles.stream(left).join(
            lambda a, b: a[0] + b[0], marbles.stream(right), lambda item: item[1], 500
        )
    )
    assert results == [on_next(202, "ax"), on_completed(203)]


def test_repeat_replays_on_the_stream_scheduler(marbles):
    xs = marbles.cold("-a|")
    results = marbles.start(lambda: marbles.stream(xs).repeat(1, 2000))
    assert results == [on_next(201, "a"), on_next(204, "a"), on_completed(204)]


def test_repeat_infinite_constant(marbles):
    xs = marbles.cold("-a|")
    results = marbles.start(lambda: marbles.stream(xs).repeat(yops.INFINITE, 1000), disposed=206)
    assert results == [on_next(t, "a") for t in (201, 203, 204, 205)]


def test_audit_time_and_default_if_empty_with_time_on_the_stream(marbles):
    xs = marbles.hot("-a-b---------|")
    results = marbles.start(
        lambda: marbles.stream(xs).audit_time(3000).default_if_empty_with_time(4000, "-")
    )
    assert results == [on_next(203, "b"), on_next(207, "-"), on_next(211, "-"), on_completed(213)]


def test_sliding_window_with_time_on_the_stream(marbles):
    windows: list[list[int]] = []
    xs = marbles.hot("-1-2-3-|")
    results = marbles.start(
        lambda: marbles.stream(xs).sliding_window_with_time(3000, 2000, windows.append)
    )
    assert results == marbles.exp("-1-2-3-|")
    assert windows == [[1], [1, 2], [2, 3], [3]]


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("debounce", (-1,)),
        ("buffer_with_time", (0,)),
        ("buffer_with_time_or_count", (10, 0)),
        ("window_with_time", ("1",)),
        ("sample", (0,)),
        ("audit_time", (float("nan"),)),
    ],
)
def test_bad_times_and_counts_are_refused_at_the_call(marbles, method, args):
    with pytest.raises((TypeError, ValueError)):
        getattr(marbles.stream(marbles.cold("|")), method)(*args)

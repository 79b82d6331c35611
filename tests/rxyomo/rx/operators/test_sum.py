from __future__ import annotations

from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_sum_float64_totals_ints_and_floats(marbles):
    xs = marbles.hot("-a-b-|", {"a": 1, "b": 2.5})
    results = marbles.start(lambda: xs.pipe(yops.sum("float64")))
    assert results == [on_next(205, 3.5), on_completed(205)]


def test_sum_float32_rounds_to_single_precision(marbles):
    xs = marbles.hot("-a-b-|", {"a": 0.1, "b": 0.2})
    results = marbles.start(lambda: xs.pipe(yops.sum("float32")))
    assert results == [on_next(205, 0.30000001192092896), on_completed(205)]


def test_sum_int64_refuses_floats_and_values_out_of_range(marbles):
    xs = marbles.hot("-a-b-c-|", {"a": 5, "b": 1.5, "c": 1 << 63})
    results = marbles.start(lambda: xs.pipe(yops.sum("int64", reporter=marbles.reporter)))
    assert results == [on_next(207, 5), on_completed(207)]
    assert [item for item, _ in marbles.errors_of("sum_int64")] == [1.5, 1 << 63]


def test_an_empty_stream_has_no_sum(marbles):
    xs = marbles.hot("--|")
    results = marbles.start(lambda: xs.pipe(yops.sum("int64")))
    assert results == [on_completed(202)]

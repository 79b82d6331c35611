from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_average_float64_emits_the_mean_at_completion(marbles):
    xs = marbles.hot("-1-2-4-|")
    results = marbles.start(lambda: xs.pipe(yops.average("float64")))
    assert results == [on_next(207, 7 / 3), on_completed(207)]


def test_average_float32_rounds_to_single_precision(marbles):
    xs = marbles.hot("-a-|", {"a": 0.1})
    results = marbles.start(lambda: xs.pipe(yops.average("float32")))
    assert results == [on_next(203, 0.10000000149011612), on_completed(203)]


@pytest.mark.parametrize(("items", "mean"), [((1, 2, 4), 2), ((-7, 0), -3), ((7, 0), 3)])
def test_average_int_truncates_toward_zero_like_go(marbles, items, mean):
    xs = marbles.hot("-a-b-c-|"[: 2 * len(items) + 1] + "|", dict(zip("abc", items, strict=False)))
    results = marbles.start(lambda: xs.pipe(yops.average("int")))
    assert [r.value.value for r in results if r.value.kind == "N"] == [mean]


def test_an_empty_stream_averages_to_zero(marbles):
    xs = marbles.hot("---|")
    results = marbles.start(lambda: xs.pipe(yops.average("int32")))
    assert results == [on_next(203, 0), on_completed(203)]


def test_items_of_the_wrong_kind_are_reported_and_left_out(marbles):
    xs = marbles.hot("-a-b-c-d-|", {"a": 100, "b": 200, "c": "x", "d": True})
    results = marbles.start(lambda: xs.pipe(yops.average("int8", reporter=marbles.reporter)))
    assert results == [on_next(209, 100), on_completed(209)]
    assert [item for item, _ in marbles.errors_of("average_int8")] == [200, "x", True]


def test_a_failure_is_passed_on(marbles):
    xs = marbles.hot("-1-#", error=ValueError("v"))
    results = marbles.start(lambda: xs.pipe(yops.average()))
    assert results == [on_error(203, ValueError("v"))]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown number kind 'int128'"):
        yops.average("int128")  # type: ignore[arg-type]

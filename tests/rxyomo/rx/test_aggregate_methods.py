"""RxStream's aggregates: one result at completion, rxgo's empty-stream behaviour."""

from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)
BOOM = RuntimeError("boom")


def cmp(a, b):
    return (a > b) - (a < b)


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("all", (lambda x: x > 0,), [on_next(207, True), on_completed(207)]),
        ("contains", (lambda x: x == 2,), [on_next(205, True), on_completed(205)]),
        ("count", (), [on_next(207, 3), on_completed(207)]),
        ("average_float64", (), [on_next(207, 2.0), on_completed(207)]),
        ("average_float32", (), [on_next(207, 2.0), on_completed(207)]),
        ("average_int", (), [on_next(207, 2), on_completed(207)]),
        ("average_int8", (), [on_next(207, 2), on_completed(207)]),
        ("average_int16", (), [on_next(207, 2), on_completed(207)]),
        ("average_int32", (), [on_next(207, 2), on_completed(207)]),
        ("average_int64", (), [on_next(207, 2), on_completed(207)]),
        ("sum_float32", (), [on_next(207, 6.0), on_completed(207)]),
        ("sum_float64", (), [on_next(207, 6.0), on_completed(207)]),
        ("sum_int64", (), [on_next(207, 6), on_completed(207)]),
        ("reduce", (lambda a, x: a * x,), [on_next(207, 6), on_completed(207)]),
        ("max", (cmp,), [on_next(207, 3), on_completed(207)]),
        ("min", (cmp,), [on_next(207, 1), on_completed(207)]),
        ("to_list", (), [on_next(207, [1, 3, 2]), on_completed(207)]),
        ("to_map", (lambda x: x % 2,), [on_next(207, {1: 3, 0: 2}), on_completed(207)]),
        ("sequence_equal", ([1, 3, 2],), [on_next(207, True), on_completed(207)]),
    ],
)
def test_aggregates_of_a_stream(marbles, method, args, expected):
    xs = marbles.hot("-1-3-2-|")
    assert marbles.start(lambda: getattr(marbles.stream(xs), method)(*args)) == expected


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("all", (bool,), [on_next(203, True), on_completed(203)]),
        ("contains", (bool,), [on_next(203, False), on_completed(203)]),
        ("count", (), [on_next(203, 0), on_completed(203)]),
        ("average_float64", (), [on_next(203, 0), on_completed(203)]),
        ("average_int", (), [on_next(203, 0), on_completed(203)]),
        ("sum_float64", (), [on_completed(203)]),
        ("reduce", (lambda a, x: a + x,), [on_completed(203)]),
        ("max", (cmp,), [on_completed(203)]),
        ("min", (cmp,), [on_completed(203)]),
        ("to_list", (), [on_next(203, []), on_completed(203)]),
    ],
)
def test_aggregates_of_an_empty_stream_follow_rxgo(marbles, method, args, expected):
    xs = marbles.hot("---|")
    assert marbles.start(lambda: getattr(marbles.stream(xs), method)(*args)) == expected


def test_all_answers_false_at_the_first_miss(marbles):
    xs = marbles.hot("-1-0-2-|")
    results = marbles.start(lambda: marbles.stream(xs).all(lambda x: x > 0))
    assert results == [on_next(203, False), on_completed(203)]


def test_reduce_with_a_seed_and_an_empty_stream(marbles):
    xs = marbles.hot("--|")
    results = marbles.start(lambda: marbles.stream(xs).reduce(lambda a, x: a + x, 10))
    assert results == [on_next(202, 10), on_completed(202)]


def test_reduce_leaves_out_an_item_its_accumulator_raises_on(marbles):
    xs = marbles.hot("-a-b-c-|", {"a": 1, "b": "x", "c": 2})
    results = marbles.start(lambda: marbles.stream(xs).reduce(lambda a, x: a + x))
    assert results == [on_next(207, 3), on_completed(207)]
    assert [item for item, _ in marbles.errors_of("reduce")] == ["x"]


def test_to_map_with_value_selector(marbles):
    xs = marbles.hot("-a-bb-|")
    results = marbles.start(lambda: marbles.stream(xs).to_map_with_value_selector(len, str.upper))
    assert results == [on_next(206, {1: "A", 2: "BB"}), on_completed(206)]


def test_a_failing_key_selector_leaves_the_item_out_of_the_map(marbles):
    xs = marbles.hot("-a-b-|")

    def key(x):
        if x == "a":
            raise KeyError(x)
        return x

    results = marbles.start(lambda: marbles.stream(xs).to_map(key))
    assert results == [on_next(205, {"b": "b"}), on_completed(205)]
    assert len(marbles.errors_of("to_map")) == 1


def test_a_typed_average_leaves_out_items_of_the_wrong_kind(marbles):
    xs = marbles.hot("-a-b-|", {"a": 1.5, "b": 2})
    results = marbles.start(lambda: marbles.stream(xs).average_int())
    assert results == [on_next(205, 2), on_completed(205)]
    assert [item for item, _ in marbles.errors_of("average_int")] == [1.5]


def test_sequence_equal_against_another_stream(marbles):
    xs = marbles.hot("-1-2-|")
    results = marbles.start(
        lambda: marbles.stream(xs).sequence_equal(marbles.stream(marbles.cold("-1-3|")))
    )
    assert results == [on_next(203, False), on_completed(203)]


def test_an_aggregate_passes_a_failure_on(marbles):
    xs = marbles.hot("-1-#", error=BOOM)
    assert marbles.start(lambda: marbles.stream(xs).count()) == [on_error(203, BOOM)]

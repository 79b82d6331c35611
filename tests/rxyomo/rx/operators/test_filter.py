from __future__ import annotations

from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def is_even(x: int) -> bool:
    return x % 2 == 0


def test_filter_keeps_accepted_items(marbles):
    xs = marbles.hot("-1-2-3-4-|")
    results = marbles.start(lambda: xs.pipe(yops.filter(is_even, reporter=marbles.reporter)))
    assert results == marbles.exp("---2---4-|")


def test_filter_drops_and_reports_an_item_the_predicate_raises_on(marbles):
    xs = marbles.hot("-a-b-c-|")

    def predicate(x):
        if x == "b":
            raise ValueError("bad b")
        return True

    results = marbles.start(lambda: xs.pipe(yops.filter(predicate, reporter=marbles.reporter)))
    assert results == marbles.exp("-a---c-|")
    assert marbles.errors_of("filter") == [("b", "bad b")]


def test_filter_passes_a_stream_failure_on(marbles):
    xs = marbles.hot("-1-#", error=OSError("gone"))
    results = marbles.start(lambda: xs.pipe(yops.filter(bool, reporter=marbles.reporter)))
    assert results == [on_next(201, 1), on_error(203, OSError("gone"))]

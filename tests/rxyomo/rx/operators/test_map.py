from __future__ import annotations

from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_map_transforms_each_item_in_time(marbles):
    xs = marbles.hot("-a-b-|")
    results = marbles.start(lambda: xs.pipe(yops.map(str.upper, reporter=marbles.reporter)))
    assert results == marbles.exp("-A-B-|")


def test_map_reports_a_failing_item_and_goes_on(marbles):
    xs = marbles.hot("-1-0-2-|")

    def invert(x):
        return 1 / x

    results = marbles.start(lambda: xs.pipe(yops.map(invert, reporter=marbles.reporter)))
    assert results == [on_next(201, 1.0), on_next(205, 0.5), on_completed(207)]
    assert marbles.errors_of("map") == [(0, "division by zero")]


def test_map_passes_a_stream_failure_on(marbles):
    xs = marbles.hot("-a-#", error=ValueError("broken"))
    results = marbles.start(lambda: xs.pipe(yops.map(str.upper, reporter=marbles.reporter)))
    assert results == [on_next(201, "A"), on_error(203, ValueError("broken"))]


def test_map_names_the_operator_in_its_reports(marbles):
    xs = marbles.hot("-a-|")

    def boom(_):
        raise KeyError("k")

    marbles.start(lambda: xs.pipe(yops.map(boom, reporter=marbles.reporter, name="decode")))
    assert marbles.errors_of("decode") == [("a", "'k'")]


def test_a_failure_downstream_is_not_taken_for_the_mappers(marbles):
    xs = marbles.hot("-a-b-|")

    def fail_on_a(x):
        if x == "A":
            raise RuntimeError("downstream")
        return x

    results = marbles.start(
        lambda: xs.pipe(
            yops.map(str.upper, reporter=marbles.reporter),
            yops.map(fail_on_a, reporter=marbles.reporter, name="second"),
        )
    )
    assert results == [on_next(203, "B"), on_completed(205)]
    assert marbles.errors_of("map") == []
    assert marbles.errors_of("second") == [("A", "downstream")]

from __future__ import annotations

from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def number(item):
    return item[0]


def test_serialize_holds_early_items_until_their_turn(marbles):
    xs = marbles.hot("-b-a-d-c-|", {"a": (0, "a"), "b": (1, "b"), "c": (2, "c"), "d": (3, "d")})
    results = marbles.start(lambda: xs.pipe(yops.serialize(0, number)))
    assert results == [
        on_next(203, (0, "a")),
        on_next(203, (1, "b")),
        on_next(207, (2, "c")),
        on_next(207, (3, "d")),
        on_completed(209),
    ]


def test_serialize_starts_at_the_given_number(marbles):
    xs = marbles.hot("-a-b-|", {"a": (10, "a"), "b": (11, "b")})
    results = marbles.start(lambda: xs.pipe(yops.serialize(10, number)))
    assert results == [on_next(201, (10, "a")), on_next(203, (11, "b")), on_completed(205)]


def test_past_duplicate_and_bad_numbers_are_reported_and_dropped(marbles):
    lookup = {"a": (0, "a"), "p": (0, "p"), "c": (2, "c"), "d": (2, "d"), "s": ("x", "s")}
    xs = marbles.hot("-a-p-c-d-s-|", lookup)
    marbles.start(lambda: xs.pipe(yops.serialize(0, number, reporter=marbles.reporter)))
    assert [item[1] for item, _ in marbles.errors_of("serialize")] == ["p", "d", "s"]


def test_items_still_waiting_at_the_end_are_emitted_in_order_not_lost(marbles):
    xs = marbles.hot("-d-a-c-|", {"a": (0, "a"), "c": (2, "c"), "d": (3, "d")})
    results = marbles.start(lambda: xs.pipe(yops.serialize(0, number)))
    assert results == [
        on_next(203, (0, "a")),
        on_next(207, (2, "c")),
        on_next(207, (3, "d")),
        on_completed(207),
    ]


def test_a_failure_is_passed_on_after_the_waiting_items(marbles):
    xs = marbles.hot("-b-#", {"b": (1, "b")}, error=OSError("o"))
    results = marbles.start(lambda: xs.pipe(yops.serialize(0, number)))
    assert results == [on_next(203, (1, "b")), on_error(203, OSError("o"))]

from __future__ import annotations

from typing import Any

import pytest
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def tag_groups(groups: Observable[Observable[Any]]) -> Observable[tuple[int, Any]]:
    """Every group's items, each as (the group's index, the item)."""

    def tagged(group: Observable[Any], index: int) -> Observable[tuple[int, Any]]:
        return group.pipe(ops.map(lambda x: (index, x)))

    return groups.pipe(ops.map_indexed(tagged), ops.merge_all())


def parity(x: int) -> int:
    return x % 2


def test_group_by_sends_each_item_to_the_group_its_index_names(marbles):
    xs = marbles.hot("-1-2-3-4-|")
    results = marbles.start(
        lambda: tag_groups(xs.pipe(yops.group_by(2, parity, reporter=marbles.reporter)))
    )
    assert results == [
        on_next(201, (1, 1)),
        on_next(203, (0, 2)),
        on_next(205, (1, 3)),
        on_next(207, (0, 4)),
        on_completed(209),
    ]


def test_group_by_emits_every_group_at_subscription(marbles):
    xs = marbles.hot("-----|")
    results = marbles.start(lambda: xs.pipe(yops.group_by(3, int), ops.count()))
    assert results == [on_next(205, 3), on_completed(205)]


def test_an_index_out_of_range_or_failing_is_reported_and_the_item_dropped(marbles):
    def index(x):
        if x == 9:
            raise KeyError("nine")
        return x

    xs = marbles.hot("-0-5-9-1-|")
    results = marbles.start(
        lambda: tag_groups(xs.pipe(yops.group_by(2, index, reporter=marbles.reporter)))
    )
    assert results == [on_next(201, (0, 0)), on_next(207, (1, 1)), on_completed(209)]
    assert [item for item, _ in marbles.errors_of("group_by")] == [5, 9]


def test_a_failure_reaches_every_group_and_the_outer_stream(marbles):
    xs = marbles.hot("-0-#", error=OSError("down"))
    results = marbles.start(lambda: tag_groups(xs.pipe(yops.group_by(2, int))))
    assert results == [on_next(201, (0, 0)), on_error(203, OSError("down"))]


def test_group_by_needs_at_least_one_group():
    with pytest.raises(ValueError, match="length must be >= 1, got 0"):
        yops.group_by(0, int)

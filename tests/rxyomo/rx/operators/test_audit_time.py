from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_audit_time_emits_the_latest_item_of_each_period(marbles):
    xs = marbles.scheduler.create_hot_observable(
        on_next(201, "a"),
        on_next(202, "b"),
        on_next(205, "c"),
        on_next(207, "d"),
        on_next(213, "e"),
        on_completed(214),
    )
    results = marbles.start(lambda: xs.pipe(yops.audit_time(3000)))
    # Periods end at 203, 206, 209, 212; the one ending at 212 had no item.
    assert results == [
        on_next(203, "b"),
        on_next(206, "c"),
        on_next(209, "d"),
        on_next(214, "e"),
        on_completed(214),
    ]


def test_audit_time_emits_the_pending_item_before_a_failure(marbles):
    xs = marbles.hot("-a#", error=RuntimeError("x"))
    results = marbles.start(lambda: xs.pipe(yops.audit_time(5000)))
    assert results == [on_next(202, "a"), on_error(202, RuntimeError("x"))]


def test_audit_time_stops_its_timer_when_disposed(marbles):
    xs = marbles.hot("-a-b")
    marbles.start(lambda: xs.pipe(yops.audit_time(1000)), disposed=205)
    # The run ends (a live timer would tick for ever) within a period of the disposal.
    assert marbles.scheduler.clock <= 205 + 1


@pytest.mark.parametrize("bad", [0, -5])
def test_audit_time_rejects_a_period_that_is_not_positive(bad):
    with pytest.raises(ValueError, match=rf"milliseconds must be .*, got {bad}"):
        yops.audit_time(bad)


def test_audit_time_rejects_a_period_that_is_not_a_number():
    with pytest.raises(TypeError):
        yops.audit_time("50")  # type: ignore[arg-type]

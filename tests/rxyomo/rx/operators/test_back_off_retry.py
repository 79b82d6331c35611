from __future__ import annotations

import itertools

import pytest
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_back_off_retry_waits_each_back_off_then_gives_up(marbles):
    xs = marbles.scheduler.create_cold_observable(on_next(1, "a"), on_error(3, TimeoutError("t")))
    results = marbles.start(lambda: xs.pipe(yops.back_off_retry([1000, 2000])))
    assert results == [
        on_next(201, "a"),
        on_next(205, "a"),
        on_next(210, "a"),
        on_error(212, TimeoutError("t")),
    ]
    assert [s.subscribe for s in xs.subscriptions] == [200, 204, 209]


def test_a_policy_gives_fresh_waits_per_subscription(marbles):
    policy = yops.exponential_backoff(1000, 2.0, 3000, max_retries=3)
    assert list(policy()) == [1000, 2000, 3000]
    assert list(policy()) == [1000, 2000, 3000]
    xs = marbles.scheduler.create_cold_observable(on_error(1, OSError("o")))
    marbles.start(lambda: xs.pipe(yops.back_off_retry(policy)))
    assert [s.subscribe for s in xs.subscriptions] == [200, 202, 205, 209]


def test_an_endless_policy_retries_until_disposed(marbles):
    xs = marbles.scheduler.create_cold_observable(on_error(1, OSError("o")))
    marbles.start(
        lambda: xs.pipe(yops.back_off_retry(yops.exponential_backoff(1000, 1.0))), disposed=210
    )
    assert [s.subscribe for s in xs.subscriptions] == [200, 202, 204, 206, 208]


def test_jitter_spreads_the_waits_within_bounds():
    waits = list(itertools.islice(yops.exponential_backoff(1000, 1.0, jitter=0.5)(), 200))
    assert all(500 <= w <= 1500 for w in waits)
    assert len(set(waits)) > 1


def test_back_off_retry_respects_should_retry(marbles):
    xs = marbles.cold("-#", error=ValueError("fatal"))
    results = marbles.start(
        lambda: xs.pipe(yops.back_off_retry([1000], lambda e: not isinstance(e, ValueError)))
    )
    assert results == [on_error(201, ValueError("fatal"))]


@pytest.mark.parametrize("kwargs", [{"multiplier": 0.5}, {"jitter": 2.0}, {"initial_ms": -1}])
def test_a_bad_policy_is_refused(kwargs):
    (name,) = kwargs
    with pytest.raises(ValueError, match=f"{name} must be"):
        yops.exponential_backoff(**kwargs)

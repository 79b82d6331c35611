"""Marble-style helpers on reactivex's virtual-time TestScheduler.

One marble character is one second of virtual time, so YoMo's millisecond arguments read
as multiples of 1000 (``debounce(2000)`` is two characters). Subscription happens at
t=200; hot marbles are shifted to start there, so ``hot("-a-|")`` emits ``a`` at 201.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.notification import OnError, OnNext
from reactivex.observable.marbles import parse
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxyomo.rx import ErrorReporter, ItemError, RxStream

SUBSCRIBED = 200.0


class Marbles:
    """A TestScheduler with marble parsing and an error reporter that records."""

    def __init__(self) -> None:
        self.scheduler = TestScheduler()
        self.reporter = ErrorReporter("test")
        self.item_errors: list[ItemError] = []
        self.reporter.add_handler(self.item_errors.append)

    def hot(
        self, marbles: str, lookup: dict[Any, Any] | None = None, error: Exception | None = None
    ) -> Observable[Any]:
        return reactivex.hot(
            marbles,
            timespan=1.0,
            duetime=SUBSCRIBED,
            lookup=lookup,
            error=error,
            scheduler=self.scheduler,
        )

    def cold(
        self, marbles: str, lookup: dict[Any, Any] | None = None, error: Exception | None = None
    ) -> Observable[Any]:
        return reactivex.from_marbles(marbles, timespan=1.0, lookup=lookup, error=error)

    def stream(self, observable: Observable[Any]) -> RxStream[Any]:
        return RxStream(observable, scheduler=self.scheduler, reporter=self.reporter)

    def exp(
        self, marbles: str, lookup: dict[Any, Any] | None = None, error: Exception | None = None
    ) -> list[Recorded[Any]]:
        records: list[Recorded[Any]] = []
        for at, note in parse(
            marbles, timespan=1.0, time_shift=SUBSCRIBED, lookup=lookup, error=error
        ):
            # Float timespans give float times, whole seconds here; reactivex types a
            # recorded time as int ticks.
            assert isinstance(at, float)
            assert at.is_integer()
            tick = int(at)
            if isinstance(note, OnNext):
                records.append(ReactiveTest.on_next(tick, note.value))
            elif isinstance(note, OnError):
                records.append(ReactiveTest.on_error(tick, note.exception))
            else:
                records.append(ReactiveTest.on_completed(tick))
        return records

    def start(
        self, create: Callable[[], RxStream[Any] | Observable[Any]], disposed: float = 1000.0
    ) -> list[Recorded[Any]]:
        def observable() -> Observable[Any]:
            made = create()
            return made.observable if isinstance(made, RxStream) else made

        return self.scheduler.start(
            observable, created=100.0, subscribed=SUBSCRIBED, disposed=disposed
        ).messages

    def errors_of(self, operator: str) -> list[tuple[Any, str]]:
        """(item, message) of each item error ``operator`` reported."""
        return [(e.item, str(e.error)) for e in self.item_errors if e.operator == operator]


@pytest.fixture
def marbles() -> Marbles:
    return Marbles()

"""The error reporter behind YoMo's continue-on-error."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rxyomo.rx import ErrorReporter, ItemError


def test_a_report_reaches_every_handler_and_the_log(caplog):
    reporter = ErrorReporter("noise-flow")
    first: list[ItemError] = []
    second: list[ItemError] = []
    reporter.add_handler(first.append)
    reporter.add_handler(second.append)
    failure = ValueError("bad")
    with caplog.at_level(logging.WARNING, logger="rxyomo.rx"):
        reporter.report("map", b"\x01", failure)
    assert first == second == [ItemError("map", b"\x01", failure)]
    assert "noise-flow: map failed on an item" in caplog.text


def test_a_removed_handler_hears_nothing_more():
    reporter = ErrorReporter()
    seen: list[ItemError] = []
    remove = reporter.add_handler(seen.append)
    reporter.report("map", 1, KeyError("k"))
    remove()
    remove()  # twice is harmless
    reporter.report("map", 2, KeyError("k"))
    assert [report.item for report in seen] == [1]


def test_a_failing_handler_is_logged_and_does_not_stop_the_others(caplog):
    reporter = ErrorReporter()
    seen: list[ItemError] = []

    def broken(_: ItemError) -> None:
        raise RuntimeError("handler bug")

    reporter.add_handler(broken)
    reporter.add_handler(seen.append)
    reporter.report("filter", "x", TypeError("t"))
    assert len(seen) == 1
    assert "an item-error handler failed" in caplog.text


def test_a_handler_may_remove_itself_while_called():
    reporter = ErrorReporter()
    calls: list[int] = []
    remove: Callable[[], None] | None = None

    def once(_: ItemError) -> None:
        calls.append(1)
        assert remove is not None
        remove()

    remove = reporter.add_handler(once)
    reporter.report("map", 1, ValueError())
    reporter.report("map", 2, ValueError())
    assert calls == [1]

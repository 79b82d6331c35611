"""Warnings a peer can provoke are logged at a bounded rate, the held-back ones counted."""

from __future__ import annotations

import logging

import pytest

from rxyomo._throttle import ThrottledLog


def test_each_kind_is_logged_once_per_interval_and_the_rest_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttled = ThrottledLog(
        logging.getLogger("throttle-test"), interval=10.0, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="throttle-test"):
        for i in range(1000):
            throttled.warning("bad", "bad frame %d", i)
        throttled.warning("other", "another kind")  # not held back by the first
        now[0] = 12.0
        throttled.warning("bad", "bad frame %d", 1000)
        now[0] = 13.0
        throttled.warning("bad", "bad frame %d", 1001)  # held back again
    assert [r.getMessage() for r in caplog.records] == [
        "bad frame 0",
        "another kind",
        "bad frame 1000 (and 999 more like it in the last 12 s)",
    ]


def test_exceptions_keep_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    throttled = ThrottledLog(logging.getLogger("throttle-test"))
    with caplog.at_level(logging.ERROR, logger="throttle-test"):
        for _ in range(3):
            try:
                raise ValueError("boom")
            except ValueError:
                throttled.exception("handler", "handler failed")
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "ValueError: boom" in caplog.text

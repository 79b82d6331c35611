"""The quarantine's record, driven by a clock of the test's own."""

from __future__ import annotations

import pytest

from rxyomo.functions.quarantine import Quarantine, QuarantinePolicy, State


def _state(record: Quarantine) -> State:
    # Read through a call: the checker would take one state for the whole test.
    return record.state


def test_faults_in_a_row_quarantine_and_a_success_ends_it() -> None:
    record = Quarantine(QuarantinePolicy(faults=3, backoff=1.0, max_backoff=4.0))
    assert record.admit(0.0)
    assert not record.record(0.0, costly_fault=True)
    assert not record.record(0.1, costly_fault=False)  # a success starts the count again
    assert not record.record(0.2, costly_fault=True)
    assert not record.record(0.3, costly_fault=True)
    assert record.record(0.4, costly_fault=True)
    assert _state(record) is State.QUARANTINED
    assert record.remaining(0.9) == pytest.approx(0.5)
    assert not record.admit(1.0)
    # The quarantine ran out: one frame is tried, the others wait for its result.
    assert record.admit(1.4)
    assert _state(record) is State.TRYING
    assert not record.admit(1.41)
    assert not record.record(1.5, costly_fault=False)
    assert _state(record) is State.SERVING
    assert record.entered == 1


def test_a_failed_try_doubles_the_quarantine_up_to_the_most() -> None:
    record = Quarantine(QuarantinePolicy(faults=1, backoff=1.0, max_backoff=3.0))
    assert record.record(0.0, costly_fault=True)
    spans = []
    now = 0.0
    for _ in range(4):
        now = record.until
        assert record.admit(now)
        assert record.record(now, costly_fault=True)
        spans.append(record.until - now)
    assert spans == [2.0, 3.0, 3.0, 3.0]
    assert record.entered == 5
    # A success resets the span too.
    assert record.admit(record.until)
    record.record(record.until, costly_fault=False)
    assert record.record(100.0, costly_fault=True)
    assert record.until - 100.0 == 1.0


def test_a_new_version_starts_clean() -> None:
    record = Quarantine(QuarantinePolicy(faults=1))
    record.record(0.0, costly_fault=True)
    record.reset()
    assert _state(record) is State.SERVING
    assert record.admit(0.0)
    assert record.consecutive == 0


def test_policies_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="faults"):
        QuarantinePolicy(faults=0)
    with pytest.raises(ValueError, match="backoff"):
        QuarantinePolicy(backoff=5.0, max_backoff=1.0)

"""The ledger of frames a connection wrote and its peer has not confirmed."""

from __future__ import annotations

from rxyomo.delivery.ledger import Ledger


def _ledger(keys: str, size: int = 10) -> tuple[Ledger[str], list[int]]:
    ledger: Ledger[str] = Ledger()
    ends = [size * (i + 1) for i in range(len(keys))]
    for end, key in zip(ends, keys, strict=True):
        ledger.sent(end, key)
    return ledger, ends


def test_the_ledger_settles_by_count_and_names_each_key() -> None:
    ledger, _ = _ledger("abcd")
    assert ledger.settle(3) == (["a", "b", "c"], [])
    assert ledger.settle(5) == (["d"], [])  # never more than were in flight
    assert ledger.confirmed == 4
    assert len(ledger) == 0


def test_the_ledger_names_the_frames_the_peer_dropped_with_its_reason() -> None:
    ledger, _ = _ledger("abcde")
    # Indices count from the connection's first data frame, across receipts.
    assert ledger.settle(2, {1: "gone"}) == (["a"], [("gone", "b")])
    assert ledger.settle(3, {3: "lost"}) == (["c", "e"], [("lost", "d")])
    assert ledger.confirmed == 3
    assert ledger.settled == 5


def test_frames_confirm_by_acknowledged_bytes_and_split_at_them() -> None:
    ledger, ends = _ledger("abc")
    assert ledger.split(ends[1]) == (["a", "b"], ["c"])
    assert ledger.confirm(ends[0] - 1) == []  # a frame counts once all its bytes are in
    assert ledger.confirm(ends[0]) == ["a"]
    assert ledger.confirm(ends[0]) == []  # told again: nothing new
    assert ledger.keys() == ["b", "c"]
    assert ledger.clear() == ["b", "c"]
    assert len(ledger) == 0
    assert ledger.confirmed == 1

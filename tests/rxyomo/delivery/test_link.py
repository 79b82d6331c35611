"""A client connection's delivery: confirmations, receipts, and what is left at the end."""

from __future__ import annotations

from rxyomo.delivery.link import LinkDelivery
from rxyomo.delivery.stats import LOST_UNCONFIRMED, NOT_SENT, UNSETTLED


def _link(keys: str, *, receipts: bool, handed: int, size: int = 10) -> LinkDelivery[str]:
    link: LinkDelivery[str] = LinkDelivery()
    link.opened(receipts)
    for i, key in enumerate(keys):
        link.sent(size * (i + 1), key)
    link.handed_over(handed)
    return link


def test_without_receipts_the_transport_confirms_frames() -> None:
    link = _link("abc", receipts=False, handed=30)
    assert link.acknowledged(20).confirmed == ["a", "b"]
    assert link.acknowledged(15).confirmed == []  # counts never go back
    assert link.in_flight == 1


def test_with_receipts_only_the_zipper_confirms_and_names_its_drops() -> None:
    link = _link("abcd", receipts=True, handed=40)
    assert link.acknowledged(40).confirmed == []
    outcome = link.receipt(3, {"no observer for tag 0x10": [1]})
    assert outcome is not None
    assert outcome.confirmed == ["a", "c"]
    assert outcome.by_zipper == {"no observer for tag 0x10": ["b"]}
    assert link.receipt(3, {}) is None  # repeated
    assert link.receipt(2, {}) is None  # stale
    excess = link.receipt(9, {})
    assert excess is not None
    assert excess.confirmed == ["d"]
    assert excess.excess == 5


def test_at_the_end_unsent_frames_are_dropped_and_the_rest_unknown() -> None:
    link = _link("abcd", receipts=False, handed=30)
    link.acknowledged(10)
    outcome = link.ended(LOST_UNCONFIRMED)
    assert outcome.confirmed == []
    assert outcome.dropped == {NOT_SENT: ["d"]}  # never left the client
    assert outcome.unknown == {LOST_UNCONFIRMED: ["b", "c"]}
    assert link.in_flight == 0
    assert link.ended(LOST_UNCONFIRMED).unknown == {}  # counted once


def test_with_receipts_what_the_zipper_had_is_unsettled_at_the_end() -> None:
    link = _link("abcd", receipts=True, handed=40)
    link.acknowledged(20)
    outcome = link.ended(LOST_UNCONFIRMED)
    assert outcome.unknown == {UNSETTLED: ["a", "b"], LOST_UNCONFIRMED: ["c", "d"]}
    assert outcome.dropped == {}
    assert link.receipt(4, {}) is None  # too late: already counted


def test_confirmations_told_at_the_end_still_count() -> None:
    link = _link("ab", receipts=False, handed=20)
    link.acknowledged(20)
    assert link.ended("closed").confirmed == []
    late = _link("ab", receipts=False, handed=20)
    late.acknowledged_bytes = 20  # what the transport answered when asked at the end
    assert late.ended("closed").confirmed == ["a", "b"]

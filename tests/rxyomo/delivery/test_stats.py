"""A client's books across its connections."""

from __future__ import annotations

from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.stats import BY_ZIPPER, LOST_UNCONFIRMED, NOT_SENT, DeliveryStats


def test_every_outcome_is_counted_under_its_reason_and_the_books_balance() -> None:
    stats = DeliveryStats(written=6)
    outcome: Outcome[object] = Outcome(
        confirmed=["a", "b"],
        by_zipper={"no observer for tag 0x10": ["c"]},
        dropped={NOT_SENT: ["d"]},
        unknown={LOST_UNCONFIRMED: ["e"]},
    )
    assert not outcome.empty
    stats.record(outcome)
    assert stats.confirmed == 2
    assert stats.drops == {f"{BY_ZIPPER}no observer for tag 0x10": 1, NOT_SENT: 1}
    assert list(stats.dropped_keys) == ["c", "d"]
    assert stats.unknowns == {LOST_UNCONFIRMED: 1}
    assert list(stats.unknown_keys) == ["e"]
    assert stats.in_flight == 1
    assert Outcome().empty
    stats.record(Outcome())
    assert stats.as_dict()["in_flight"] == 1

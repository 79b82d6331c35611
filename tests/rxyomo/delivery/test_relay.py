"""A mesh link's outcomes applied to the tickets of the frames it forwarded."""

from __future__ import annotations

from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.relay import Relay
from rxyomo.delivery.settlement import Settlement, Ticket
from rxyomo.protocol.receipts import decode_receipt, no_observer


def _forwarded(book: Settlement, count: int) -> list[Ticket]:
    tickets = [book.arrive() for _ in range(count)]
    for ticket in tickets:
        ticket.hold()  # forwarded over the link
        ticket.placed()
    return tickets


def test_passed_on_and_dropped_by_the_peer_release_the_tickets_so() -> None:
    book = Settlement()
    passed, dropped = _forwarded(book, 2)
    relay = Relay("east")
    relayed = relay.settle(
        Outcome(confirmed=[passed, None], by_zipper={"destination closed": [dropped]})
    )
    # The link counts what its own receipts said; the peer counted its drop itself.
    assert relayed.outcome.confirmed == [passed, None]
    assert relayed.outcome.by_zipper == {"destination closed": [dropped]}
    assert relayed.drops == {}
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (2, {"at mesh peer east: destination closed": [1]})


def test_no_observer_at_a_peer_is_no_loss_unless_no_zipper_observed_the_frame() -> None:
    book = Settlement()
    (ticket,) = _forwarded(book, 1)
    unobserved = no_observer(0x10)
    relayed = Relay("east").settle(Outcome(by_zipper={unobserved: [ticket]}))
    assert relayed.outcome.confirmed == [ticket]  # settled as it should be, for the link
    assert relayed.outcome.by_zipper == {}
    assert relayed.drops == {}
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (1, {f"{unobserved} anywhere in the mesh": [0]})


def test_frames_lost_on_the_link_are_counted_by_the_zipper_and_settled_dropped() -> None:
    book = Settlement()
    unsent, unknown = _forwarded(book, 2)
    relay = Relay("east")
    relayed = relay.settle(
        Outcome(dropped={"not sent": [unsent]}, unknown={"connection lost": [unknown, None]})
    )
    assert relayed.outcome.dropped == {"not sent": [unsent]}
    assert relayed.outcome.unknown == {"connection lost": [unknown, None]}
    assert relayed.drops == {"mesh peer east: not sent": 1, "mesh peer east: connection lost": 2}
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (
        2,
        {"mesh peer east: not sent": [0], "mesh peer east: connection lost": [1]},
    )
    assert relay.unreachable() == "mesh peer east unreachable"

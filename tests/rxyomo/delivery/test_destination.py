"""The zipper's frames towards one destination: confirmed, or lost with the connection."""

from __future__ import annotations

from rxyomo.delivery.destination import LOST_IN_FLIGHT, DestinationDelivery
from rxyomo.delivery.settlement import Settlement
from rxyomo.protocol.receipts import decode_receipt


def test_the_transport_confirming_a_frame_releases_its_ticket() -> None:
    book = Settlement()
    first, second = book.arrive(), book.arrive()
    dest = DestinationDelivery()
    dest.sent(10, first)
    dest.sent(20, None)  # its writer did not ask for receipts
    dest.sent(30, second)
    first.placed()
    second.placed()
    assert not dest.acknowledged(5)  # nothing whole yet
    assert dest.acknowledged(20)  # the first had a ticket
    assert not dest.acknowledged(25)
    assert len(dest.ledger) == 1
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (1, {})
    assert dest.acknowledged(30)
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (2, {})


def test_a_lost_connection_confirms_what_it_had_and_drops_the_rest_once() -> None:
    book = Settlement()
    tickets = [book.arrive() for _ in range(3)]
    dest = DestinationDelivery()
    for end, ticket in zip((10, 20, 30), tickets, strict=True):
        dest.sent(end, ticket)
        ticket.placed()
    dest.sent(40, None)
    loss = dest.ended(10)  # confirmations the transport had not told yet still count
    assert (loss.lost, loss.released) == (3, True)
    assert len(dest.ledger) == 0
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (3, {LOST_IN_FLIGHT: [1, 2]})
    again = dest.ended(40)
    assert (again.lost, again.released) == (0, False)


def test_a_loss_without_tickets_releases_nothing() -> None:
    dest = DestinationDelivery()
    dest.sent(10, None)
    dest.sent(20, None)
    loss = dest.ended(10)
    assert (loss.lost, loss.released) == (1, False)


def test_a_loss_that_only_confirms_still_says_tickets_were_released() -> None:
    book = Settlement()
    ticket = book.arrive()
    dest = DestinationDelivery()
    dest.sent(10, ticket)
    ticket.placed()
    loss = dest.ended(10)
    assert (loss.lost, loss.released) == (0, True)
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (1, {})

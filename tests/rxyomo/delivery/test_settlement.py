"""The zipper's settlement book: when a received frame is settled, and its receipts."""

from __future__ import annotations

from rxyomo.delivery.settlement import Settlement, release
from rxyomo.protocol.receipts import decode_receipt


def test_frames_settle_in_arrival_order_once_every_delivery_is_done() -> None:
    book = Settlement()
    first, second, third = book.arrive(), book.arrive(), book.arrive()
    first.hold()  # sent to one destination
    second.hold()
    second.hold()  # and this one to two
    for ticket in (first, second, third):
        ticket.placed()  # routed
    assert book.advance() is None
    assert book.pending == 3
    second.release()
    second.release()
    assert book.advance() is None  # the first still holds the line
    first.release()
    due = book.advance()  # the third went nowhere: settled
    assert due is not None
    assert decode_receipt(due) == (3, {})
    assert book.pending == 0
    assert book.advance() is None  # reported once


def test_a_frame_dropped_on_any_of_its_ways_settles_as_dropped_with_the_first_reason() -> None:
    book = Settlement()
    kept, unrouted, half_lost = book.arrive(), book.arrive(), book.arrive()
    kept.hold()
    unrouted.mark("no observer for tag 0x10")
    half_lost.hold()
    half_lost.hold()
    for ticket in (kept, unrouted, half_lost):
        ticket.placed()  # routed
    kept.release()
    half_lost.release()  # one destination confirmed it,
    release(half_lost, "in flight to a lost connection")  # the other was lost with it
    release(object(), "not a ticket: ignored")
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (
        3,
        {"no observer for tag 0x10": [1], "in flight to a lost connection": [2]},
    )
    later = book.arrive()
    later.mark("destination closed")
    later.mark("a second reason is not kept")
    later.release()
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (4, {"destination closed": [3]})


def test_a_frame_every_mesh_peer_passed_over_settles_as_unobserved() -> None:
    book = Settlement()
    somewhere, nowhere = book.arrive(), book.arrive()
    for ticket in (somewhere, nowhere):
        ticket.hold()  # forwarded to two mesh peers
        ticket.hold()
        ticket.placed()
    somewhere.pass_over("no observer for tag 0x10 anywhere in the mesh")
    somewhere.release()  # the other peer passed it on
    nowhere.pass_over("no observer for tag 0x10 anywhere in the mesh")
    nowhere.pass_over("no observer for tag 0x10 anywhere in the mesh")
    due = book.advance()
    assert due is not None
    assert decode_receipt(due) == (2, {"no observer for tag 0x10 anywhere in the mesh": [1]})

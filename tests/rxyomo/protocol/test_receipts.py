"""Delivery receipts: the codec, the zipper's settlement book, and the client's ledger."""

from __future__ import annotations

import msgpack
import pytest

from rxyomo.protocol.connection import Connection, ConnectionState, Role
from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.frames import DataFrame, HandshakeAckFrame, HandshakeFrame, encode_frame
from rxyomo.protocol.receipts import (
    Settlement,
    decode_receipt,
    is_no_observer,
    no_observer,
    receipt,
    release,
)
from rxyomo.protocol.reserved import RECEIPT_TAG


def test_a_receipt_carries_its_count_and_drops() -> None:
    for count in (0, 1, 2**40):
        assert decode_receipt(receipt(count)) == (count, {})
        assert len(receipt(count).payload) == 8  # no drops: nothing more
    drops = {"no observer for tag 0x10": [3, 4], "destination closed": [9]}
    assert decode_receipt(receipt(10, drops)) == (10, drops)
    assert receipt(0).tag == RECEIPT_TAG


@pytest.mark.parametrize(
    "frame", [DataFrame(tag=0x10, payload=bytes(8)), DataFrame(tag=RECEIPT_TAG, payload=b"123")]
)
def test_anything_else_is_not_a_receipt(frame: DataFrame) -> None:
    with pytest.raises(ProtocolError, match="not a receipt"):
        decode_receipt(frame)


_COUNT_5 = (5).to_bytes(8, "big")


@pytest.mark.parametrize(
    ("tail", "error"),
    [
        (b"\xc1", "do not decode"),  # a byte msgpack never uses
        (msgpack.packb({"why": [1]}) + b"x", "do not decode"),  # trailing bytes
        (msgpack.packb([1, 2]), "map reasons"),
        (msgpack.packb({"why": [5]}), "map reasons"),  # not among the 5 settled
        (msgpack.packb({"why": [-1]}), "map reasons"),
        (msgpack.packb({"why": [True]}), "map reasons"),
        (msgpack.packb({"why": 1}), "map reasons"),
        (msgpack.packb({b"why": [1]}), "map reasons"),
    ],
)
def test_malformed_drops_are_refused_with_a_reason(tail: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        decode_receipt(DataFrame(tag=RECEIPT_TAG, payload=_COUNT_5 + tail))


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
    assert is_no_observer(no_observer(0x10))
    assert not is_no_observer("destination closed")


def _open_client() -> Connection:
    client = Connection(Role.CLIENT, 0.0)
    client.send_handshake(HandshakeFrame(name="src", client_type=0x5F, id="x"), 0.0)
    client.receive_data(encode_frame(HandshakeAckFrame()), 0.0)
    assert client.state is ConnectionState.OPEN
    client.data_to_send()
    return client


def test_the_ledger_settles_by_count_and_names_each_key() -> None:
    client = _open_client()
    for key in "abcd":
        client.send_data(DataFrame(tag=0x10, payload=b"x"), 0.0, key)
    client.send_control(receipt(0), 0.0)  # outside the ledger
    named: list[object] = []
    assert client.settle(3, named.append) == 3
    assert named == ["a", "b", "c"]
    assert client.settle(5) == 1  # never more than were in flight
    assert client.frames_confirmed == 4
    assert client.frames_unconfirmed == 0


def test_the_ledger_hands_frames_the_peer_dropped_to_on_dropped() -> None:
    client = _open_client()
    for key in "abcde":
        client.send_data(DataFrame(tag=0x10, payload=b"x"), 0.0, key)
    named: list[object] = []
    dropped: list[tuple[str, object]] = []

    def on_dropped(reason: str, key: object) -> None:
        dropped.append((reason, key))

    # Indices count from the connection's first data frame, across receipts.
    assert client.settle(2, named.append, dropped={1: "gone"}, on_dropped=on_dropped) == 1
    assert client.settle(3, named.append, dropped={3: "lost"}, on_dropped=on_dropped) == 2
    assert named == ["a", "c", "e"]
    assert dropped == [("gone", "b"), ("lost", "d")]
    assert client.frames_confirmed == 3
    assert client.frames_settled == 5


def test_unconfirmed_frames_split_at_what_the_transport_acknowledged() -> None:
    client = _open_client()
    ends = []
    for key in "abc":
        client.send_data(DataFrame(tag=0x10, payload=b"x" * 10), 0.0, key)
        ends.append(client.bytes_queued)
    assert client.unconfirmed_split(ends[1]) == (["a", "b"], ["c"])
    named: list[object] = []
    assert client.confirm(ends[0], named.append) == 1
    assert named == ["a"]

"""Delivery receipts: the codec, the zipper's settlement book, and the client's ledger."""

from __future__ import annotations

import pytest

from rxyomo.protocol.connection import Connection, ConnectionState, Role
from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.frames import DataFrame, HandshakeAckFrame, HandshakeFrame, encode_frame
from rxyomo.protocol.receipts import RECEIPT_REQUEST, Settlement, decode_receipt, receipt
from rxyomo.protocol.reserved import RECEIPT_TAG


def test_a_receipt_carries_its_count() -> None:
    for count in (0, 1, 2**40):
        assert decode_receipt(receipt(count)) == count
    assert RECEIPT_REQUEST.tag == RECEIPT_TAG and RECEIPT_REQUEST.payload == b""


@pytest.mark.parametrize(
    "frame", [DataFrame(tag=0x10, payload=bytes(8)), DataFrame(tag=RECEIPT_TAG, payload=b"123")]
)
def test_anything_else_is_not_a_receipt(frame: DataFrame) -> None:
    with pytest.raises(ProtocolError, match="not a receipt"):
        decode_receipt(frame)


def test_frames_settle_in_arrival_order_once_every_delivery_is_done() -> None:
    book = Settlement()
    first, second, third = book.arrive(), book.arrive(), book.arrive()
    first.hold()  # sent to one destination
    second.hold()
    second.hold()  # and this one to two
    for ticket in (first, second, third):
        ticket.release()  # routed
    assert book.advance() is None and book.pending == 3  # nothing confirmed yet
    second.release()
    second.release()
    assert book.advance() is None  # the first still holds the line
    first.release()
    assert book.advance() == 3 and book.pending == 0  # the third went nowhere: settled
    assert book.advance() is None  # reported once


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
    client.send_control(RECEIPT_REQUEST, 0.0)  # outside the ledger
    named: list[object] = []
    assert client.settle(3, named.append) == 3 and named == ["a", "b", "c"]
    assert client.settle(5) == 1  # never more than were in flight
    assert client.frames_confirmed == 4 and client.frames_unconfirmed == 0


def test_unconfirmed_frames_split_at_what_the_transport_acknowledged() -> None:
    client = _open_client()
    ends = []
    for key in "abc":
        client.send_data(DataFrame(tag=0x10, payload=b"x" * 10), 0.0, key)
        ends.append(client.bytes_queued)
    assert client.unconfirmed_split(ends[1]) == (["a", "b"], ["c"])
    named: list[object] = []
    assert client.confirm(ends[0], named.append) == 1 and named == ["a"]

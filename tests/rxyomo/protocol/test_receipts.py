"""Delivery receipts on the wire: the codec and the drop reasons it carries."""

from __future__ import annotations

import msgpack
import pytest

from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.frames import DataFrame
from rxyomo.protocol.receipts import decode_receipt, is_no_observer, no_observer, receipt
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


def test_no_observer_reasons_are_recognised() -> None:
    assert is_no_observer(no_observer(0x10))
    assert not is_no_observer("destination closed")

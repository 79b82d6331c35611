"""Delivery receipts: a zipper confirms a client's frames once it has passed them on.

A transport acknowledgement only says that the zipper's transport has a frame. A zipper
killed outright (SIGKILL, power loss) takes along the frames it had acknowledged but not
yet handed to a live destination, and their writer would count them delivered. With
receipts, which a client and an rxyomo zipper agree on in the handshake (the
``receipts`` extension, :mod:`rxyomo.protocol.extensions`), the zipper confirms a frame
only once it is *settled*: every destination's
transport acknowledged it, or the zipper counted it as dropped with a reason (no
observer, a destination lost with the frame in flight, ...). A receipt is a frame on the
same tag whose payload is the number of data frames settled so far, counted from the
handshake, as an 8-byte big-endian integer. Frames settle in the order they arrived, so a
count says which frames it covers. When some of the newly settled frames were dropped
rather than passed on everywhere they were routed, the count is followed by a msgpack map
from each reason to the frames' indices (the n-th data frame of the connection, from 0),
so the writer counts each under the zipper's reason instead of as delivered.

This module is the wire format; the bookkeeping on either side is in
:mod:`rxyomo.delivery` (:mod:`~rxyomo.delivery.settlement` at the zipper,
:mod:`~rxyomo.delivery.link` at the client).

This is rxyomo's extension on a tag YoMo reserves for the system: receipts are never sent
to, nor asked of, a peer that did not agree to them in its handshake.
"""

from __future__ import annotations

import struct

import msgpack

from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.frames import DataFrame
from rxyomo.protocol.reserved import RECEIPT_TAG

__all__ = ["Drops", "decode_receipt", "is_no_observer", "no_observer", "receipt"]

_COUNT = struct.Struct("!Q")

#: Frames a receipt reports dropped: their indices by the zipper's reason.
Drops = dict[str, list[int]]


def receipt(settled: int, drops: Drops | None = None) -> DataFrame:
    """The receipt frame saying that ``settled`` frames are settled, ``drops`` among them
    (by reason) dropped."""
    payload = _COUNT.pack(settled)
    if drops:
        payload += msgpack.packb(drops)
    return DataFrame(tag=RECEIPT_TAG, payload=payload)


def decode_receipt(frame: DataFrame) -> tuple[int, Drops]:
    """The count a receipt carries and the drops it reports; :class:`ProtocolError` if it
    is not a well-formed receipt."""
    payload = frame.payload
    if frame.tag != RECEIPT_TAG or len(payload) < _COUNT.size:
        raise ProtocolError(f"not a receipt: tag 0x{frame.tag:X}, {len(payload)} bytes of payload")
    count: int = _COUNT.unpack_from(payload)[0]
    if len(payload) == _COUNT.size:
        return count, {}
    try:
        drops = msgpack.unpackb(payload[_COUNT.size :], strict_map_key=True)
    except Exception as exc:  # msgpack raises a dozen unrelated types for bad input
        raise ProtocolError(f"a receipt's drops do not decode: {exc}") from exc
    if not isinstance(drops, dict) or not all(
        isinstance(reason, str)
        and isinstance(indices, list)
        and all(type(i) is int and 0 <= i < count for i in indices)
        for reason, indices in drops.items()
    ):
        raise ProtocolError("a receipt's drops must map reasons to indices of settled frames")
    return count, drops


def no_observer(tag: int) -> str:
    """The drop reason for a frame of ``tag`` that nothing observes."""
    return f"{_NO_OBSERVER}0x{tag:X}"


def is_no_observer(reason: str) -> bool:
    """Whether ``reason`` says the frame had no observer (as :func:`no_observer` words it)."""
    return reason.startswith(_NO_OBSERVER)


_NO_OBSERVER = "no observer for tag "

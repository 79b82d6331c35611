"""Delivery receipts: a zipper confirms a client's frames once it has passed them on.

A transport acknowledgement only says that the zipper's transport has a frame. A zipper
killed outright (SIGKILL, power loss) takes along the frames it had acknowledged but not
yet handed to a live destination, and their writer would count them delivered. With
receipts, which a client asks for with an empty frame on :data:`RECEIPT_TAG` right after
its handshake, the zipper confirms a frame only once it is *settled*: every destination's
transport acknowledged it, or the zipper counted it as dropped with a reason (no
observer, a destination lost with the frame in flight, ...). A receipt is a frame on the
same tag whose payload is the number of data frames settled so far, counted from the
request, as an 8-byte big-endian integer. Frames settle in the order they arrived, so a
count is all a receipt needs.

This is rxyomo's extension on a tag YoMo reserves for the system; a client asks for it
only when told to, since other zippers would not answer.
"""

from __future__ import annotations

import struct
from collections import deque

from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.frames import DataFrame
from rxyomo.protocol.reserved import RECEIPT_TAG

__all__ = [
    "RECEIPT_REQUEST",
    "Settlement",
    "Ticket",
    "decode_receipt",
    "receipt",
    "release",
]

_COUNT = struct.Struct("!Q")

#: What a client sends to ask for receipts.
RECEIPT_REQUEST = DataFrame(tag=RECEIPT_TAG, payload=b"")


def receipt(settled: int) -> DataFrame:
    """The receipt frame saying that ``settled`` frames are settled."""
    return DataFrame(tag=RECEIPT_TAG, payload=_COUNT.pack(settled))


def decode_receipt(frame: DataFrame) -> int:
    """The count a receipt carries; :class:`ProtocolError` if it is not a receipt."""
    if frame.tag != RECEIPT_TAG or len(frame.payload) != _COUNT.size:
        raise ProtocolError(
            f"not a receipt: tag 0x{frame.tag:X}, {len(frame.payload)} bytes of payload"
        )
    count: int = _COUNT.unpack(frame.payload)[0]
    return count


class Ticket:
    """One received frame: how many deliveries of it are still outstanding."""

    __slots__ = ("outstanding",)

    def __init__(self) -> None:
        # The router's own hold, released once it has placed the frame everywhere.
        self.outstanding = 1

    def hold(self) -> None:
        """One more delivery (a destination's transport) must confirm the frame."""
        self.outstanding += 1

    def release(self) -> None:
        """One delivery confirmed the frame, or ended counted as a drop."""
        self.outstanding -= 1


def release(key: object) -> None:
    """A frame sent with ``key`` was confirmed, or counted as dropped: if the key is a
    :class:`Ticket`, that delivery of it is done."""
    if isinstance(key, Ticket):
        key.release()


class Settlement:
    """The zipper's side of one client's receipts: its frames, in arrival order, until
    each is settled. Pure bookkeeping; the caller sends the receipts."""

    def __init__(self) -> None:
        self._pending: deque[Ticket] = deque()
        #: Frames settled so far, counted from the request.
        self.settled = 0
        self._reported = 0

    @property
    def pending(self) -> int:
        """Frames received and not settled yet."""
        return len(self._pending)

    def arrive(self) -> Ticket:
        """A data frame arrived: its ticket, held until :meth:`Ticket.release`."""
        ticket = Ticket()
        self._pending.append(ticket)
        return ticket

    def advance(self) -> int | None:
        """Settle what can be; the count to report if it changed since the last report."""
        pending = self._pending
        while pending and pending[0].outstanding <= 0:
            pending.popleft()
            self.settled += 1
        if self.settled == self._reported:
            return None
        self._reported = self.settled
        return self.settled

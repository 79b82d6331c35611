"""The zipper's half towards one destination: the frames it sent there, until that
connection's transport confirms them or the connection is lost with them in flight."""

from __future__ import annotations

from dataclasses import dataclass

from rxyomo.delivery.ledger import Ledger
from rxyomo.delivery.settlement import Ticket

__all__ = ["LOST_IN_FLIGHT", "DestinationDelivery", "Loss"]

#: Drop reason: frames sent to a connection that was lost before its transport confirmed them.
LOST_IN_FLIGHT = "in flight to a lost connection"


@dataclass(frozen=True)
class Loss:
    """What the end of a destination's connection settled."""

    #: Frames in flight to it, counted as dropped (:data:`LOST_IN_FLIGHT`).
    lost: int
    #: Whether any ticket was released, so that receipts may be due.
    released: bool


class DestinationDelivery:
    """The frames a zipper sent to one connection, oldest first, each with its writer's
    :class:`Ticket` (None when the writer did not ask for receipts).

    A ticket is held while its frame is in flight here and released once the transport
    confirms the frame (:meth:`acknowledged`), or as dropped when the connection ends
    first (:meth:`ended`). Pure bookkeeping: the zipper sends the receipts and counts the
    drops.
    """

    __slots__ = ("finished", "ledger")

    def __init__(self) -> None:
        #: The frames in flight, by ticket.
        self.ledger: Ledger[Ticket | None] = Ledger()
        #: Whether the connection ended (nothing more is accounted).
        self.finished = False

    def sent(self, end: int, ticket: Ticket | None) -> None:
        """A frame was queued, ending at byte ``end`` of the connection's stream; its
        ticket is held until the frame is confirmed or counted lost."""
        if ticket is not None:
            ticket.hold()
        self.ledger.sent(end, ticket)

    def acknowledged(self, confirmed_bytes: int) -> bool:
        """The transport confirmed ``confirmed_bytes`` of the stream: releases the tickets
        of the frames this confirms; True if there were any (receipts may be due)."""
        return _release(self.ledger.confirm(confirmed_bytes))

    def ended(self, confirmed_bytes: int) -> Loss:
        """The connection is gone, its transport having confirmed ``confirmed_bytes`` in
        all: what that confirms is delivered, every other frame in flight is lost, its
        ticket released as dropped. Counts once; later calls settle nothing."""
        if self.finished:
            return Loss(0, released=False)
        self.finished = True
        released = self.acknowledged(confirmed_bytes)
        lost = self.ledger.clear()
        released = _release(lost, LOST_IN_FLIGHT) or released
        return Loss(len(lost), released)


def _release(tickets: list[Ticket | None], dropped: str | None = None) -> bool:
    # One delivery of each of these frames is done (or counted dropped); True if any
    # had a ticket.
    released = False
    for ticket in tickets:
        if ticket is not None:
            ticket.release(dropped)
            released = True
    return released

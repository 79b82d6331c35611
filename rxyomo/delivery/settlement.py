"""The zipper's half of delivery: when a frame it received is settled, and the receipts.

A frame is settled once every destination's transport acknowledged it or the zipper
counted it as dropped (see :mod:`rxyomo.protocol.receipts` for the receipts on the wire).
Pure bookkeeping: the zipper sends the receipts this module makes.
"""

from __future__ import annotations

from collections import defaultdict, deque

from rxyomo.protocol.frames import DataFrame
from rxyomo.protocol.receipts import receipt

__all__ = ["Settlement", "Ticket", "release"]


class Ticket:
    """One received frame: how many deliveries of it are still outstanding, how many
    passed it on, and why it was dropped if any was."""

    __slots__ = ("delivered", "dropped", "outstanding", "unobserved")

    def __init__(self) -> None:
        # The router's own hold, released (:meth:`placed`) once it has placed the frame.
        self.outstanding = 1
        #: Deliveries that confirmed the frame.
        self.delivered = 0
        #: The first reason a delivery of this frame was dropped for, if any was.
        self.dropped: str | None = None
        #: Why a delivery passed the frame over, having no observer for it (a mesh peer).
        self.unobserved: str | None = None

    def hold(self) -> None:
        """One more delivery (a destination's transport) must confirm the frame."""
        self.outstanding += 1

    def placed(self) -> None:
        """The router has sent the frame everywhere it goes (or counted it dropped)."""
        self.outstanding -= 1

    def release(self, dropped: str | None = None) -> None:
        """One delivery confirmed the frame, or (``dropped`` given) ended counted as a
        drop for that reason."""
        self.outstanding -= 1
        if dropped is None:
            self.delivered += 1
        else:
            self.mark(dropped)

    def pass_over(self, reason: str) -> None:
        """One delivery ended without a drop or a delivery: a mesh peer had no observer.
        If every delivery ends so, the frame settles as dropped for ``reason``."""
        self.outstanding -= 1
        self.unobserved = reason

    def mark(self, reason: str) -> None:
        """The frame was dropped somewhere it was to go (counted for ``reason``)."""
        if self.dropped is None:
            self.dropped = reason

    @property
    def verdict(self) -> str | None:
        """Once settled: why the frame counts as dropped, or None if it was passed on."""
        if self.dropped is None and not self.delivered:
            return self.unobserved
        return self.dropped


def release(key: object, dropped: str | None = None) -> None:
    """A frame sent with ``key`` was confirmed, or (``dropped`` given) counted as dropped:
    if the key is a :class:`Ticket`, that delivery of it is done."""
    if isinstance(key, Ticket):
        key.release(dropped)


class Settlement:
    """The zipper's side of one client's receipts: its frames, in arrival order, until
    each is settled. Pure bookkeeping; the caller sends the receipts."""

    def __init__(self) -> None:
        self._pending: deque[Ticket] = deque()
        #: Frames settled so far, counted from the request.
        self.settled = 0
        self._reported = 0
        self._drops: defaultdict[str, list[int]] = defaultdict(list)

    @property
    def pending(self) -> int:
        """Frames received and not settled yet."""
        return len(self._pending)

    def arrive(self) -> Ticket:
        """A data frame arrived: its ticket, held until :meth:`Ticket.release`."""
        ticket = Ticket()
        self._pending.append(ticket)
        return ticket

    def advance(self) -> DataFrame | None:
        """Settle what can be; the receipt to send if anything settled since the last."""
        pending = self._pending
        while pending and pending[0].outstanding <= 0:
            dropped = pending.popleft().verdict
            if dropped is not None:
                self._drops[dropped].append(self.settled)
            self.settled += 1
        if self.settled == self._reported:
            return None
        self._reported = self.settled
        drops, self._drops = dict(self._drops), defaultdict(list)
        return receipt(self.settled, drops)

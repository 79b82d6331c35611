"""When the zipper sends receipts: the clients with frames to settle, and one timer."""

from __future__ import annotations

import asyncio

from rxyomo.zipper.peer import Peer

__all__ = ["SETTLE_INTERVAL", "ReceiptTimer"]

#: At most one receipt per client every this many seconds: one covers many frames,
#: sparing a packet each way per frame.
SETTLE_INTERVAL = 0.02


class ReceiptTimer:
    """Sends the receipts that are due, at most every :data:`SETTLE_INTERVAL`.

    Each client's :class:`~rxyomo.delivery.settlement.Settlement` says what its receipt
    is; this only keeps the clients that have frames to settle, and the timer.
    """

    def __init__(self, interval: float = SETTLE_INTERVAL) -> None:
        self.interval = interval
        #: Peers that asked for receipts and have frames not settled yet.
        self._settling: set[Peer] = set()
        self._handle: asyncio.TimerHandle | None = None

    def pending(self, peer: Peer) -> None:
        """A frame arrived from ``peer``, to settle."""
        self._settling.add(peer)

    def soon(self) -> None:
        """Tickets were released: send the receipts due within the interval, not at once."""
        if self._settling and self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_later(self.interval, self._on_timer)

    def now(self) -> None:
        """Send the receipts that are due. Every release of a ticket (a destination's
        confirmation, a mesh peer's receipt, a loss) asks for this again."""
        for peer in list(self._settling):
            if not peer.send_receipt():
                self._settling.discard(peer)

    def close(self) -> None:
        """Stop the timer (the zipper is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _on_timer(self) -> None:
        self._handle = None
        self.now()

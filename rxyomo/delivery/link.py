"""A client connection's half of delivery: which of its frames are confirmed, and how."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from rxyomo.delivery.ledger import Ledger
from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.stats import NOT_SENT, UNSETTLED

__all__ = ["LinkDelivery", "Outcome"]

K = TypeVar("K")


class LinkDelivery(Generic[K]):
    """The frames one client connection wrote, until each is confirmed or counted.

    Without receipts the transport confirms frames (:meth:`acknowledged`); with receipts,
    agreed on in the handshake (:meth:`opened`), only the zipper's receipts do
    (:meth:`receipt`), and the transport's count only tells, when the connection ends,
    which frames the zipper had. :meth:`ended` counts what is left, once.
    """

    def __init__(self) -> None:
        self.ledger: Ledger[K] = Ledger()
        #: Whether receipts confirm this connection's frames.
        self.receipts = False
        #: Bytes handed to the transport, and bytes it confirmed.
        self.handed = 0
        self.acknowledged_bytes = 0
        self._receipted = 0
        self.finished = False

    @property
    def in_flight(self) -> int:
        """Frames written and not confirmed or counted yet."""
        return len(self.ledger)

    def opened(self, receipts: bool) -> None:
        """The zipper accepted the connection, agreeing to receipts or not."""
        self.receipts = receipts

    def sent(self, end: int, key: K) -> None:
        """A frame was queued, ending at byte ``end`` of the connection's stream."""
        self.ledger.sent(end, key)

    def handed_over(self, offset: int) -> None:
        """The first ``offset`` bytes of the stream went to the transport."""
        self.handed = offset

    def acknowledged(self, confirmed_bytes: int) -> Outcome[K]:
        """The transport confirmed ``confirmed_bytes`` of what was written."""
        self.acknowledged_bytes = max(self.acknowledged_bytes, confirmed_bytes)
        if self.receipts or self.finished:
            return Outcome()
        return Outcome(confirmed=self.ledger.confirm(confirmed_bytes))

    def receipt(self, count: int, drops: Mapping[str, list[int]]) -> Outcome[K] | None:
        """A receipt: ``count`` frames settled so far, ``drops`` among the new ones (by
        the zipper's reason). None when it says nothing new (stale or repeated)."""
        if count <= self._receipted or self.finished:
            return None
        delta, self._receipted = count - self._receipted, count
        by_index = {index: reason for reason, indices in drops.items() for index in indices}
        before = len(self.ledger)
        delivered, lost = self.ledger.settle(delta, by_index)
        outcome: Outcome[K] = Outcome(confirmed=delivered)
        for reason, key in lost:
            outcome.by_zipper.setdefault(reason, []).append(key)
        outcome.excess = delta - (before - len(self.ledger))
        return outcome

    def ended(self, reason: str) -> Outcome[K]:
        """The connection is over: count every frame still in flight, once.

        Frames never handed to the transport are dropped. The others' fate is unknown:
        with receipts, those whose bytes the zipper's transport had count under
        :data:`~rxyomo.delivery.stats.UNSETTLED`, the rest under ``reason``.
        """
        if self.finished:
            return Outcome()
        outcome = self.acknowledged(self.acknowledged_bytes)
        self.finished = True
        handed, unsent = self.ledger.split(self.handed)
        if unsent:
            outcome.dropped[NOT_SENT] = unsent
        unconfirmed = handed
        if self.receipts:
            # Acknowledged bytes are a prefix of those handed over.
            accepted = len(self.ledger.split(self.acknowledged_bytes)[0])
            if accepted:
                outcome.unknown[UNSETTLED] = handed[:accepted]
            unconfirmed = handed[accepted:]
        if unconfirmed:
            outcome.unknown[reason] = unconfirmed
        self.ledger.clear()
        return outcome

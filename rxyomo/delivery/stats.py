"""What became of the data frames a client wrote: the client's half of "no silent loss".

A client hands each data frame to a connection; the zipper's receipts later confirm that
it passed the frame on, or name the reason it dropped it (without receipts, the transport
confirms that the zipper's transport has the frame's bytes). A frame still unconfirmed when
its connection ended is counted too, never left to vanish: as *dropped* when it certainly
was not delivered (it never left this client), and as *unknown* when nobody here can tell
(the zipper may have passed it on before it died, or its confirmation was lost on the way).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from rxyomo.delivery.outcome import Outcome

__all__ = [
    "BY_ZIPPER",
    "CLOSED_UNCONFIRMED",
    "KEYS_KEPT",
    "LOST_UNCONFIRMED",
    "NOT_SENT",
    "UNSETTLED",
    "DeliveryStats",
]

#: Fate unknown: the connection broke while the frame was in flight.
LOST_UNCONFIRMED = "connection lost before the zipper confirmed"
#: Fate unknown: ``close()`` gave up waiting for the zipper to confirm the frame.
CLOSED_UNCONFIRMED = "client closed before the zipper confirmed"
#: Fate unknown, with receipts: the zipper's transport had the frame, but the connection
#: ended before the zipper said it had passed the frame on (it may have, or died first).
UNSETTLED = "accepted by the zipper, not confirmed passed on when the connection ended"
#: Dropped: the connection ended before the frame was handed to its transport.
NOT_SENT = "not sent: the connection ended first"
#: Dropped, with receipts: the zipper counted the frame as dropped (no observer, its
#: destination lost with it in flight, ...) and its receipt says why (this prefix + why).
BY_ZIPPER = "dropped by the zipper: "
#: How many keys of dropped frames, and of frames of unknown fate, are kept.
KEYS_KEPT = 4096


@dataclass
class DeliveryStats:
    """Counters of the data frames one client wrote, across all its connections.

    Every frame written is, at any moment, exactly one of *confirmed* (the zipper's
    transport acknowledged its bytes; with receipts, the zipper passed it on), *in
    flight*, *dropped* (certainly not delivered: the zipper's receipt said so, or it never
    left this client) or *unknown* (in flight when its connection ended: it may have been
    delivered): ``written == confirmed + in_flight + dropped + unknown``. Both are counted
    by reason; :attr:`dropped_keys` and :attr:`unknown_keys` name the latest frames of
    each (a source's keys are the frames' transaction ids), so that a receiver with
    sequence numbers can tell.

    Over TLS-on-TCP the transport cannot report acknowledgements, and a frame counts as
    confirmed once the kernel took it: what the kernel held when the connection died is
    not counted. QUIC (the default) and the in-memory transport account exactly.
    """

    written: int = 0
    confirmed: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    unknowns: Counter[str] = field(default_factory=Counter)
    dropped_keys: deque[object] = field(default_factory=lambda: deque(maxlen=KEYS_KEPT))
    unknown_keys: deque[object] = field(default_factory=lambda: deque(maxlen=KEYS_KEPT))

    @property
    def dropped(self) -> int:
        """Frames counted as dropped, whatever the reason."""
        return sum(self.drops.values())

    @property
    def unknown(self) -> int:
        """Frames whose fate is unknown, whatever the reason."""
        return sum(self.unknowns.values())

    @property
    def in_flight(self) -> int:
        """Frames written and not confirmed, dropped or of unknown fate yet."""
        return self.written - self.confirmed - self.dropped - self.unknown

    def drop(self, reason: str, keys: list[object]) -> None:
        """Count the frames named by ``keys`` as dropped for ``reason``."""
        if keys:
            self.drops[reason] += len(keys)
            self.dropped_keys.extend(keys)

    def lose_track(self, reason: str, keys: list[object]) -> None:
        """Count the frames named by ``keys`` as of unknown fate, for ``reason``."""
        if keys:
            self.unknowns[reason] += len(keys)
            self.unknown_keys.extend(keys)

    def record(self, outcome: Outcome[Any]) -> None:
        """Count what one event settled of this client's frames: confirmed, dropped by
        the zipper (under :data:`BY_ZIPPER` and its reason), dropped here, or of unknown
        fate."""
        self.confirmed += len(outcome.confirmed)
        for reason, keys in outcome.by_zipper.items():
            self.drop(f"{BY_ZIPPER}{reason}", keys)
        for reason, keys in outcome.dropped.items():
            self.drop(reason, keys)
        for reason, keys in outcome.unknown.items():
            self.lose_track(reason, keys)

    def as_dict(self) -> dict[str, Any]:
        """A plain, serialisable snapshot."""
        return {
            "written": self.written,
            "confirmed": self.confirmed,
            "in_flight": self.in_flight,
            "drops": dict(self.drops),
            "unknown": dict(self.unknowns),
        }

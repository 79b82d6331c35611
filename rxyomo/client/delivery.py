"""What became of the data frames a client sent: the client's half of "no silent loss".

A client hands each data frame to a connection; the zipper's receipts later confirm that
it passed the frame on, or name the reason it dropped it (without receipts, the transport
confirms that the zipper's transport has the frame's bytes). A frame still unconfirmed when
its connection is lost (the zipper crashed, the network broke, the client closed before the
zipper caught up) is counted as dropped, with the reason and its key, instead of vanishing.
``docs/architecture.md`` ("No silent loss") describes the whole accounting, the zipper's
half included.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BY_ZIPPER",
    "CLOSED_UNCONFIRMED",
    "LOST_UNCONFIRMED",
    "UNCONFIRMED_KEPT",
    "UNSETTLED",
    "DeliveryStats",
]

#: Drop reason: the connection broke while the frame was in flight.
LOST_UNCONFIRMED = "connection lost before the zipper confirmed"
#: Drop reason: ``close()`` gave up waiting for the zipper to confirm the frame.
CLOSED_UNCONFIRMED = "client closed before the zipper confirmed"
#: Drop reason, with receipts: the zipper's transport had the frame, but the connection
#: ended before the zipper said it had passed the frame on (it may have, or died first).
UNSETTLED = "accepted by the zipper, not confirmed passed on when the connection ended"
#: Drop reason prefix, with receipts: the zipper counted the frame as dropped (no observer,
#: its destination lost with it in flight, ...) and its receipt says why.
BY_ZIPPER = "dropped by the zipper: "
#: How many keys of dropped frames :attr:`DeliveryStats.dropped_keys` keeps.
UNCONFIRMED_KEPT = 4096


@dataclass
class DeliveryStats:
    """Counters of the data frames one client wrote, across all its connections.

    Every frame written is, at any moment, exactly one of *confirmed* (the zipper's
    transport acknowledged its bytes; with receipts, the zipper passed it on), *in
    flight*, or *dropped* (counted by reason): ``written == confirmed + in_flight +
    dropped``. A frame is dropped when its connection ended with it in flight (the
    zipper may have had it, its acknowledgement lost with the connection, or not) or,
    with receipts, when the zipper says it dropped it (reasons starting with
    :data:`BY_ZIPPER`). :attr:`dropped_keys` names the latest ones (a source's keys are
    the frames' transaction ids) so that a receiver can tell which.

    Over TLS-on-TCP the transport cannot report acknowledgements, and a frame counts as
    confirmed once the kernel took it: what the kernel held when the connection died is
    not counted. QUIC (the default) and the in-memory transport account exactly.
    """

    written: int = 0
    confirmed: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    dropped_keys: deque[object] = field(default_factory=lambda: deque(maxlen=UNCONFIRMED_KEPT))

    @property
    def dropped(self) -> int:
        """Frames counted as dropped, whatever the reason."""
        return sum(self.drops.values())

    @property
    def in_flight(self) -> int:
        """Frames written and neither confirmed nor dropped yet."""
        return self.written - self.confirmed - self.dropped

    def drop(self, reason: str, keys: list[object]) -> None:
        """Count the frames named by ``keys`` as dropped for ``reason``."""
        if keys:
            self.drops[reason] += len(keys)
            self.dropped_keys.extend(keys)

    def as_dict(self) -> dict[str, Any]:
        """A plain, serialisable snapshot."""
        return {
            "written": self.written,
            "confirmed": self.confirmed,
            "in_flight": self.in_flight,
            "drops": dict(self.drops),
        }

"""The frames one connection wrote that its peer has not confirmed yet."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Generic, TypeVar

__all__ = ["Ledger"]

K = TypeVar("K")


class Ledger(Generic[K]):
    """Frames written on one connection, oldest first, until confirmed or settled.

    Each frame is known by where it ends in the connection's byte stream and by a key of
    the writer's choosing (a source's transaction id, the zipper's ticket), which names it
    again when it is confirmed or counted lost. Frames are confirmed in the order they
    were written: by acknowledged bytes (:meth:`confirm`) or by a count the peer reports
    (:meth:`settle`).
    """

    __slots__ = ("_in_flight", "confirmed", "settled")

    def __init__(self) -> None:
        self._in_flight: deque[tuple[int, K]] = deque()
        #: Frames confirmed as delivered so far.
        self.confirmed = 0
        #: Frames settled so far by :meth:`settle`, delivered or dropped.
        self.settled = 0

    def __len__(self) -> int:
        return len(self._in_flight)

    def sent(self, end: int, key: K) -> None:
        """A frame was queued whose last byte is at offset ``end`` (exclusive)."""
        self._in_flight.append((end, key))

    def confirm(self, acknowledged_bytes: int) -> list[K]:
        """The peer's transport has the first ``acknowledged_bytes`` bytes: the keys of the
        frames this confirms, oldest first."""
        in_flight = self._in_flight
        keys: list[K] = []
        while in_flight and in_flight[0][0] <= acknowledged_bytes:
            keys.append(in_flight.popleft()[1])
        self.confirmed += len(keys)
        return keys

    def settle(
        self, count: int, dropped: Mapping[int, str] | None = None
    ) -> tuple[list[K], list[tuple[str, K]]]:
        """The peer settled the oldest ``count`` frames (a receipt).

        ``dropped`` names, by index (the n-th frame written on the connection, from 0),
        the frames the peer counted as dropped, and why. Returns the keys of the frames
        delivered and the (reason, key) of those dropped. Never settles more frames than
        are in flight.
        """
        in_flight = self._in_flight
        delivered: list[K] = []
        lost: list[tuple[str, K]] = []
        for _ in range(min(count, len(in_flight))):
            key = in_flight.popleft()[1]
            reason = dropped.get(self.settled) if dropped else None
            self.settled += 1
            if reason is None:
                delivered.append(key)
            else:
                lost.append((reason, key))
        self.confirmed += len(delivered)
        return delivered, lost

    def keys(self) -> list[K]:
        """The keys of the frames in flight, oldest first."""
        return [key for _, key in self._in_flight]

    def split(self, acknowledged_bytes: int) -> tuple[list[K], list[K]]:
        """The keys in flight in two: the frames whose bytes the peer's transport
        acknowledged (``acknowledged_bytes`` of them) and the rest."""
        received: list[K] = []
        unreceived: list[K] = []
        for end, key in self._in_flight:
            (received if end <= acknowledged_bytes else unreceived).append(key)
        return received, unreceived

    def clear(self) -> list[K]:
        """Take every frame out of the ledger; their keys, oldest first."""
        keys = self.keys()
        self._in_flight.clear()
        return keys

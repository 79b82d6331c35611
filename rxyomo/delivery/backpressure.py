"""Which senders a zipper holds paused, and for which slow destinations."""

from __future__ import annotations

from collections import defaultdict

__all__ = ["BackPressure"]


class BackPressure:
    """Back-pressure between a zipper's connections, by connection id.

    A destination whose transport buffer passed its high watermark is *congested*. A
    sender that routes a frame to a congested destination is held: the zipper stops
    reading from it until every destination holding it has drained, so memory stays
    bounded instead of queueing more. Pure bookkeeping: the caller pauses and resumes
    reading as the answers say.
    """

    def __init__(self) -> None:
        self._congested: set[int] = set()
        # Destination -> the senders it holds; sender -> how many destinations hold it.
        self._holding: defaultdict[int, set[int]] = defaultdict(set)
        self._held_by: dict[int, int] = {}

    def is_congested(self, conn: int) -> bool:
        """Whether ``conn`` is a congested destination."""
        return conn in self._congested

    def is_held(self, conn: int) -> bool:
        """Whether reading from ``conn`` is paused by some destination."""
        return conn in self._held_by

    def congested(self, destination: int) -> None:
        """``destination``'s buffer passed its high watermark."""
        self._congested.add(destination)

    def routed(self, sender: int, destination: int) -> bool:
        """A frame from ``sender`` went to ``destination``: True when reading from the
        sender must pause now (it was not held before)."""
        if destination not in self._congested:
            return False
        holding = self._holding[destination]
        if sender in holding:
            return False
        holding.add(sender)
        held = self._held_by.get(sender, 0) + 1
        self._held_by[sender] = held
        return held == 1

    def drained(self, destination: int) -> list[int]:
        """``destination`` drained below its low watermark: the senders to resume
        reading from (no other destination holds them)."""
        self._congested.discard(destination)
        resume = []
        for sender in self._holding.pop(destination, ()):
            held = self._held_by[sender] - 1
            if held:
                self._held_by[sender] = held
            else:
                del self._held_by[sender]
                resume.append(sender)
        return resume

    def forget(self, conn: int) -> list[int]:
        """``conn`` is gone, as a sender and as a destination: the senders to resume."""
        resume = self.drained(conn)
        self._held_by.pop(conn, None)
        for holding in self._holding.values():
            holding.discard(conn)
        return resume

"""What one delivery event settled of a client's frames, by key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Outcome"]

K = TypeVar("K")


@dataclass
class Outcome(Generic[K]):
    """What one event settled: the keys of frames confirmed, of frames the zipper
    dropped (by its reason), of frames dropped here and of frames whose fate is unknown
    (by reason)."""

    confirmed: list[K] = field(default_factory=list)
    by_zipper: dict[str, list[K]] = field(default_factory=dict)
    dropped: dict[str, list[K]] = field(default_factory=dict)
    unknown: dict[str, list[K]] = field(default_factory=dict)
    #: Frames a receipt settled beyond those in flight (the zipper miscounted).
    excess: int = 0

    @property
    def empty(self) -> bool:
        """Whether the event settled no frame at all."""
        return not (self.confirmed or self.by_zipper or self.dropped or self.unknown)

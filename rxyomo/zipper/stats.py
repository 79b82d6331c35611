"""Counters the zipper keeps: frames and bytes per connection, drops by reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Distinct drop reasons kept; the rest are counted together under :data:`OTHER_REASONS`,
#: so that a client writing to ever new tags cannot grow the counters (or every stats
#: answer) without bound.
MAX_DROP_REASONS = 256
OTHER_REASONS = "other reasons (too many to list)"


@dataclass
class ConnectionStats:
    """Traffic of one connection since it joined."""

    name: str
    peer: str
    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A plain, serialisable copy."""
        return dict(self.__dict__)


@dataclass
class ZipperStats:
    """All counters of one zipper."""

    connections: dict[int, ConnectionStats] = field(default_factory=dict)
    drops: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    rejected: int = 0
    closed: int = 0

    def drop(self, reason: str, count: int = 1) -> None:
        """Count frames that were not delivered, by reason."""
        if reason not in self.drops and len(self.drops) >= MAX_DROP_REASONS:
            reason = OTHER_REASONS
        self.drops[reason] += count

    def as_dict(self) -> dict[str, Any]:
        """A plain, serialisable snapshot (for logs, the CLI and tests)."""
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "closed": self.closed,
            "connections": [c.as_dict() for c in self.connections.values()],
            "drops": dict(self.drops),
        }

    def summary(self) -> str:
        """One log line."""
        frames_in = sum(c.frames_in for c in self.connections.values())
        frames_out = sum(c.frames_out for c in self.connections.values())
        drops = ", ".join(f"{reason}: {n}" for reason, n in self.drops.items()) or "none"
        return (
            f"{len(self.connections)} connections, {frames_in} frames in, "
            f"{frames_out} frames out, drops: {drops}"
        )

"""Quarantine: a function that keeps faulting stops being run for a while.

A trap, a deadline or a memory blow-up each cost a whole limit's worth of CPU and a fresh
instance. A function that faults on every frame would spend that on every frame, taking
the machine from its neighbours, and, if frames waited for it, back-pressure would slow
the sources it shares with them. So after ``faults`` costly faults in a row the function
is quarantined for ``backoff`` seconds: frames meanwhile are settled at once as
quarantined (counted, never run). Then one frame is tried; if it faults too the
quarantine doubles (up to ``max_backoff``), and a success ends it. A new version of the
code starts with a clean record.

:class:`Quarantine` is a plain object driven by its caller's clock and lock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Quarantine", "QuarantinePolicy", "State"]


@dataclass(frozen=True)
class QuarantinePolicy:
    """When a function is quarantined, and for how long."""

    faults: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.faults < 1:
            raise ValueError(f"faults must be at least 1, got {self.faults}")
        if not 0 < self.backoff <= self.max_backoff:
            raise ValueError(
                f"need 0 < backoff <= max_backoff, got {self.backoff} and {self.max_backoff}"
            )


class State(enum.Enum):
    """Where a function stands."""

    SERVING = "serving"
    QUARANTINED = "quarantined"
    #: The quarantine ran out; one frame is being tried.
    TRYING = "trying"


class Quarantine:
    """The fault record of one function (not thread-safe: the runner holds its lock)."""

    def __init__(self, policy: QuarantinePolicy | None = None) -> None:
        self.policy = policy or QuarantinePolicy()
        self.state = State.SERVING
        #: Costly faults in a row.
        self.consecutive = 0
        #: Times the function entered quarantine.
        self.entered = 0
        self.until = 0.0
        self._backoff = self.policy.backoff

    def admit(self, now: float) -> bool:
        """Whether a frame taken at ``now`` should run (False: settle it as quarantined)."""
        if self.state is State.SERVING:
            return True
        if self.state is State.QUARANTINED and now >= self.until:
            self.state = State.TRYING
            return True
        return False

    def record(self, now: float, *, costly_fault: bool) -> bool:
        """Records a call's result; True when it put the function in quarantine."""
        if not costly_fault:
            self.consecutive = 0
            if self.state is State.TRYING:
                self.state = State.SERVING
                self._backoff = self.policy.backoff
            return False
        self.consecutive += 1
        if self.state is State.TRYING:
            self._backoff = min(self._backoff * 2, self.policy.max_backoff)
            return self._enter(now)
        if self.state is State.SERVING and self.consecutive >= self.policy.faults:
            return self._enter(now)
        return False

    def reset(self) -> None:
        """A clean record (a new version took over)."""
        self.state = State.SERVING
        self.consecutive = 0
        self._backoff = self.policy.backoff

    def remaining(self, now: float) -> float:
        """Seconds of quarantine left (0 unless quarantined)."""
        return max(self.until - now, 0.0) if self.state is State.QUARANTINED else 0.0

    def _enter(self, now: float) -> bool:
        self.state = State.QUARANTINED
        self.until = now + self._backoff
        self.entered += 1
        return True

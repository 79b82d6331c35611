"""What ``encode(key)`` turns an item into: one outgoing Data frame's tag and payload."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Encoded"]


@dataclass(frozen=True, slots=True)
class Encoded:
    """A value marshalled as Y3 under ``tag``, for the runtime to send as a Data frame.

    The runtime writes each ``Encoded`` reaching the end of a stream function's pipeline
    as a Data frame with data tag ``tag`` and payload ``payload``; anything else reaching
    the end is what a sink consumes.
    """

    tag: int
    payload: bytes

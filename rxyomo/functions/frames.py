"""What goes into a served function and what comes out: frames, outcomes, faults.

These are plain objects, independent of any connection, so that whatever feeds a
function (a stream-function connection, a zipper serving it in-process, a test) hands it
a :class:`Frame` and gets an :class:`Outcome` back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rxyomo.client.context import Answer

__all__ = [
    "BAD_ANSWER",
    "CLOSED",
    "HANDLER_ERROR",
    "INSTANCE_FAILED",
    "QUARANTINED",
    "VERSION_KEY",
    "Answer",
    "Fault",
    "Frame",
    "Outcome",
]

#: Metadata key of every answer: the version (:attr:`Outcome.version`) that produced it.
VERSION_KEY = "rxyomo-fn-version"

# Causes of a frame that produced no answer, besides wasm_host's trap causes ("guest
# trap", "deadline exceeded", "out of fuel", "memory limit exceeded", "bad pointer",
# "host function failed"), which keep their names.
#: A Python handler raised.
HANDLER_ERROR = "handler error"
#: The function answered with something that cannot be sent (a wrong type, a bad tag).
BAD_ANSWER = "bad answer"
#: No instance could be made for the call (a host function's set-up failed, say).
INSTANCE_FAILED = "instance failed"
#: The function was in quarantine after repeated faults; the frame was not run.
QUARANTINED = "quarantined"
#: The function was removed or the host closed before the frame's turn came.
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Frame:
    """One data frame for a function: its tag, payload and metadata.

    ``key`` is the caller's, handed back in the :class:`Outcome` (a sequence number, the
    connection it came from).
    """

    tag: int
    data: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)
    key: object = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one frame.

    ``answers`` are the frames to send on (empty for a sink, or on failure); ``version``
    names the code that handled it (see :data:`VERSION_KEY`); ``cause`` is ``None`` when
    the call succeeded, else why it did not (``"deadline exceeded"``,
    :data:`QUARANTINED`, ...), with ``detail``. ``seconds`` is the call's duration.
    """

    frame: Frame
    answers: tuple[Answer, ...] = ()
    version: str = ""
    cause: str | None = None
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.cause is None


class Fault(Exception):
    """A call that produced no answer, with its cause.

    ``costly`` faults (a trap, a limit run out, an instance that could not be made) cost
    an instance or the whole of a limit; repeated, they put the function in quarantine.
    A Python handler's exception is not costly: as YoMo's functions do, the function goes
    on with the next frame.
    """

    def __init__(self, cause: str, detail: str = "", *, costly: bool = True) -> None:
        self.cause = cause
        self.detail = detail
        self.costly = costly
        super().__init__(f"{cause}: {detail}" if detail else cause)

"""A QUIC channel's lifecycle: its phases, what moves it on, and the table of allowed moves.

Pure and small, in the style of a sans-I/O state machine: :func:`advance` answers the
next phase or raises :class:`LifecycleError`, and the channel acts on the answer.

The wire follows RFC 9000 section 10: a connection ends by CONNECTION_CLOSE, sent (the
closing state) or received (the draining state), or silently (idle timeout); either way
aioquic reports it terminated only after a closing or draining period of three probe
timeouts. The application's side adds two things the RFC leaves to it: an orderly
``close()`` first sends a FIN and waits until the peer has acknowledged every byte, and
bytes held for a paused reader reach it before it is told of an orderly end, even when
that is after the wire has terminated.

=========== =============== ===========
phase       trigger         next phase
=========== =============== ===========
CONNECTING  HANDSHAKE_DONE  OPEN
CONNECTING  END             LOST
OPEN        CLOSE           CLOSING
OPEN        PEER_CLOSED     DRAINING
OPEN        END             LOST
CLOSING     PEER_CLOSED     DRAINING
CLOSING     END             LOST
DRAINING    END             LOST
DRAINING    TERMINATE       HOLDING
HOLDING     END             TERMINATED
LOST        TERMINATE       TERMINATED
=========== =============== ===========
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class Phase(enum.Enum):
    """Where a QUIC channel is in its life."""

    #: The TLS handshake is under way; no handler has started.
    CONNECTING = "connecting"
    #: Established with ALPN ``yomo``; both ways carry bytes.
    OPEN = "open"
    #: ``close()`` sent our FIN; reading goes on until the peer acknowledged everything.
    CLOSING = "closing"
    #: The peer closed in order while a paused reader holds bytes: they come first, then
    #: the end is reported. The wire is in its draining period.
    DRAINING = "draining"
    #: Over for the application, which was told (or had no handler to tell); the wire
    #: runs its closing or draining period.
    LOST = "lost"
    #: The wire terminated while a paused reader still holds bytes of the peer's orderly
    #: close; the end is reported once they are delivered.
    HOLDING = "holding"
    #: Over on both sides; final.
    TERMINATED = "terminated"

    @property
    def closing(self) -> bool:
        """True from ``close()`` or any end on: writes are ignored, ``is_closing()`` holds."""
        return self not in _NOT_CLOSING

    @property
    def wire_open(self) -> bool:
        """True until a CONNECTION_CLOSE is sent or received (or the wire ends silently)."""
        return self in _WIRE_OPEN

    @property
    def ended(self) -> bool:
        """True once the application was told of the end: nothing more reaches it."""
        return self in _ENDED

    @property
    def terminated(self) -> bool:
        """True once the wire terminated: no more packets, timers or resources."""
        return self in _TERMINATED

    @property
    def holds_end(self) -> bool:
        """True while the end waits for a paused reader to take what is held."""
        return self in _HOLDS_END


class Trigger(enum.Enum):
    """What moves a channel from one phase to the next."""

    #: The handshake completed with ALPN ``yomo``.
    HANDSHAKE_DONE = "handshake done"
    #: ``close()`` queued our FIN on the data stream.
    CLOSE = "close"
    #: The peer ended in order (FIN delivered, or CONNECTION_CLOSE without error) while a
    #: paused reader holds bytes.
    PEER_CLOSED = "peer closed"
    #: The connection ends for the application: an abort, a failure, an error, the peer's
    #: close, a completed or timed-out ``close()``, the held bytes of an orderly end
    #: delivered.
    END = "end"
    #: aioquic reported the connection terminated (its closing or draining period is over,
    #: or it ended at once).
    TERMINATE = "terminate"


_NOT_CLOSING = frozenset({Phase.CONNECTING, Phase.OPEN})
_WIRE_OPEN = frozenset({Phase.CONNECTING, Phase.OPEN, Phase.CLOSING})
_ENDED = frozenset({Phase.LOST, Phase.TERMINATED})
_TERMINATED = frozenset({Phase.HOLDING, Phase.TERMINATED})
_HOLDS_END = frozenset({Phase.DRAINING, Phase.HOLDING})

#: Every allowed move: (phase, trigger) -> next phase. Anything else is a bug.
TRANSITIONS: Mapping[tuple[Phase, Trigger], Phase] = MappingProxyType(
    {
        (Phase.CONNECTING, Trigger.HANDSHAKE_DONE): Phase.OPEN,
        (Phase.CONNECTING, Trigger.END): Phase.LOST,
        (Phase.OPEN, Trigger.CLOSE): Phase.CLOSING,
        (Phase.OPEN, Trigger.PEER_CLOSED): Phase.DRAINING,
        (Phase.OPEN, Trigger.END): Phase.LOST,
        (Phase.CLOSING, Trigger.PEER_CLOSED): Phase.DRAINING,
        (Phase.CLOSING, Trigger.END): Phase.LOST,
        (Phase.DRAINING, Trigger.END): Phase.LOST,
        (Phase.DRAINING, Trigger.TERMINATE): Phase.HOLDING,
        (Phase.HOLDING, Trigger.END): Phase.TERMINATED,
        (Phase.LOST, Trigger.TERMINATE): Phase.TERMINATED,
    }
)

#: Phases no trigger leaves.
FINAL = frozenset(Phase) - {phase for phase, _ in TRANSITIONS}


class LifecycleError(RuntimeError):
    """A move the table does not allow: a bug in the channel, never the peer's doing."""

    def __init__(self, phase: Phase, trigger: Trigger) -> None:
        super().__init__(
            f"internal error: a QUIC channel cannot move on {trigger.name} from {phase.name}"
        )
        self.phase = phase
        self.trigger = trigger


def advance(phase: Phase, trigger: Trigger) -> Phase:
    """The phase ``trigger`` leads to from ``phase``; :class:`LifecycleError` if none."""
    try:
        return TRANSITIONS[phase, trigger]
    except KeyError:
        raise LifecycleError(phase, trigger) from None

"""What the connection state machine reports: one small dataclass per event."""

from __future__ import annotations

from dataclasses import dataclass

from rxyomo.protocol.frames import DataFrame, HandshakeFrame


@dataclass(frozen=True)
class HandshakeReceived:
    """Server side: a client introduced itself; call ``accept()`` or ``reject()``."""

    handshake: HandshakeFrame


@dataclass(frozen=True)
class HandshakeAccepted:
    """Client side: the server acknowledged the handshake; data may flow.

    ``extensions`` are the rxyomo extensions both ends agreed on (none with YoMo's zipper).
    """

    extensions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DataReceived:
    """A Data frame arrived on an open connection."""

    frame: DataFrame


@dataclass(frozen=True)
class ConnectToReceived:
    """The server asks the client to reconnect to another endpoint."""

    endpoint: str


@dataclass(frozen=True)
class ConnectionTerminated:
    """The connection is over; the transport should be closed.

    ``reconnect`` says whether a client may come back (False after Rejected),
    ``by_peer`` whether the peer ended it, ``reason`` is the human message.
    """

    reason: str
    reconnect: bool
    by_peer: bool


Event = (
    HandshakeReceived | HandshakeAccepted | DataReceived | ConnectToReceived | ConnectionTerminated
)

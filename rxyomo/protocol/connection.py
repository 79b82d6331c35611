"""The connection state machine: bytes and time in, events and bytes out.

Nothing here touches a socket, a task or a clock. A transport adapter feeds
received bytes to :meth:`Connection.receive_data`, sends what
:meth:`Connection.data_to_send` returns, and drives time through
:meth:`Connection.next_timer` and :meth:`Connection.handle_timer`; every
``now`` is the caller's monotonic time in seconds.

States, per role (anything not listed raises or terminates the connection):

======================  ===========================  ================================
state                   event                        next state
======================  ===========================  ================================
client AWAITING_ACK     HandshakeAck received        OPEN (HandshakeAccepted)
client AWAITING_ACK     Rejected received            CLOSED (no reconnect)
server AWAITING_HELLO   Handshake received           AWAITING_DECISION (HandshakeReceived)
server AWAITING_DECISION accept() / reject()          OPEN / CLOSED
server AWAITING_DECISION any frame                    held until accept() (max 1024)
either OPEN             Data received                OPEN (DataReceived)
either any              Goaway received, bad frame,  CLOSED (ConnectionTerminated)
                        timeout, close()
======================  ===========================  ================================

rxyomo's extensions (:mod:`rxyomo.protocol.extensions`) are negotiated in the handshake:
a client offers some in its Handshake, the server answers with those it accepts in its
HandshakeAck, and :attr:`Connection.extensions` holds the result once open. Towards a peer
that announced none (YoMo's), nothing outside YoMo's protocol is sent: no heartbeat, and
no Goaway from a client (YoMo's zipper expects only data frames after the handshake).

The heartbeat extension is liveness for transports that have none of their own (TLS over
TCP, in memory; QUIC has PING and its idle timeout): a Data frame with the reserved tag
:data:`HEARTBEAT_TAG` and no payload, sent when nothing else was sent for
``heartbeat_interval``; a peer from which nothing arrived for ``idle_timeout`` is
considered dead.

Delivery is accounted for beside the core, not in it (:mod:`rxyomo.delivery`): sending a
data frame answers where in the byte stream it ends, which the caller's ledger keeps to
tell, from the bytes the peer's transport confirmed, which frames are delivered.

Outcomes never depend on how the transport chunks the bytes: frames pipelined behind a
handshake wait for the decision (``accept()`` returns their events), and bytes that fail
to decode after good frames of the same chunk close the connection at once.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass

from rxyomo.protocol.errors import LocalProtocolError, ProtocolError
from rxyomo.protocol.events import (
    ConnectionTerminated,
    ConnectToReceived,
    DataReceived,
    Event,
    HandshakeAccepted,
    HandshakeReceived,
)
from rxyomo.protocol.extensions import HEARTBEAT
from rxyomo.protocol.frames import (
    ConnectToFrame,
    DataFrame,
    Frame,
    FrameDecoder,
    FrameError,
    FrameTooLargeError,
    GoawayFrame,
    HandshakeAckFrame,
    HandshakeFrame,
    RejectedFrame,
    encode_frame,
)
from rxyomo.protocol.reserved import HEARTBEAT_TAG

_HEARTBEAT = encode_frame(DataFrame(tag=HEARTBEAT_TAG, payload=b""))
#: Frames a client may pipeline behind its handshake before the server has answered it.
MAX_HELD_FRAMES = 1024


def _decode_failure(exc: FrameError) -> str:
    """The reason a connection closes on bytes that do not decode."""
    if isinstance(exc, FrameTooLargeError):
        return f"frame too large: {exc}"
    return f"malformed frame: {exc}"


class Role(enum.Enum):
    """Which end of the connection this state machine plays."""

    CLIENT = "client"
    SERVER = "server"


class ConnectionState(enum.Enum):
    """Where a connection is in its life; see the module's table."""

    AWAITING_HELLO = "awaiting handshake"
    AWAITING_ACK = "awaiting handshake ack"
    AWAITING_DECISION = "awaiting accept or reject"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class ConnectionConfig:
    """Limits and timers of one connection (seconds and bytes).

    ``heartbeat_interval`` and ``idle_timeout`` apply only when both ends agreed on the
    heartbeat extension.
    """

    max_frame_size: int = 16 * 1024 * 1024
    handshake_timeout: float = 10.0
    heartbeat_interval: float = 2.0
    idle_timeout: float = 6.0

    def __post_init__(self) -> None:
        if self.max_frame_size <= 0:
            raise ValueError(f"max_frame_size must be positive, got {self.max_frame_size}")
        for name in ("handshake_timeout", "heartbeat_interval", "idle_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.idle_timeout <= self.heartbeat_interval:
            raise ValueError(
                "idle_timeout must exceed heartbeat_interval, or a healthy peer expires: "
                f"{self.idle_timeout} <= {self.heartbeat_interval}"
            )


class Connection:
    """One end of a YoMo connection, as a pure state machine."""

    def __init__(self, role: Role, now: float, config: ConnectionConfig | None = None) -> None:
        self.role = role
        self.config = config or ConnectionConfig()
        self._decoder = FrameDecoder(max_frame_size=self.config.max_frame_size)
        self._out: list[bytes] = []
        self._events: list[Event] = []
        self._started = now
        self._last_received = now
        self._last_sent = now
        self.state = (
            ConnectionState.AWAITING_HELLO if role is Role.SERVER else ConnectionState.AWAITING_ACK
        )
        self._hello_sent = False
        # Frames that arrived behind the handshake, until accept() or reject().
        self._held: list[Frame] = []
        #: Bytes queued for the transport since the connection began.
        self.bytes_queued = 0
        #: Data frames that arrived once this end had closed (or behind a rejected
        #: handshake) and were dropped unread: the peer's transport counts them delivered,
        #: so the caller must count them here.
        self.frames_discarded = 0
        #: The handshake: this end's (client side) or the peer's (server side), once known.
        self.handshake: HandshakeFrame | None = None
        #: The extensions both ends agreed on; empty until the connection is open.
        self.extensions: frozenset[str] = frozenset()
        #: Whether the peer announced rxyomo's extensions field (it is an rxyomo peer).
        #: False until its Handshake (server side) or HandshakeAck (client side) arrived.
        self.peer_is_rxyomo = False
        #: Why the connection closed, once it has.
        self.close_reason: str | None = None
        #: The connection closed because the peer fell silent for ``idle_timeout``. Its
        #: transport should then be aborted, not closed gracefully: a graceful close would
        #: go on exchanging data with a peer that comes back (after a partition), whose
        #: frames this end discards though its transport acknowledges them, and whose
        #: writer already counted the frames in flight to this end as lost.
        self.peer_expired = False

    @property
    def is_closed(self) -> bool:
        """True once the connection ended, by either side."""
        return self.state is ConnectionState.CLOSED

    # -- sending ----------------------------------------------------------------

    def send_handshake(self, handshake: HandshakeFrame, now: float) -> None:
        """Client: introduce this end; must be the first thing sent."""
        if self.role is not Role.CLIENT or self._hello_sent:
            raise LocalProtocolError(f"cannot send a handshake in state {self.state.value}")
        self._hello_sent = True
        self.handshake = handshake
        self._started = now
        self._queue(encode_frame(handshake), now)

    def accept(self, now: float, extensions: frozenset[str] = frozenset()) -> list[Event]:
        """Server: answer the pending handshake with HandshakeAck.

        ``extensions`` are those this end supports: the ones the client offered too are
        agreed on and named in the HandshakeAck (which names nothing for a client that
        offered nothing, as YoMo's zipper's). Returns the events of frames the client
        pipelined behind its handshake.
        """
        self._require(ConnectionState.AWAITING_DECISION, "accept")
        assert self.handshake is not None
        self.state = ConnectionState.OPEN
        offered = self.handshake.extensions
        self.extensions = frozenset() if offered is None else offered & extensions
        ack = HandshakeAckFrame(self.extensions if self.peer_is_rxyomo else None)
        self._queue(encode_frame(ack), now)
        held, self._held = self._held, []
        self._handle_frames(held, now)
        self._check_decoder(now)
        return self._drain_events()

    def reject(self, message: str, now: float) -> list[Event]:
        """Server: refuse the pending handshake; the client will not come back."""
        self._require(ConnectionState.AWAITING_DECISION, "reject")
        self._discard(self._held)
        self._queue(encode_frame(RejectedFrame(message=message)), now)
        self._terminate(message, reconnect=False, by_peer=False)
        return self._drain_events()

    def send_data(self, frame: DataFrame, now: float) -> int:
        """Send a Data frame on an open connection; returns where it ends in the byte
        stream (:attr:`bytes_queued` after it), which the delivery ledger keeps."""
        self._require(ConnectionState.OPEN, "send data")
        self._queue(encode_frame(frame), now)
        return self.bytes_queued

    def send_encoded(self, encoded_frame: bytes, now: float) -> int:
        """Send an already encoded Data frame (the zipper fans one encoding out); returns
        where it ends, as :meth:`send_data`."""
        self._require(ConnectionState.OPEN, "send data")
        self._queue(encoded_frame, now)
        return self.bytes_queued

    def send_control(self, frame: DataFrame, now: float) -> None:
        """Send a Data frame on a reserved tag outside the delivery ledger (receipts and
        stats: frames about delivery are not themselves accounted)."""
        self._require(ConnectionState.OPEN, "send a control frame")
        self._queue(encode_frame(frame), now)

    def connect_to(self, endpoint: str, now: float) -> None:
        """Server: ask the client to move to another endpoint."""
        self._require(ConnectionState.OPEN, "send connect-to")
        self._queue(encode_frame(ConnectToFrame(endpoint=endpoint)), now)

    def close(self, message: str, now: float, *, reject: bool = False) -> None:
        """End the connection with Goaway (or Rejected) carrying ``message``.

        The Goaway goes only to an rxyomo peer: YoMo's zipper logs a client's as an
        unexpected frame, and YoMo's clients stop for good on one; their transport's
        close says enough. Rejected is YoMo's own answer to a handshake and always sent.
        """
        if self.state is ConnectionState.CLOSED:
            return
        if reject:
            self._queue(encode_frame(RejectedFrame(message)), now)
        elif self.peer_is_rxyomo:
            self._queue(encode_frame(GoawayFrame(message)), now)
        self._terminate(message, reconnect=not reject, by_peer=False)

    def data_to_send(self) -> bytes:
        """Everything queued for the transport since the last call."""
        if not self._out:
            return b""
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        return data

    # -- receiving --------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes from the transport; returns what happened, in order."""
        if self.state is ConnectionState.CLOSED:
            # The peer may not have heard of the close yet: what it sent meanwhile is
            # counted, not lost silently.
            with contextlib.suppress(FrameError):
                self._discard(self._decoder.feed(data))
            return self._drain_events()
        self._last_received = now
        try:
            frames = self._decoder.feed(data)
        except FrameError as exc:
            self.close(_decode_failure(exc), now)
            return self._drain_events()
        self._handle_frames(frames, now)
        if frames:
            self._check_decoder(now)
        return self._drain_events()

    def connection_lost(self, reason: str) -> list[Event]:
        """The transport went away without a closing frame."""
        if self.state is not ConnectionState.CLOSED:
            self._terminate(reason, reconnect=True, by_peer=True)
        return self._drain_events()

    # -- time -------------------------------------------------------------------

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or None."""
        cfg = self.config
        if self.state is ConnectionState.CLOSED:
            return None
        if self.state is not ConnectionState.OPEN:
            return self._started + cfg.handshake_timeout
        if HEARTBEAT not in self.extensions:
            return None
        return min(self._last_sent + cfg.heartbeat_interval, self._last_received + cfg.idle_timeout)

    def handle_timer(self, now: float) -> list[Event]:
        """Run expired timers: handshake timeout, heartbeat, idle expiry."""
        cfg = self.config
        if self.state in (ConnectionState.AWAITING_HELLO, ConnectionState.AWAITING_ACK):
            if now >= self._started + cfg.handshake_timeout:
                self.close(f"handshake timed out after {cfg.handshake_timeout:g} s", now)
        elif self.state is ConnectionState.AWAITING_DECISION:
            if now >= self._started + cfg.handshake_timeout:
                self.close("handshake was not answered in time", now)
        elif self.state is ConnectionState.OPEN and HEARTBEAT in self.extensions:
            if now >= self._last_received + cfg.idle_timeout:
                # The peer is gone; a Goaway is queued in case it is merely slow.
                self.peer_expired = True
                self.close(f"no heartbeat from the peer for {cfg.idle_timeout:g} s", now)
            elif now >= self._last_sent + cfg.heartbeat_interval:
                self._queue(_HEARTBEAT, now)
        return self._drain_events()

    # -- internals --------------------------------------------------------------

    def _check_decoder(self, now: float) -> None:
        # The decoder hands out the good frames of a chunk first and keeps an error that
        # followed them for the next feed: close once they are handled, not when (or if)
        # more bytes come.
        if self.state not in (ConnectionState.CLOSED, ConnectionState.AWAITING_DECISION):
            try:
                self._decoder.feed(b"")
            except FrameError as exc:
                self.close(_decode_failure(exc), now)

    def _handle_frames(self, frames: list[Frame], now: float) -> None:
        for index, frame in enumerate(frames):
            if self.state is ConnectionState.AWAITING_DECISION:
                # The decision comes from outside: what follows the handshake waits for it.
                self._held.extend(frames[index:])
                if len(self._held) > MAX_HELD_FRAMES:
                    self.close(
                        f"more than {MAX_HELD_FRAMES} frames before the handshake was answered",
                        now,
                    )
                return
            try:
                self._handle_frame(frame, now)
            except ProtocolError as exc:
                self.close(exc.message, now, reject=exc.reject)
            if self.is_closed:
                return

    def _handle_frame(self, frame: Frame, now: float) -> None:
        if isinstance(frame, DataFrame):
            if self.state is not ConnectionState.OPEN:
                raise ProtocolError(
                    f"data frame before the handshake completed ({self.state.value})"
                )
            if frame.tag != HEARTBEAT_TAG or HEARTBEAT not in self.extensions:
                self._events.append(DataReceived(frame))
        elif isinstance(frame, HandshakeFrame):
            if self.role is not Role.SERVER or self.state is not ConnectionState.AWAITING_HELLO:
                raise ProtocolError(f"unexpected handshake in state {self.state.value}")
            self.handshake = frame
            self.peer_is_rxyomo = frame.extensions is not None
            self.state = ConnectionState.AWAITING_DECISION
            self._events.append(HandshakeReceived(frame))
        elif isinstance(frame, HandshakeAckFrame):
            if self.role is not Role.CLIENT or self.state is not ConnectionState.AWAITING_ACK:
                raise ProtocolError(f"unexpected handshake ack in state {self.state.value}")
            self.state = ConnectionState.OPEN
            self._last_received = now
            self.peer_is_rxyomo = frame.extensions is not None
            offered = self.handshake.extensions if self.handshake is not None else None
            if frame.extensions is not None and offered is not None:
                # Only what this end offered: a server cannot impose an extension.
                self.extensions = frame.extensions & offered
            self._events.append(HandshakeAccepted(self.extensions))
        elif isinstance(frame, RejectedFrame):
            self._terminate(frame.message or "rejected", reconnect=False, by_peer=True)
        elif isinstance(frame, GoawayFrame):
            self._terminate(frame.message or "goaway", reconnect=True, by_peer=True)
        elif isinstance(frame, ConnectToFrame):
            if self.role is not Role.CLIENT:
                raise ProtocolError("a client cannot send connect-to")
            self._events.append(ConnectToReceived(frame.endpoint))

    def _queue(self, data: bytes, now: float) -> None:
        self._out.append(data)
        self.bytes_queued += len(data)
        self._last_sent = now

    def _require(self, state: ConnectionState, action: str) -> None:
        if self.state is not state:
            raise LocalProtocolError(f"cannot {action} in state {self.state.value}")

    def _discard(self, frames: list[Frame]) -> None:
        for frame in frames:
            if isinstance(frame, DataFrame) and not (
                frame.tag == HEARTBEAT_TAG and HEARTBEAT in self.extensions
            ):
                self.frames_discarded += 1
        if frames is self._held:
            self._held = []

    def _terminate(self, reason: str, *, reconnect: bool, by_peer: bool) -> None:
        self.state = ConnectionState.CLOSED
        self._discard(self._held)
        self.close_reason = reason
        self._events.append(ConnectionTerminated(reason, reconnect=reconnect, by_peer=by_peer))

    def _drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

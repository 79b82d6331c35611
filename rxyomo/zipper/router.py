"""The zipper's live connections and what flows between them.

The :class:`Router` is what every :class:`~rxyomo.zipper.peer.Peer` reports to (its
:class:`~rxyomo.zipper.peer.PeerOwner`): it routes each data frame to the connections and
mesh links the routing table names, answers stats requests, pauses senders for slow
destinations as :class:`~rxyomo.delivery.backpressure.BackPressure` says, and has the
receipts sent. Functions the zipper serves itself
(:class:`~rxyomo.zipper.local.LocalFunction`) are routed to and from like connections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgpack

from rxyomo._throttle import ThrottledLog
from rxyomo.delivery.backpressure import BackPressure
from rxyomo.delivery.settlement import Ticket
from rxyomo.observe.hooks import RouterObserver
from rxyomo.protocol.events import Event, HandshakeReceived
from rxyomo.protocol.extensions import STATS
from rxyomo.protocol.frames import (
    ClientType,
    DataFrame,
    HandshakeFrame,
    encode_frame,
    is_reserved_tag,
)
from rxyomo.protocol.metadata import TARGET, MetadataError, decode_metadata
from rxyomo.protocol.receipts import no_observer
from rxyomo.protocol.reserved import BROADCAST, STATS_TAG
from rxyomo.zipper.admission import Gatekeeper
from rxyomo.zipper.local import LocalFunction
from rxyomo.zipper.mesh import MeshLink
from rxyomo.zipper.peer import Peer
from rxyomo.zipper.receipts import ReceiptTimer
from rxyomo.zipper.routing import RoutingTable
from rxyomo.zipper.stats import ZipperStats
from rxyomo.zipper.workflow import Workflow

__all__ = ["Router"]

log = logging.getLogger("rxyomo.zipper")

# Metadata keys the router acts on, as msgpack carries them (raw UTF-8).
_TARGET_KEY = TARGET.encode()
_BROADCAST_KEY = BROADCAST.encode()

#: What frames come from and go to: a connection, or a function the zipper serves.
Connected = Peer | LocalFunction
#: Answers a request on the stats tag that carries a payload (a control request).
Control = Callable[[Peer, bytes], None]


class Router:
    """Routes data frames between a zipper's connections and its mesh links."""

    def __init__(
        self,
        workflow: Workflow,
        extensions: frozenset[str],
        snapshot: Callable[[], dict[str, Any]],
        control: Control | None = None,
    ) -> None:
        self.routing = RoutingTable(workflow)
        self.stats = ZipperStats()
        #: The connections taken in, by connection id.
        self.peers: dict[int, Peer] = {}
        #: The functions the zipper serves itself, by connection id.
        self.local: dict[int, LocalFunction] = {}
        #: Which senders are held paused for which slow destinations.
        self.pressure = BackPressure()
        #: The links to the other zippers of the mesh (the zipper adds them).
        self.mesh: list[MeshLink] = []
        self.receipts = ReceiptTimer()
        self.gate = Gatekeeper(workflow, self.routing, self.stats, self.peers, extensions)
        self._snapshot = snapshot
        self._control = control
        #: Peers with frames queued during the current batch of input.
        self._unflushed: set[Peer] = set()
        # Warnings any client can provoke at will: logged at a bounded rate.
        self._warn = ThrottledLog(log)
        #: Metrics and traces of what is routed (:mod:`rxyomo.observe.zipper`), if on.
        self.observer: RouterObserver | None = None

    # what peers report (PeerOwner)

    def arrived(self, peer: Peer) -> str | None:
        """Take a new connection in, unless the zipper is full: then why not."""
        refusal = self.gate.arrived()
        if refusal is None:
            self.peers[peer.conn_id] = peer
        return refusal

    def handshake(self, peer: Peer, event: HandshakeReceived) -> list[Event]:
        """Accept or reject ``peer``'s handshake; the core's events."""
        return self.gate.handshake(peer, event)

    def data(self, peer: Peer, frame: DataFrame) -> None:
        """Route a data frame from ``peer``, with a ticket when it asked for receipts."""
        settlement = peer.settlement
        if settlement is None:
            self._route(peer, frame, None)
        else:
            ticket = settlement.arrive()
            try:
                self._route(peer, frame, ticket)
            finally:
                ticket.placed()
            self.receipts.pending(peer)
        if self.observer is not None:
            self.observer.finished()

    def queued(self, peer: Peer) -> None:
        """``peer`` has frames to flush at the end of the current input."""
        self._unflushed.add(peer)

    def input_handled(self) -> None:
        """Flush every destination of the input just handled (one write each), and have
        the receipts it makes due sent soon."""
        while self._unflushed:
            self._unflushed.pop().flush()
        self.receipts.soon()

    def released(self, *, now: bool = False) -> None:
        """Tickets were released: receipts are sent soon, or ``now``."""
        if now:
            self.receipts.now()
        else:
            self.receipts.soon()

    def congested(self, peer: Connected) -> None:
        """``peer`` is a slow destination: senders routing to it will be paused."""
        self.pressure.congested(peer.conn_id)

    def drained(self, peer: Connected) -> None:
        """``peer`` drained: resume the senders it alone held paused."""
        self._resume(self.pressure.drained(peer.conn_id))

    def gone(self, peer: Peer) -> None:
        """Forget ``peer`` (closed or lost), and release any sender it held paused."""
        if self.peers.pop(peer.conn_id, None) is None:
            return
        self.routing.remove(peer.conn_id)
        if self.stats.connections.pop(peer.conn_id, None) is not None:
            self.stats.closed += 1
        if self.observer is not None:
            self.observer.gone(peer)
        self._resume(self.pressure.forget(peer.conn_id))

    def close(self) -> None:
        """Stop the receipts' timer (the zipper is closing)."""
        self.receipts.close()

    # functions the zipper serves (FunctionOwner)

    def serve(self, function: LocalFunction) -> None:
        """Route to ``function`` from now on, as to a stream function of its name."""
        handshake = HandshakeFrame(
            name=function.name,
            client_type=ClientType.STREAM_FUNCTION,
            observed_data_tags=function.runner.observe,
        )
        admission = self.routing.admit(function.conn_id, handshake, local=True)
        if not admission.accepted:
            raise ValueError(admission.reason)
        self.local[function.conn_id] = function

    def unserve(self, function: LocalFunction) -> None:
        """Route to ``function`` no more; release the senders it held paused."""
        if self.local.pop(function.conn_id, None) is not None:
            self.routing.remove(function.conn_id)
            self._resume(self.pressure.forget(function.conn_id))

    def answered(self, function: LocalFunction, frame: DataFrame) -> None:
        """Route an answer of a served function on, as a stream function's."""
        self._route(function, frame, None)
        if self.observer is not None:
            self.observer.finished()  # its span, if it is traced

    def dropped(self, reason: str, ticket: Ticket | None) -> None:
        """Count a frame a served function could not take."""
        self._drop(reason, ticket)

    # routing

    def _route(self, peer: Connected, frame: DataFrame, ticket: Ticket | None) -> None:
        if is_reserved_tag(frame.tag):
            # Control frames (receipts, stats requests) are not traffic.
            if isinstance(peer, Peer):
                self._on_reserved(peer, frame, ticket)
            else:
                self._drop("reserved tag", ticket)
            return
        size = len(frame.payload)
        peer.stats.frames_in += 1
        peer.stats.bytes_in += size
        observer = self.observer
        if observer is not None:
            frame = observer.arrived(peer, frame, size)  # counted, and traced if it is
        target, broadcast = "", False
        metadata = frame.metadata
        # Only routing keys matter here: most frames carry none, and skip the decode.
        if metadata and (_TARGET_KEY in metadata or _BROADCAST_KEY in metadata):
            try:
                meta = decode_metadata(frame.metadata)
            except MetadataError as exc:
                self._drop("bad metadata", ticket)
                self._warn.warning(
                    "bad metadata",
                    "dropped a frame from %s: bad metadata: %s",
                    peer.stats.name,
                    exc,
                )
                return
            target = meta.get(TARGET, "")
            broadcast = meta.get(BROADCAST, "") == "1"
        route = self.routing.route(
            peer.conn_id,
            frame.tag,
            target=target,
            broadcast=broadcast,
            congested=lambda c: (
                self.pressure.is_congested(c) if c in self.peers or c in self.local else True
            ),
        )
        if not route.connections and not (route.to_mesh and self.mesh):
            self._drop(no_observer(frame.tag), ticket)
            return
        # Encoded once, and only for a connection or the mesh: a served function takes the
        # frame as it is.
        encoded: bytes | None = None
        for conn_id in route.connections:
            dest: Connected | None = self.peers.get(conn_id) or self.local.get(conn_id)
            if dest is None or not dest.is_open:
                self._drop("destination closed", ticket)
                continue
            if isinstance(dest, LocalFunction):
                dest.deliver(frame, ticket)
            else:
                if encoded is None:
                    encoded = encode_frame(frame)
                dest.send(encoded, size, ticket)
            if observer is not None:
                observer.sent(dest, frame.tag, size)
            if self.pressure.routed(peer.conn_id, conn_id):
                # The destination is slow: stop reading from this sender until
                # it drains, so memory stays bounded instead of queueing more.
                peer.pause_reading()
                if observer is not None:
                    observer.paused(peer)
        if route.to_mesh and self.mesh:
            if encoded is None:
                encoded = encode_frame(frame)
            for link in self.mesh:
                link.forward(encoded, ticket)
            if observer is not None and self.mesh:
                observer.forwarded(frame.tag, size, len(self.mesh))

    def _on_reserved(self, peer: Peer, frame: DataFrame, ticket: Ticket | None) -> None:
        if frame.tag == STATS_TAG and STATS in peer.core.extensions:
            if not peer.is_open:
                # Later bytes of the same chunk already closed the connection.
                self._drop("stats request on a closed connection", ticket)
                return
            if frame.payload and self._control is not None:
                self._control(peer, bytes(frame.payload))  # answers later, on the same tag
                return
            payload = msgpack.packb(self._snapshot())
            peer.send_control(DataFrame(tag=STATS_TAG, payload=payload), len(payload))
        else:
            self._drop("reserved tag", ticket)

    def _drop(self, reason: str, ticket: Ticket | None) -> None:
        """Count one frame dropped; its receipt (if its writer asked) will say why."""
        self.stats.drop(reason)
        if ticket is not None:
            ticket.mark(reason)

    def _resume(self, senders: list[int]) -> None:
        for conn_id in senders:
            sender: Connected | None = self.peers.get(conn_id) or self.local.get(conn_id)
            if sender is not None:
                sender.resume_reading()
                if self.observer is not None:
                    self.observer.resumed(sender)

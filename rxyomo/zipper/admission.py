"""Who gets in: the zipper's connection limit, credentials, and the routing table's say
on each client's handshake."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from rxyomo._throttle import ThrottledLog
from rxyomo.protocol.auth import check_credential
from rxyomo.protocol.events import Event, HandshakeReceived
from rxyomo.zipper.peer import Peer
from rxyomo.zipper.routing import RoutingTable
from rxyomo.zipper.stats import ZipperStats
from rxyomo.zipper.workflow import Workflow

__all__ = ["Gatekeeper"]

log = logging.getLogger("rxyomo.zipper")


class Gatekeeper:
    """Admits connections and their handshakes into the zipper's ``peers``.

    A connection beyond ``max_connections`` is turned away once its handshake tells
    whether it takes a Goaway; a handshake with a bad credential, or one the routing
    table refuses, is rejected; an admitted instance may replace older ones.
    """

    def __init__(
        self,
        workflow: Workflow,
        routing: RoutingTable,
        stats: ZipperStats,
        peers: Mapping[int, Peer],
        extensions: frozenset[str],
    ) -> None:
        self.workflow = workflow
        self.routing = routing
        self.stats = stats
        self.peers = peers
        #: The rxyomo extensions clients may agree to.
        self.extensions = extensions
        # Rejections any client can provoke at will: logged at a bounded rate.
        self._warn = ThrottledLog(log)

    def arrived(self) -> str | None:
        """A connection arrived: None if there is room for it, or why it is turned away."""
        if len(self.peers) < self.workflow.limits.max_connections:
            return None
        self.stats.drop("connection refused: max connections")
        return "too many connections, try again later"

    def handshake(self, peer: Peer, event: HandshakeReceived) -> list[Event]:
        """Accept or reject ``peer``'s handshake; the core's events."""
        hs = event.handshake
        problem = check_credential(self.workflow.auth_token, hs)
        admission = self.routing.admit(peer.conn_id, hs) if problem is None else None
        if admission is None or not admission.accepted:
            reason = problem or (admission.reason if admission else "rejected")
            self._warn.warning(
                "rejected", "rejected %r from %s: %s", hs.name, peer.stats.peer, reason
            )
            self.stats.rejected += 1
            return peer.reject(reason)
        for old in admission.replaced:
            replaced = self.peers.get(old)
            if replaced is not None:
                replaced.close(f"replaced by a newer instance of {hs.name!r}")
        peer.stats.name = hs.name
        self.stats.accepted += 1
        self.stats.connections[peer.conn_id] = peer.stats
        events = peer.accept(self.extensions)
        log.info(
            "accepted %r (type 0x%02X, observes %s) from %s, %s",
            hs.name,
            hs.client_type,
            [hex(t) for t in hs.observed_data_tags],
            peer.stats.peer,
            f"rxyomo extensions {sorted(peer.core.extensions)}"
            if peer.core.peer_is_rxyomo
            else "no rxyomo extensions",
        )
        return events

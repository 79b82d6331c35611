"""Forwarding data frames to the other zippers of a mesh.

Every zipper dials every peer listed under ``mesh:`` and forwards the data
frames that arose locally (from its own sources and functions) over those
outgoing links. A frame that arrived from another zipper is routed locally and
never forwarded again, so in a full mesh each frame crosses at most one hop:
no loops, and no zipper sees a frame twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rxyomo.client import ZipperClient
from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.relay import Relay
from rxyomo.delivery.settlement import Ticket
from rxyomo.protocol.frames import ClientType
from rxyomo.transport import format_address
from rxyomo.zipper.stats import ZipperStats
from rxyomo.zipper.workflow import MeshPeer

log = logging.getLogger("rxyomo.mesh")


class MeshLink(ZipperClient):
    """This zipper's connection to one peer zipper."""

    client_type = ClientType.UPSTREAM_ZIPPER

    def __init__(
        self,
        zipper_name: str,
        peer: MeshPeer,
        stats: ZipperStats,
        *,
        on_release: Callable[[], None] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            zipper_name,
            zipper=format_address((peer.host, peer.port)),
            credential=peer.credential,
            # A frame forwarded here is settled for its writer once the peer passed it on.
            receipts=True,
            **kwargs,
        )
        self.peer = peer
        self.stats = stats
        # Told after tickets were released here, so that the zipper sends their receipts.
        self._on_release = on_release
        # What the peer's verdicts mean for the tickets of the frames forwarded to it.
        self._relay = Relay(peer.name)
        self.forwarded = 0

    def forward(self, encoded_frame: bytes, ticket: Ticket | None = None) -> None:
        """Send one encoded data frame to the peer, or count it as dropped.

        ``ticket`` (the frame's, when its writer asked for receipts) is held until the
        peer zipper's receipt confirms the frame, or the frame is counted as dropped.
        """
        if not self.send_encoded_now(encoded_frame, ticket):
            reason = self._relay.unreachable()
            self.stats.drop(reason)
            if ticket is not None:
                ticket.mark(reason)
            return
        if ticket is not None:
            ticket.hold()
        self.forwarded += 1

    def on_outcome(self, outcome: Outcome[object]) -> None:
        """Settle the forwarded frames' tickets as the peer's verdicts say, and count."""
        relayed = self._relay.settle(outcome)
        super().on_outcome(relayed.outcome)
        for reason, count in relayed.drops.items():
            self.stats.drop(reason, count)
        self._on_release()

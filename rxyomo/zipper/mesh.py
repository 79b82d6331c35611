"""Forwarding data frames to the other zippers of a mesh.

Every zipper dials every peer listed under ``mesh:`` and forwards the data
frames that arose locally (from its own sources and functions) over those
outgoing links. A frame that arrived from another zipper is routed locally and
never forwarded again, so in a full mesh each frame crosses at most one hop:
no loops, and no zipper sees a frame twice.
"""

from __future__ import annotations

import logging
from typing import Any

from rxyomo.client._client import ZipperClient
from rxyomo.protocol.connection import ConnectionState
from rxyomo.protocol.frames import ClientType
from rxyomo.protocol.receipts import Ticket, is_no_observer, release
from rxyomo.zipper.stats import ZipperStats
from rxyomo.zipper.workflow import MeshPeer

log = logging.getLogger("rxyomo.mesh")


class MeshLink(ZipperClient):
    """This zipper's connection to one peer zipper."""

    client_type = ClientType.UPSTREAM_ZIPPER
    _tracks_keys = True

    def __init__(self, zipper_name: str, peer: MeshPeer, stats: ZipperStats, **kwargs: Any) -> None:
        super().__init__(
            zipper_name,
            zipper=f"[{peer.host}]:{peer.port}" if ":" in peer.host else f"{peer.host}:{peer.port}",
            credential=peer.credential,
            # A frame forwarded here is settled for its writer once the peer passed it on.
            receipts=True,
            **kwargs,
        )
        self.peer = peer
        self.stats = stats
        self.forwarded = 0

    def forward(self, encoded_frame: bytes, ticket: Ticket | None = None) -> None:
        """Send one encoded data frame to the peer, or count it as dropped.

        ``ticket`` (the frame's, when its writer asked for receipts) is held until the
        peer zipper's receipt confirms the frame, or the frame is counted as dropped.
        """
        link = self._link
        if link is None or link.core.state is not ConnectionState.OPEN:
            reason = f"mesh peer {self.peer.name} unreachable"
            self.stats.drop(reason)
            if ticket is not None:
                ticket.mark(reason)
            return
        if ticket is not None:
            ticket.hold()
        link.send_encoded(encoded_frame, ticket)
        self.forwarded += 1

    def _on_confirmed(self, key: object) -> None:
        release(key)

    def _on_unconfirmed(self, reason: str, keys: list[object]) -> None:
        super()._on_unconfirmed(reason, keys)
        reason = f"mesh peer {self.peer.name}: {reason}"
        self.stats.drop(reason, len(keys))
        for key in keys:  # counted: settled as dropped for their writers
            release(key, reason)

    def _on_dropped_by_zipper(self, reason: str, keys: list[object]) -> None:
        if is_no_observer(reason):
            # Every zipper gets every frame; most observe only some. Not a loss unless
            # nowhere observed it, which the frame's ticket tells once all have answered.
            self.delivery.confirmed += len(keys)
            for key in keys:
                if isinstance(key, Ticket):
                    key.pass_over(f"{reason} anywhere in the mesh")
            return
        # The peer counted these itself: pass the verdict on to their writers.
        super()._on_dropped_by_zipper(reason, keys)
        for key in keys:
            release(key, f"at mesh peer {self.peer.name}: {reason}")

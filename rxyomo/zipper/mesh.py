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
from rxyomo.delivery.link import Outcome
from rxyomo.delivery.settlement import Ticket, release
from rxyomo.protocol.frames import ClientType
from rxyomo.protocol.receipts import is_no_observer
from rxyomo.transport import format_address
from rxyomo.zipper.stats import ZipperStats
from rxyomo.zipper.workflow import MeshPeer

log = logging.getLogger("rxyomo.mesh")


class MeshLink(ZipperClient):
    """This zipper's connection to one peer zipper."""

    client_type = ClientType.UPSTREAM_ZIPPER
    _tracks_keys = True

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
        self.forwarded = 0

    def forward(self, encoded_frame: bytes, ticket: Ticket | None = None) -> None:
        """Send one encoded data frame to the peer, or count it as dropped.

        ``ticket`` (the frame's, when its writer asked for receipts) is held until the
        peer zipper's receipt confirms the frame, or the frame is counted as dropped.
        """
        if not self.send_encoded_now(encoded_frame, ticket):
            reason = f"mesh peer {self.peer.name} unreachable"
            self.stats.drop(reason)
            if ticket is not None:
                ticket.mark(reason)
            return
        if ticket is not None:
            ticket.hold()
        self.forwarded += 1

    def _on_confirmed(self, key: object) -> None:
        release(key)

    def _count(self, outcome: Outcome[object]) -> None:
        super()._count(outcome)
        self._on_release()

    def _on_unconfirmed(self, reason: str, keys: list[object], *, dropped: bool) -> None:
        super()._on_unconfirmed(reason, keys, dropped=dropped)
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

"""Reserved data tags and metadata keys rxyomo adds to YoMo's protocol.

YoMo reserves data tags 0xF000-0xFFFF (see :func:`rxyomo.protocol.frames.is_reserved_tag`)
for the system; the zipper never routes them to user functions. They travel only between
rxyomo peers that agreed on the extension using them (:mod:`rxyomo.protocol.extensions`):
YoMo's zipper closes a connection that writes one, and YoMo's clients would hand them to
the user's handler.
"""

from __future__ import annotations

#: A client sends an empty frame with this tag; the zipper answers with its stats.
STATS_TAG = 0xF001
#: Delivery receipts, agreed on in the handshake: the zipper sends counts on this tag
#: (see :mod:`rxyomo.protocol.receipts`).
RECEIPT_TAG = 0xF002
#: Heartbeats: empty frames sent when a connection is otherwise quiet.
HEARTBEAT_TAG = 0xFFFE
#: Metadata key: "1" delivers a frame to every instance of each observing function.
BROADCAST = "rxyomo-broadcast"

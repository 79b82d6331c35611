"""Reserved data tags and metadata keys rxyomo adds to YoMo's protocol.

YoMo reserves data tags 0xF000-0xFFFF (see :func:`rxyomo.protocol.frames.is_reserved_tag`)
for the system; the zipper never routes them to user functions, so using them
keeps the wire format YoMo's own.
"""

from __future__ import annotations

#: A client sends an empty frame with this tag; the zipper answers with its stats.
STATS_TAG = 0xF001
#: Delivery receipts: a client sends an empty frame with this tag to ask for them; the
#: zipper then answers with this tag and a count (see :mod:`rxyomo.protocol.receipts`).
RECEIPT_TAG = 0xF002
#: Heartbeats: empty frames sent when a connection is otherwise quiet.
HEARTBEAT_TAG = 0xFFFE
#: Metadata key: "1" delivers a frame to every instance of each observing function.
BROADCAST = "rxyomo-broadcast"

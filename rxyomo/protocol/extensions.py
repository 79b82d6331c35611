"""rxyomo's extensions to YoMo's protocol, and how two rxyomo peers find each other out.

YoMo peers must never see them: YoMo's zipper closes a connection that writes a reserved
data tag, and YoMo's clients hand every data frame, reserved or not, to the user's
handler. So an extension is used only between peers that both announced it:

- A client lists the extensions it offers in its Handshake, under field key
  :data:`FIELD_KEY`, as comma-separated names. YoMo's zipper decodes a handshake's fields
  by key and ignores keys it does not know.
- A zipper that understands the field answers with the ones it accepts in its
  HandshakeAck, under the same key; it adds the field only for a client that offered
  extensions, so a YoMo client gets YoMo's own empty HandshakeAck. A HandshakeAck
  without the field (YoMo's zipper) means no extension at all.

The field's presence, even empty, marks the peer as rxyomo; that alone permits frames
YoMo would log as unexpected (a client's Goaway when it closes).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ALL",
    "FIELD_KEY",
    "HEARTBEAT",
    "RECEIPTS",
    "STATS",
    "decode_extensions",
    "encode_extensions",
]

#: The Handshake and HandshakeAck field that carries the extensions (YoMo's own fields
#: use keys 0x01-0x09; a y3 field key is six bits).
FIELD_KEY = 0x30

#: Delivery receipts on the reserved tag 0xF002 (:mod:`rxyomo.protocol.receipts`).
RECEIPTS = "receipts"
#: Liveness by empty data frames on the reserved tag 0xFFFE, for transports without a
#: liveness mechanism of their own (TLS over TCP, in memory); QUIC uses PING instead.
HEARTBEAT = "heartbeat"
#: The zipper answers a frame on the reserved tag 0xF001 with its counters.
STATS = "stats"
#: Every extension this implementation speaks.
ALL = frozenset({RECEIPTS, HEARTBEAT, STATS})

_MAX_NAMES = 32


def encode_extensions(names: Iterable[str]) -> bytes:
    """The field's value for ``names`` (sorted, so the bytes do not depend on order)."""
    ordered = sorted(set(names))
    for name in ordered:
        if not name or not name.isascii() or "," in name or not name.isprintable():
            raise ValueError(f"an extension name is printable ASCII without commas: {name!r}")
    return ",".join(ordered).encode("ascii")


def decode_extensions(value: bytes) -> frozenset[str]:
    """The names in a field's value; unknown names are kept (the caller intersects).

    Raises ValueError for a value that is not a list of names.
    """
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the extensions field is not ASCII: {exc.reason}") from None
    names = frozenset(name for name in text.split(",") if name)
    if len(names) > _MAX_NAMES:
        raise ValueError(f"the extensions field names {len(names)} extensions, over {_MAX_NAMES}")
    return names

"""Control requests on the stats tag: ask a zipper to reload the functions it serves.

An rxyomo client that agreed on the ``stats`` extension sends an empty frame on
:data:`~rxyomo.protocol.reserved.STATS_TAG` for the zipper's counters. A frame there
with a payload is a control request, a msgpack map; the one request is
``{"reload": [names]}`` (every function the zipper serves when the list is empty),
answered on the same tag, once done, with ``{"reloaded": [entry, ...]}`` (each entry a
map: ``name``, ``version``, ``previous``, ``changed``, ``error``), or ``{"error": why}``
for a request the zipper cannot read. A zipper that knows no control request answers
with its counters, which have neither key: that tells it apart. No new extension is
needed, and YoMo peers never see any of it (they do not agree on ``stats``).
"""

from __future__ import annotations

import msgpack

__all__ = ["RELOAD", "RELOADED", "decode_control", "encode_control"]

#: The request's key: the names of the functions to reload (none: all).
RELOAD = "reload"
#: The answer's key: one entry per function reloaded.
RELOADED = "reloaded"


def encode_control(reload: list[str] | tuple[str, ...] = ()) -> bytes:
    """A request to reload the functions named ``reload`` (all when empty)."""
    packed: bytes = msgpack.packb({RELOAD: list(reload)})
    return packed


def decode_control(payload: bytes) -> list[str]:
    """The names a request asks to reload; raises ValueError for a request it is not."""
    try:
        request = msgpack.unpackb(payload)
    except Exception as exc:  # msgpack raises many unrelated types for bad input
        raise ValueError(f"not msgpack: {exc}") from None
    if not isinstance(request, dict) or not isinstance(request.get(RELOAD), list):
        raise ValueError(f"expected a map with a {RELOAD!r} list")
    names: list[str] = []
    for name in request[RELOAD]:
        if not isinstance(name, str):
            raise ValueError(f"a function's name is a string, got {name!r}")
        names.append(name)
    return names

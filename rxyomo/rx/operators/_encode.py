"""``encode``: marshal each item as Y3 under a key, as YoMo's ``Encode(key)``."""

from __future__ import annotations

from collections.abc import Callable

import y3
from reactivex import Observable

from .._encoded import Encoded
from .._reporting import ErrorReporter
from ._map import map as map_

__all__ = ["encode"]


def encode(
    key: int,
    *,
    dialect: y3.Dialect | None = None,
    type_: object = None,
    reporter: ErrorReporter | None = None,
) -> Callable[[Observable[object]], Observable[Encoded]]:
    """Turn each item into ``Encoded(key, y3.Codec(key, dialect).marshal(item))``: the tag and
    payload of an outgoing Data frame.

    ``dialect`` defaults to the codec-golang dialect of YoMo v1.x; ``type_`` fixes the Y3
    type (e.g. ``y3.Kind.FLOAT32``, as a Go ``float32`` value was written) instead of
    inferring it. An item the codec cannot write is reported and dropped.
    """
    codec = y3.Codec(key, dialect or y3.Dialect.CODEC_GOLANG)  # a bad key fails here
    marshal = codec.marshal

    def to_frame(item: object) -> Encoded:
        return Encoded(key, marshal(item, type_=type_))

    return map_(to_frame, reporter=reporter, name="encode")

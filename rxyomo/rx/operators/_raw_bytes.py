"""``raw_bytes``: the payload bytes of each incoming frame, as YoMo's ``RawBytes``."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable

from .._reporting import ErrorReporter
from ._map import map as map_

__all__ = ["raw_bytes"]


def _to_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"raw_bytes expects a bytes-like item, got {type(value).__name__}")


def raw_bytes(
    *, reporter: ErrorReporter | None = None
) -> Callable[[Observable[object]], Observable[bytes]]:
    """Emit each item as ``bytes``; an item that is not bytes-like is reported and dropped.

    The input stream of a stream function carries one item per Data frame, the frame's
    payload, so this is the whole frame as the zipper delivered it.
    """
    return map_(_to_bytes, reporter=reporter, name="raw_bytes")

"""Sources: write tagged data into the zipper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rxyomo.client._client import ZipperClient
from rxyomo.observe.hooks import HOOKS
from rxyomo.protocol.frames import ClientType, DataFrame, is_reserved_tag
from rxyomo.protocol.metadata import SOURCE_ID, TARGET, TID, encode_metadata, new_tid
from rxyomo.protocol.reserved import BROADCAST


def check_tag(tag: int) -> None:
    """User data tags are uint32 below YoMo's reserved range 0xF000-0xFFFF."""
    if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag < 2**32:
        raise ValueError(f"a data tag is a uint32, got {tag!r}")
    if is_reserved_tag(tag):
        raise ValueError(f"data tag 0x{tag:X} is reserved (0xF000-0xFFFF)")


class Source(ZipperClient):
    """Writes data frames to a zipper, as YoMo's ``yomo.NewSource(name)``.

    Example::

        async with Source("camera", zipper="localhost:9000") as source:
            await source.write(0x10, jpeg_bytes)
    """

    client_type = ClientType.SOURCE

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._last_tid = ""

    @property
    def last_tid(self) -> str:
        """The transaction id of the last frame written."""
        return self._last_tid

    async def write(
        self,
        tag: int,
        data: bytes,
        *,
        target: str = "",
        broadcast: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Send ``data`` under ``tag``.

        Waits while the connection is down or the zipper is slow (back-pressure);
        ``target`` delivers only to functions that asked for it, ``broadcast`` to
        every instance of each observing function instead of one of them.
        """
        check_tag(tag)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        meta = dict(metadata or {})
        self._last_tid = meta.setdefault(TID, new_tid())
        meta[SOURCE_ID] = self.id
        if target:
            meta[TARGET] = target
        if broadcast:
            meta[BROADCAST] = "1"
        tracing = HOOKS.tracing
        span = tracing.source(self.name, tag, len(data), meta) if tracing is not None else None
        frame = DataFrame(tag=tag, payload=bytes(data), metadata=encode_metadata(meta))
        if span is None:
            await self._send(frame, self._last_tid)
            return
        try:
            await self._send(frame, self._last_tid)
        finally:
            span.end()  # the span covers the wait for the connection and back-pressure

    async def write_with_target(self, tag: int, data: bytes, target: str) -> None:
        """Send ``data`` under ``tag`` to the functions that want ``target`` only
        (YoMo's ``WriteWithTarget``)."""
        await self.write(tag, data, target=target)

    async def broadcast(self, tag: int, data: bytes) -> None:
        """Send ``data`` to every instance of each function observing ``tag``."""
        await self.write(tag, data, broadcast=True)

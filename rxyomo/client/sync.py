"""A small synchronous facade for scripts that do not use asyncio.

``SyncSource`` runs a :class:`~rxyomo.client.Source` on an event loop in a
background thread; :func:`run` connects clients and serves until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from rxyomo.client._client import ZipperClient
from rxyomo.client.source import Source

T = TypeVar("T")


class _LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class SyncSource:
    """A blocking :class:`~rxyomo.client.Source`.

    Example::

        with SyncSource("sensor", zipper="localhost:9000") as source:
            source.write(0x33, b"21.5")
    """

    def __init__(self, name: str, *, timeout: float | None = 30.0, **kwargs: Any) -> None:
        self._thread = _LoopThread(f"rxyomo source {name}")
        self.timeout = timeout
        self._source: Source = self._thread.call(self._make(name, kwargs), timeout)

    @staticmethod
    async def _make(name: str, kwargs: dict[str, Any]) -> Source:
        # Built on the loop's thread: clients bind to the running loop.
        return Source(name, **kwargs)

    def connect(self) -> None:
        """Connect and wait for the zipper's acknowledgement."""
        self._thread.call(self._source.connect(), self.timeout)

    def write(
        self,
        tag: int,
        data: bytes,
        *,
        target: str = "",
        broadcast: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Send ``data`` under ``tag``; blocks while the zipper applies back-pressure."""
        self._thread.call(
            self._source.write(tag, data, target=target, broadcast=broadcast, metadata=metadata),
            self.timeout,
        )

    def close(self) -> None:
        """Send what was accepted, then stop the background loop."""
        with contextlib.suppress(Exception):
            self._thread.call(self._source.close(), self.timeout)
        self._thread.stop()

    def __enter__(self) -> SyncSource:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run(*clients: ZipperClient) -> None:
    """Connect every client, then serve until Ctrl-C or until one stops for good."""

    async def main() -> None:
        for client in clients:
            await client.connect()
        try:
            await asyncio.gather(*(client.wait_stopped() for client in clients))
        finally:
            for client in clients:
                await client.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())

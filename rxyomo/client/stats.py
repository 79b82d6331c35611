"""Ask a running zipper for its counters (``rxyomo stats``)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack

from rxyomo.client._client import ReconnectPolicy, ZipperClient
from rxyomo.protocol.extensions import STATS
from rxyomo.protocol.frames import ClientType, DataFrame
from rxyomo.protocol.reserved import STATS_TAG
from rxyomo.transport.base import TlsConfig, Transport


class _StatsClient(ZipperClient):
    client_type = ClientType.SOURCE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("rxyomo-stats", **kwargs)
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def _on_frame(self, frame: DataFrame) -> None:
        if frame.tag == STATS_TAG and not self.answer.done():
            self.answer.set_result(frame.payload)

    async def request(self) -> None:
        """Ask the zipper for its snapshot; it comes to :attr:`answer`."""
        await self._send(DataFrame(tag=STATS_TAG, payload=b""))


async def fetch_stats(
    zipper: str,
    transport: Transport | str = "quic",
    *,
    tls: TlsConfig | None = None,
    credential: str = "",
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Connect to ``zipper`` (``HOST:PORT``) and return its stats snapshot.

    Raises :class:`LookupError` for a zipper that does not offer stats (YoMo's).
    """
    client = _StatsClient(
        zipper=zipper,
        transport=transport,
        tls=tls,
        credential=credential,
        reconnect=ReconnectPolicy(max_attempts=1),
    )
    try:
        await asyncio.wait_for(client.connect(), timeout)
        if STATS not in client.extensions:
            raise LookupError(f"the zipper at {zipper} does not offer stats (not an rxyomo zipper)")
        await client.request()
        payload = await asyncio.wait_for(client.answer, timeout)
    finally:
        await client.close(timeout=1.0)
    data = msgpack.unpackb(payload)
    if not isinstance(data, dict):
        raise ValueError("the zipper answered with something that is not a stats map")
    return data

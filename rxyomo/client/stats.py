"""Ask a running zipper for its counters (``rxyomo stats``), or to reload the functions
it serves itself (``rxyomo reload``), both on the stats tag (see
:mod:`rxyomo.protocol.control`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgpack

from rxyomo.client._client import ReconnectPolicy, ZipperClient
from rxyomo.protocol.control import RELOADED, encode_control
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

    async def request(self, payload: bytes = b"") -> None:
        """Ask the zipper for its snapshot (or send it a control request); the answer
        comes to :attr:`answer`."""
        await self._send(DataFrame(tag=STATS_TAG, payload=payload))


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
    return await _ask(zipper, transport, b"", tls=tls, credential=credential, timeout=timeout)


async def reload_functions(
    zipper: str,
    names: Sequence[str] = (),
    transport: Transport | str = "quic",
    *,
    tls: TlsConfig | None = None,
    credential: str = "",
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Ask ``zipper`` to reload the functions it serves itself named ``names`` (all when
    none); returns one map per function: ``name``, ``version`` (serving now),
    ``previous``, ``changed``, ``error`` (why the new code was refused, or the name is
    unknown). ``timeout`` covers loading the new code.

    Raises :class:`LookupError` for a zipper that cannot reload (YoMo's, an older rxyomo).
    """
    data = await _ask(
        zipper,
        transport,
        encode_control(tuple(names)),
        tls=tls,
        credential=credential,
        timeout=timeout,
    )
    if "error" in data and RELOADED not in data:
        raise ValueError(f"the zipper at {zipper} refused the request: {data['error']}")
    reloaded = data.get(RELOADED)
    if not isinstance(reloaded, list):
        raise LookupError(f"the zipper at {zipper} does not reload functions")
    return [dict(item) for item in reloaded if isinstance(item, dict)]


async def _ask(
    zipper: str,
    transport: Transport | str,
    payload: bytes,
    *,
    tls: TlsConfig | None,
    credential: str,
    timeout: float,
) -> dict[str, Any]:
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
        await client.request(payload)
        answer = await asyncio.wait_for(client.answer, timeout)
    finally:
        await client.close(timeout=1.0)
    data = msgpack.unpackb(answer)
    if not isinstance(data, dict):
        raise ValueError("the zipper answered with something that is not a stats map")
    return data

"""The user-space impairment itself: it drops, duplicates, delays and reorders as told."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import cast

import pytest

from devtools.udp_relay import Impairment, UdpRelay

pytestmark = pytest.mark.network

COUNT = 2000


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport, though asyncio's selector one does not subclass
        # DatagramTransport (Python 3.11): no isinstance check can say so.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


class _Listener(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.heard: list[int] = []
        self.last = 0.0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard.append(int.from_bytes(data, "big"))
        self.last = asyncio.get_running_loop().time()


async def _send_through(relay: UdpRelay, count: int) -> list[int]:
    """Send numbered datagrams through ``relay`` to an echo server; the numbers heard back."""
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(
        _Listener, local_addr=("127.0.0.1", 0)
    )
    try:
        for number in range(count):
            transport.sendto(number.to_bytes(4, "big"), relay.address)
            if number % 10 == 0:
                await asyncio.sleep(0.001)  # let the echoes be read as they come
        listener.last = loop.time()
        deadline = loop.time() + 5.0
        # Polled: "nothing more for 0.3 s" has no event to wait on.
        while loop.time() < deadline and loop.time() - listener.last < 0.3:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    finally:
        transport.close()
    return listener.heard


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    host, port = transport.get_extra_info("sockname")[:2]
    yield str(host), int(port)
    transport.close()


async def test_relay_drops_duplicates_and_reorders_at_the_set_rates(
    echo_server: tuple[str, int],
) -> None:
    rules = Impairment(delay=0.002, jitter=0.001, loss=0.05, duplicate=0.05, reorder=0.1)
    async with await UdpRelay.start(echo_server, rules, seed=3) as relay:
        heard = await _send_through(relay, COUNT)
    stats = relay.stats
    # Each datagram crosses the relay twice (there and back), each time through the dice.
    assert stats.received > COUNT
    assert stats.forwarded == stats.received - stats.dropped + stats.duplicated
    for measured, rate in ((stats.dropped, 0.05), (stats.duplicated, 0.05), (stats.reordered, 0.1)):
        assert 0.5 * rate < measured / stats.received < 1.5 * rate
    assert len(heard) > len(set(heard)), "no duplicate reached the client"
    assert any(b < a for a, b in itertools.pairwise(heard)), "nothing was reordered"
    assert len(set(heard)) < COUNT, "nothing was lost"


async def test_relay_without_impairment_is_transparent(echo_server: tuple[str, int]) -> None:
    async with await UdpRelay.start(echo_server) as relay:
        heard = await _send_through(relay, 500)
    assert sorted(heard) == list(range(500))
    assert relay.stats.dropped == 0
    assert relay.stats.forwarded == 1000


async def test_a_partition_drops_everything_until_it_heals(echo_server: tuple[str, int]) -> None:
    async with await UdpRelay.start(echo_server, Impairment(loss=1.0)) as relay:
        assert await _send_through(relay, 100) == []
        relay.set_impairment(loss=0.0)
        assert sorted(await _send_through(relay, 100)) == list(range(100))


def test_nonsense_impairments_are_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        Impairment(loss=1.5)
    with pytest.raises(ValueError, match="jitter"):
        Impairment(delay=0.01, jitter=0.02)

"""The user-space impairment itself: it drops, duplicates, delays and reorders as told."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import cast

import pytest

from devtools.udp_relay import Impairment, RelayStats, UdpRelay
from tests.waiting import eventually

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

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard.append(int.from_bytes(data, "big"))


def _all_accounted_for(relay: UdpRelay, before: RelayStats, sent: int, heard: int) -> bool:
    """Whether the ``sent`` datagrams are all accounted for since the relay counted
    ``before``: it holds none back, and of those it passed on since, all were heard but
    the ones to the echo server (each came back to it: what it received beyond ``sent``)."""
    stats = relay.stats
    idle = stats.forwarded == stats.received - stats.dropped + stats.duplicated
    to_server = stats.received - before.received - sent
    return idle and heard == stats.forwarded - before.forwarded - to_server


async def _send_through(relay: UdpRelay, count: int) -> list[int]:
    """Send numbered datagrams through ``relay`` to an echo server; the numbers heard back,
    once every datagram is accounted for (the relay's counts are for both directions)."""
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(
        _Listener, local_addr=("127.0.0.1", 0)
    )
    before = replace(relay.stats)
    try:
        for number in range(count):
            transport.sendto(number.to_bytes(4, "big"), relay.address)
            if number % 10 == 0:
                await asyncio.sleep(0.001)  # scenario: a paced sender, its echoes read as they come
        await eventually(
            lambda: _all_accounted_for(relay, before, count, len(listener.heard)),
            "every datagram accounted for",
            timeout=30.0,
        )
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

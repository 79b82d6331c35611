"""In-memory only: the listener registry."""

from __future__ import annotations

import pytest

from rxyomo.transport import MemoryTransport, TransportError
from rxyomo.transport.memory import MemoryRegistry
from tests.rxyomo.transport._support import Accepted, Recorder, within


async def test_a_taken_address_is_refused() -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    listener = await transport.serve("zipper", 9000, Recorder)
    with pytest.raises(TransportError, match="already in use"):
        await transport.serve("zipper", 9000, Recorder)
    listener.close()
    again = await transport.serve("zipper", 9000, Recorder)
    assert again.address == ("zipper", 9000)


async def test_registries_are_separate_networks() -> None:
    first = MemoryTransport(registry=MemoryRegistry())
    second = MemoryTransport(registry=MemoryRegistry())
    await first.serve("zipper", 9000, Recorder)
    with pytest.raises(TransportError, match="no in-memory listener"):
        await second.connect("zipper", 9000, Recorder())


async def test_transports_sharing_a_registry_reach_each_other() -> None:
    registry = MemoryRegistry()
    accepted = Accepted(echo=True)
    await MemoryTransport(registry=registry).serve("zipper", 9000, accepted)
    client = Recorder()
    channel = await MemoryTransport(registry=registry).connect("zipper", 9000, client)
    channel.write(b"hi")
    assert await client.wait_bytes(2) == b"hi"
    assert channel.peer == "memory:zipper:9000"
    channel.close()
    await within(channel.wait_closed())


async def test_closing_the_listener_refuses_new_connections() -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    listener = await transport.serve("zipper", 0, Recorder)
    listener.close()
    await listener.wait_closed()
    with pytest.raises(TransportError, match="connection refused"):
        await transport.connect("zipper", listener.address[1], Recorder())


@pytest.mark.parametrize("port", [-1, 65536])
async def test_ports_outside_the_range_are_rejected(port: int) -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    with pytest.raises(ValueError, match="port"):
        await transport.serve("zipper", port, Recorder)

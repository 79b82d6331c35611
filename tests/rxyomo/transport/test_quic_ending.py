"""How a QUIC connection ends around a paused reader: what it holds reaches it, in order."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rxyomo.transport import TransportError
from rxyomo.transport.base import Channel
from rxyomo.transport.quic.channel import QuicChannel
from rxyomo.transport.quic.lifecycle import Phase
from tests.rxyomo.transport._support import Recorder, ServeFactory, make_transport, within

PAYLOAD_SIZE = 64 * 1024  # well within the receive window: the peer's close completes


class _Ledger(Recorder):
    """Notes how many bytes had arrived when the end was reported."""

    received_at_end: int | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.received_at_end is None:
            self.received_at_end = len(self.received)
        super().connection_lost(exc)


def _phase(channel: QuicChannel) -> Phase:
    # A call, not the attribute: a type checker would keep the phase an assert narrowed.
    return channel.phase


@dataclass
class _Ends:
    client: Recorder
    client_channel: Channel
    server: _Ledger
    server_channel: QuicChannel


async def _connect(serve: ServeFactory) -> _Ends:
    """A connection whose server end is paused, with the payload written to it."""
    servers: list[_Ledger] = []

    def accept() -> _Ledger:
        servers.append(_Ledger())
        return servers[-1]

    # The phases are those of the aioquic channel (the native core's are its own).
    transport = make_transport("quic", core="aioquic")
    listener = await serve(transport, accept)
    client = Recorder()
    channel = await within(transport.connect("127.0.0.1", listener.address[1], client))
    channel.write(b"!")  # a QUIC server starts its handler at the client's first bytes
    await client.until(lambda: bool(servers) and servers[0].made.done())
    server_channel = await within(servers[0].made)
    assert isinstance(server_channel, QuicChannel)
    await servers[0].wait_bytes(1)
    servers[0].received.clear()
    server_channel.pause_reading()
    return _Ends(client, channel, servers[0], server_channel)


async def _peer_closes_while_paused(serve: ServeFactory) -> tuple[_Ends, bytes]:
    ends = await _connect(serve)
    payload = os.urandom(PAYLOAD_SIZE)
    ends.client_channel.write(payload)
    ends.client_channel.close()
    # The client's close completes once its bytes are acknowledged, read or not.
    assert await within(ends.client.lost) is None
    await ends.server.until(ends.server_channel.is_closing)
    return ends, payload


async def test_held_bytes_come_before_the_peers_orderly_close(serve: ServeFactory) -> None:
    ends, payload = await _peer_closes_while_paused(serve)
    handler, channel = ends.server, ends.server_channel
    assert _phase(channel) in {Phase.DRAINING, Phase.HOLDING}
    assert not handler.lost.done()
    assert bytes(handler.received) == b""
    channel.resume_reading()
    assert await within(handler.lost) is None
    assert (bytes(handler.received), handler.received_at_end) == (payload, len(payload))
    assert handler.lost_calls == 1
    await within(channel.wait_closed())
    assert _phase(channel) is Phase.TERMINATED


async def test_the_end_waits_for_the_reader_even_after_the_connection_terminated(
    serve: ServeFactory,
) -> None:
    ends, payload = await _peer_closes_while_paused(serve)
    handler, channel = ends.server, ends.server_channel
    await within(channel.wait_closed())  # the draining period is over
    assert _phase(channel) is Phase.HOLDING
    assert not handler.lost.done()
    channel.resume_reading()
    assert await within(handler.lost) is None
    assert (bytes(handler.received), handler.received_at_end) == (payload, len(payload))
    assert _phase(channel) is Phase.TERMINATED


async def test_abort_drops_what_a_paused_reader_holds_after_the_peer_closed(
    serve: ServeFactory,
) -> None:
    ends, _ = await _peer_closes_while_paused(serve)
    handler, channel = ends.server, ends.server_channel
    channel.abort()
    assert await within(handler.lost) is None
    assert bytes(handler.received) == b""
    await within(channel.wait_closed())
    assert _phase(channel) is Phase.TERMINATED


async def test_a_broken_connection_hands_a_paused_reader_what_it_holds_first(
    serve: ServeFactory,
) -> None:
    ends = await _connect(serve)
    payload = os.urandom(PAYLOAD_SIZE)
    ends.client_channel.write(payload)
    # Counted from the first write, the byte written to start the connection.
    await ends.client.until(lambda: 1 + len(payload) in ends.client.confirmations)
    ends.client_channel.abort()
    handler = ends.server
    assert isinstance(await within(handler.lost), TransportError)
    assert (bytes(handler.received), handler.received_at_end) == (payload, len(payload))
    assert _phase(ends.server_channel) in {Phase.LOST, Phase.TERMINATED}

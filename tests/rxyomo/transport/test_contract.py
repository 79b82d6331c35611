"""The behaviour every transport promises, checked over memory, TCP+TLS and QUIC."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from rxyomo.transport import Channel, TransportError
from tests.rxyomo.transport._support import (
    QUIC_WINDOW,
    SMALL_FLOW,
    Accepted,
    Pair,
    PairFactory,
    Recorder,
    ServeFactory,
    check_echo,
    make_transport,
    within,
)
from tests.waiting import eventually, holds_for


def _numbered_chunks(count: int) -> list[bytes]:
    # Varying sizes and contents, so a reordering or a lost chunk shows.
    return [i.to_bytes(4, "big") * (1 + i % 37) for i in range(count)]


async def test_echo_round_trip(transport_name: str, open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport(transport_name), echo=True)
    pair.client_channel.write(b"hello, zipper")
    assert await pair.client.wait_bytes(13) == b"hello, zipper"


async def test_many_chunks_arrive_in_order(transport_name: str, open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport(transport_name))
    chunks = _numbered_chunks(3000)
    for chunk in chunks:
        pair.client_channel.write(chunk)
    expected = b"".join(chunks)
    assert await pair.server.wait_bytes(len(expected)) == expected


async def test_large_payload_crosses_both_ways(transport_name: str, open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport(transport_name))
    payload = os.urandom(2 * 1024 * 1024)
    pair.client_channel.write(payload)
    assert await pair.server.wait_bytes(len(payload)) == payload
    pair.server_channel.write(payload[::-1])
    assert await pair.client.wait_bytes(len(payload)) == payload[::-1]


async def test_close_sends_queued_bytes_then_both_ends_lose_cleanly(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    payload = os.urandom(512 * 1024)
    pair.client_channel.write(payload)
    pair.client_channel.close()
    assert pair.client_channel.is_closing()
    assert await pair.server.wait_bytes(len(payload)) == payload
    assert await within(pair.server.lost) is None
    assert await within(pair.client.lost) is None
    assert (pair.client.lost_calls, pair.server.lost_calls) == (1, 1)


async def test_peer_close_gives_connection_lost(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    pair.server_channel.write(b"bye")
    pair.server_channel.close()
    assert await within(pair.client.lost) is None
    assert bytes(pair.client.received) == b"bye"


async def test_abort_drops_queue_and_peer_sees_an_error(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    pair.client_channel.abort()
    assert pair.client_channel.is_closing()
    assert pair.client_channel.get_write_buffer_size() == 0
    assert await within(pair.client.lost) is None
    assert isinstance(await within(pair.server.lost), TransportError)
    assert pair.client.lost_calls == 1


async def test_a_failing_handler_aborts_its_connection(
    transport_name: str, open_pair: PairFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = await open_pair(make_transport(transport_name))

    def explode(data: bytes) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(pair.server, "data_received", explode)
    pair.client_channel.write(b"trigger")
    failure = await within(pair.server.lost)
    assert isinstance(failure, RuntimeError)
    assert isinstance(await within(pair.client.lost), TransportError)


async def test_a_server_handler_failing_to_start_drops_only_that_connection(
    transport_name: str, serve: ServeFactory
) -> None:
    class Broken(Recorder):
        def connection_made(self, channel: Channel) -> None:
            raise RuntimeError("cannot start")

    transport = make_transport(transport_name)
    attempts: list[Recorder] = []

    def accept() -> Recorder:
        attempts.append(Broken() if not attempts else Recorder(echo=True))
        return attempts[-1]

    listener = await serve(transport, accept)
    port = listener.address[1]
    first = Recorder()
    channel = await within(transport.connect("127.0.0.1", port, first))
    channel.write(b"hello")
    assert isinstance(await within(first.lost), TransportError)
    await within(channel.wait_closed())
    await check_echo(transport, "127.0.0.1", port, b"hello")


async def test_many_connections_each_keep_their_own_bytes(
    transport_name: str, serve: ServeFactory
) -> None:
    transport = make_transport(transport_name)
    listener = await serve(transport, Accepted(echo=True))

    async def one_client(number: int) -> bytes:
        client = Recorder()
        channel = await within(transport.connect("127.0.0.1", listener.address[1], client))
        message = number.to_bytes(2, "big") * 5000
        channel.write(message)
        echoed = await client.wait_bytes(len(message))
        channel.close()
        await within(channel.wait_closed())
        return echoed

    echoes = await within(asyncio.gather(*(one_client(n) for n in range(20))))
    assert echoes == [n.to_bytes(2, "big") * 5000 for n in range(20)]


async def test_write_after_close_is_ignored(transport_name: str, open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport(transport_name))
    pair.client_channel.close()
    pair.client_channel.write(b"too late")
    await within(pair.server.lost)
    assert bytes(pair.server.received) == b""


async def test_write_rejects_text(transport_name: str, open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport(transport_name))
    with pytest.raises(TypeError, match="bytes-like"):
        pair.client_channel.write("text")  # type: ignore[arg-type]


async def test_pause_reading_stops_delivery_until_resumed(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    pair.server_channel.pause_reading()
    payload = os.urandom(100 * 1024)
    pair.client_channel.write(payload)
    await _as_far_as_it_goes(transport_name, pair, 1 + len(payload))
    assert bytes(pair.server.received) == b""
    pair.server_channel.resume_reading()
    assert await pair.server.wait_bytes(len(payload)) == payload


async def test_slow_reader_pauses_writer_within_watermark_bound(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name, SMALL_FLOW))
    pair.server_channel.pause_reading()
    chunk = os.urandom(16 * 1024)
    written = await _write_until_stalled(pair.client_channel, pair.client, chunk)

    # The writer was told to stop, and what it holds stays near the high watermark.
    assert pair.client.writing_paused
    assert pair.client_channel.get_write_buffer_size() <= SMALL_FLOW.high_watermark + len(chunk)
    assert bytes(pair.server.received) == b""
    receiver_bound = {"memory": 0, "quic": QUIC_WINDOW, "tcp": 32 * 1024 * 1024}
    assert written <= receiver_bound[transport_name] + SMALL_FLOW.high_watermark + len(chunk)

    pair.server_channel.resume_reading()
    await pair.client.until(lambda: not pair.client.writing_paused)
    assert pair.client.resumes >= 1
    received = await pair.server.wait_bytes(written)
    assert received == chunk * (written // len(chunk))


async def test_write_confirmed_counts_up_to_every_byte_written(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    chunks = _numbered_chunks(200)
    for chunk in chunks:
        told = len(pair.client.confirmations)
        pair.client_channel.write(chunk)
        # Never told from inside write(): a handler may write from its own hook.
        assert len(pair.client.confirmations) == told
    # Counted from the first write, the byte open_pair writes to start the connection.
    total = 1 + sum(len(chunk) for chunk in chunks)
    await pair.client.until(lambda: total in pair.client.confirmations)
    confirmations = pair.client.confirmations
    assert confirmations == sorted(set(confirmations)), "the count only grows"
    assert confirmations[-1] == total
    assert pair.client_channel.confirmed_bytes(total) == total
    assert pair.client_channel.get_write_buffer_size() == 0
    assert await pair.server.wait_bytes(total - 1) == b"".join(chunks)


async def test_write_confirmed_waits_for_a_paused_reader_where_the_transport_can_tell(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name))
    pair.server_channel.pause_reading()
    payload = os.urandom(64 * 1024)
    pair.client_channel.write(payload)
    await _as_far_as_it_goes(transport_name, pair, 1 + len(payload))
    # QUIC acknowledges what its peer's transport holds; in memory the peer must read it.
    # TLS over TCP can only tell what the kernel took, which a paused reader does not stop.
    if transport_name == "memory":
        assert pair.client.confirmations == [1]
    pair.server_channel.resume_reading()
    await pair.client.until(lambda: 1 + len(payload) in pair.client.confirmations)
    assert await pair.server.wait_bytes(len(payload)) == payload


async def test_connect_failure_raises_transport_error(transport_name: str) -> None:
    transport = make_transport(transport_name)
    port = _unused_port(socket.SOCK_STREAM if transport_name == "tcp" else socket.SOCK_DGRAM)
    with pytest.raises(TransportError):
        await within(transport.connect("127.0.0.1", port, Recorder()))


async def test_port_zero_allocates_distinct_ports(transport_name: str) -> None:
    transport = make_transport(transport_name)
    first = await within(transport.serve("127.0.0.1", 0, Recorder))
    second = await within(transport.serve("127.0.0.1", 0, Recorder))
    try:
        assert first.address[1] != 0
        assert first.address[1] != second.address[1]
    finally:
        for listener in (first, second):
            listener.close()
            await within(listener.wait_closed())


async def test_closed_listener_keeps_connections_and_refuses_new_ones(
    transport_name: str, open_pair: PairFactory
) -> None:
    pair = await open_pair(make_transport(transport_name), echo=True)
    pair.listener.close()
    pair.client_channel.write(b"still here")
    assert await pair.client.wait_bytes(10) == b"still here"
    with pytest.raises(TransportError):
        await within(pair.transport.connect("127.0.0.1", pair.listener.address[1], Recorder()))


async def _as_far_as_it_goes(transport_name: str, pair: Pair, total: int) -> None:
    """Wait until the ``total`` bytes the client wrote got as far as a paused reader lets
    them: into the server's transport, where the client's can tell (QUIC acknowledges
    them, the kernel takes TLS-over-TCP's), then a marker the other way, which comes
    behind any delivery the server's transport had due (the in-memory transport's)."""
    channel = pair.client_channel
    if transport_name == "quic":
        await eventually(lambda: channel.acknowledged_bytes() == total, "the acknowledgement")
    elif transport_name == "tcp":
        await eventually(lambda: channel.get_write_buffer_size() == 0, "the kernel taking all")
    before = len(pair.client.received)
    pair.server_channel.write(b"marker")
    await pair.client.wait_bytes(before + len(b"marker"))


async def _write_until_stalled(channel: Channel, writer: Recorder, chunk: bytes) -> int:
    """Write like a well-behaved producer until paused and no progress is possible."""
    written = 0
    while written < 64 * 1024 * 1024:
        if not writer.writing_paused:
            channel.write(chunk)
            written += len(chunk)
            await asyncio.sleep(0)  # scenario: a producer yields to its transport between writes
            continue
        # Paused: stalled once it stays paused for a while (a resume means room was found).
        if await holds_for(lambda: writer.writing_paused, 0.3):
            return written
    raise AssertionError(f"the writer never stalled ({written} bytes written)")


def _unused_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

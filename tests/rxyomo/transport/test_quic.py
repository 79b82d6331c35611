"""QUIC-only behaviour: IPv6, TLS verification, ALPN, refusals, timeouts, datagram size."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import ssl
import weakref
from pathlib import Path
from typing import Any

import pytest
from aioquic.asyncio.client import connect as aioquic_connect
from aioquic.asyncio.server import serve as aioquic_serve
from aioquic.quic.configuration import QuicConfiguration

from devtools.processes import free_udp_port
from devtools.udp_relay import Impairment, UdpRelay
from rxyomo.transport import (
    QuicTransport,
    TlsConfig,
    TransportError,
    TransportOptions,
    dev_certificates,
)
from rxyomo.transport.base import Channel
from rxyomo.transport.quic import LOOPBACK_DATAGRAM_SIZE
from rxyomo.transport.quic import transport as quic_module
from rxyomo.transport.quic.server import QuicServer
from tests.rxyomo.transport._support import (
    Accepted,
    PairFactory,
    Recorder,
    ServeFactory,
    check_echo,
    make_transport,
    serve_echo,
    within,
)
from tests.waiting import eventually


def _ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="no IPv6 loopback")
async def test_ipv6_loopback_echo(open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport("quic"), host="::1", echo=True)
    pair.client_channel.write(b"over IPv6")
    assert await pair.client.wait_bytes(9) == b"over IPv6"
    assert pair.server_channel.peer.startswith("[::1]:")


async def test_server_with_unreadable_certificate_fails_to_serve(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    server = make_transport("quic", tls=TlsConfig(certfile=bad, keyfile=bad))
    with pytest.raises(TransportError, match=r"bad\.pem"):
        await within(server.serve("127.0.0.1", 0, Recorder))


async def test_server_refuses_a_client_speaking_another_alpn(serve: ServeFactory) -> None:
    _, port, accepted = await serve_echo(serve, "quic")
    configuration = QuicConfiguration(
        is_client=True, alpn_protocols=["h3"], verify_mode=ssl.CERT_NONE
    )
    with pytest.raises(ConnectionError):
        async with aioquic_connect("127.0.0.1", port, configuration=configuration):
            pass
    assert accepted.handlers == []


async def test_client_refuses_a_server_speaking_another_alpn() -> None:
    dev = dev_certificates()
    configuration = QuicConfiguration(is_client=False, alpn_protocols=["h3"])
    configuration.load_cert_chain(dev.certfile, dev.keyfile)
    port = free_udp_port()
    server = await aioquic_serve("127.0.0.1", port, configuration=configuration)
    try:
        client = make_transport("quic", tls=TlsConfig(cafile=dev.ca_certfile))
        with pytest.raises(TransportError, match="application protocol"):
            await within(client.connect("127.0.0.1", port, Recorder()))
    finally:
        server.close()


async def test_a_second_stream_is_a_protocol_error(serve: ServeFactory) -> None:
    _, port, accepted = await serve_echo(serve, "quic")
    configuration = QuicConfiguration(
        is_client=True, alpn_protocols=["yomo"], verify_mode=ssl.CERT_NONE
    )
    async with aioquic_connect("127.0.0.1", port, configuration=configuration) as peer:
        _, first = await peer.create_stream()
        first.write(b"hello")
        server = await accepted.first()
        await server.wait_bytes(5)
        _, second = await peer.create_stream()
        second.write(b"sneaky")
        error = await within(server.lost)
        for writer in (first, second):
            writer.close()
    assert isinstance(error, TransportError)
    assert "one stream" in str(error)


async def test_closed_listener_refuses_at_once_with_a_reason(open_pair: PairFactory) -> None:
    # An open connection keeps the socket, so the refusal comes from the server.
    pair = await open_pair(make_transport("quic"))
    pair.listener.close()
    with pytest.raises(TransportError, match="refused by server: not accepting"):
        await within(pair.transport.connect("127.0.0.1", pair.listener.address[1], Recorder()))


async def test_connect_to_a_closed_port_is_refused(serve: ServeFactory) -> None:
    transport, port, _ = await serve_echo(serve, "quic")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(TransportError, match="refused"):
        await within(transport.connect("127.0.0.1", free, Recorder()))
    del port


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="no IPv6 loopback")
async def test_an_address_that_refuses_falls_back_to_the_next(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "localhost" may resolve to ::1 first while the server listens on 127.0.0.1.
    transport = make_transport("quic")
    listener = await serve(transport, Accepted(echo=True), "127.0.0.1")
    port = listener.address[1]

    async def both_loopbacks(*args: object, **kwargs: object) -> list[tuple[int, object]]:
        return [(socket.AF_INET6, ("::1", port, 0, 0)), (socket.AF_INET, ("127.0.0.1", port))]

    monkeypatch.setattr(quic_module, "_resolve_all", both_loopbacks)
    await check_echo(transport, "localhost", port, b"hi")


async def test_client_learns_at_once_that_the_server_process_is_gone(
    open_pair: PairFactory,
) -> None:
    # The aioquic core's server is reached into here; test_quic_native.py has the twin.
    pair = await open_pair(make_transport("quic", core="aioquic"))
    # What a killed server leaves behind: a closed port and no goodbye.
    assert isinstance(pair.listener, QuicServer)
    endpoint = pair.listener.endpoint
    assert endpoint is not None
    endpoint.close()
    pair.server_channel.abort()
    pair.client_channel.write(b"anyone there?")
    error = await within(pair.client.lost, 5.0)
    assert isinstance(error, TransportError)
    assert "nothing listens" in str(error)


async def test_connection_limit_refuses_extra_clients(serve: ServeFactory) -> None:
    transport, port, _ = await serve_echo(serve, "quic", max_connections=1)
    first = await within(transport.connect("127.0.0.1", port, Recorder()))
    with pytest.raises(TransportError, match="too many connections"):
        await within(transport.connect("127.0.0.1", port, Recorder()), 3.0)
    first.abort()
    await within(first.wait_closed())


async def test_silent_server_times_out_the_handshake() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        transport = QuicTransport(
            TransportOptions(tls=TlsConfig(verify=False)), handshake_timeout=0.3
        )
        with pytest.raises(TransportError, match="timed out"):
            await within(transport.connect("127.0.0.1", port, Recorder()))


async def test_large_datagrams_carry_large_payloads(open_pair: PairFactory) -> None:
    try:
        transport = make_transport("quic", max_datagram_size=8000)
    except ValueError as exc:
        pytest.skip(str(exc))  # an older aioquic build: packets stop at 1500 bytes
    pair = await open_pair(transport, echo=True)
    payload = os.urandom(1024 * 1024)
    pair.client_channel.write(payload)
    assert await pair.client.wait_bytes(len(payload)) == payload


async def test_a_long_paused_reader_does_not_idle_the_connection_out(
    open_pair: PairFactory,
) -> None:
    # A sender stalled by flow control sends nothing; keepalive PINGs bridge the gap.
    pair = await open_pair(make_transport("quic", idle_timeout=0.6, receive_window=16 * 1024))
    pair.server_channel.pause_reading()
    payload = os.urandom(64 * 1024)
    pair.client_channel.write(payload)
    await asyncio.sleep(1.5)  # scenario: over twice the idle timeout passes, paused
    assert not pair.client.lost.done()
    assert not pair.server.lost.done()
    pair.server_channel.resume_reading()
    assert await pair.server.wait_bytes(len(payload)) == payload


async def test_a_close_the_peer_never_completes_becomes_an_abort(
    open_pair: PairFactory,
) -> None:
    pair = await open_pair(make_transport("quic", close_timeout=0.5, receive_window=16 * 1024))
    pair.client_channel.pause_reading()  # and never resumes
    pair.server_channel.write(os.urandom(256 * 1024))
    pair.server_channel.close()
    assert await within(pair.server.lost) is None
    assert isinstance(await within(pair.client.lost), TransportError)


class _StutteringReader(Recorder):
    """Pauses after every chunk and resumes a moment later, so credit moves in steps."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        assert self.channel is not None
        self.channel.pause_reading()
        asyncio.get_running_loop().call_later(0.002, self.channel.resume_reading)


async def test_every_byte_arrives_over_a_lossy_reordering_path(serve: ServeFactory) -> None:
    transport = make_transport("quic", receive_window=64 * 1024)
    accepted: list[Recorder] = []
    started = asyncio.Event()

    def accept() -> Recorder:
        accepted.append(_StutteringReader())
        started.set()
        return accepted[-1]

    listener = await serve(transport, accept)
    relay = await UdpRelay.start(
        ("127.0.0.1", listener.address[1]),
        Impairment(delay=0.005, jitter=0.002, loss=0.05),
        seed=7,
    )
    try:
        client = Recorder()
        channel = await within(transport.connect(*relay.address, client))
        payload = os.urandom(256 * 1024)
        for offset in range(0, len(payload), 1000):
            channel.write(payload[offset : offset + 1000])
        await within(started.wait())
        assert await accepted[0].wait_bytes(len(payload), 60.0) == payload
        assert relay.stats.dropped > 0
        channel.abort()
        await within(channel.wait_closed())
        await within(accepted[0].lost)
    finally:
        relay.close()


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("max_datagram_size", 1000),
        ("receive_window", 0),
        ("idle_timeout", -1.0),
        ("max_connections", 0),
        ("keepalive", 60.0),
        ("close_timeout", 0),
    ],
)
def test_bad_settings_are_rejected(argument: str, value: float) -> None:
    settings: dict[str, Any] = {argument: value}
    with pytest.raises(ValueError, match=argument):
        QuicTransport(**settings)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (("127.0.0.1", 9000), LOOPBACK_DATAGRAM_SIZE),
        (("::1", 9000, 0, 0), LOOPBACK_DATAGRAM_SIZE),
        (("192.0.2.10", 9000), 1200),
        (("2001:db8::1", 9000, 0, 0), 1200),
    ],
)
def test_datagram_size_is_larger_only_towards_loopback(
    address: tuple[object, ...], expected: int
) -> None:
    assert QuicTransport().datagram_size_for(address) == expected


def test_an_explicit_datagram_size_applies_to_every_peer() -> None:
    transport = QuicTransport(max_datagram_size=1300)
    assert transport.datagram_size_for(("127.0.0.1", 1)) == 1300
    assert transport.datagram_size_for(("192.0.2.10", 1)) == 1300


def test_datagrams_larger_than_udp_allows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"1200\.\.65507"):
        QuicTransport(max_datagram_size=65508)


async def test_finished_connections_are_freed_at_once_not_at_their_timeouts(
    serve: ServeFactory,
) -> None:
    # Timers for the handshake and the close must not keep a finished connection (its
    # buffers, its crypto state) alive until they fire: churn would pile them up.
    transport = make_transport("quic", handshake_timeout=60.0, close_timeout=60.0)
    handlers: list[weakref.ref[Recorder]] = []

    def factory() -> Recorder:
        handler = Recorder(echo=True)
        handlers.append(weakref.ref(handler))
        return handler

    listener = await serve(transport, factory)
    port = listener.address[1]
    clients: list[weakref.ref[Channel]] = []
    for _ in range(5):
        client = Recorder()
        channel = await within(transport.connect("127.0.0.1", port, client))
        channel.write(b"ping")
        assert await client.wait_bytes(4) == b"ping"
        channel.close()  # gracefully: what was written is acknowledged first
        await within(client.lost)
        clients.append(weakref.ref(channel))
        del channel, client
    assert len(handlers) == 5

    def all_freed() -> bool:
        gc.collect()
        return not any(ref() for ref in handlers) and not any(ref() for ref in clients)

    await eventually(all_freed, "every finished connection freed", timeout=10.0, poll=0.2)

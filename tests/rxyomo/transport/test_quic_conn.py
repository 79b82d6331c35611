"""The QUIC connection core without sockets: two StreamConnections joined in memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent, StreamDataReceived

from devtools.quic_pair import CLIENT_ADDRESS, SERVER_ADDRESS, exchange
from rxyomo.transport.certs import dev_certificates
from rxyomo.transport.quic import MAX_DATAGRAM_SIZE, connection
from rxyomo.transport.quic.connection import (
    CLASSIC_PACKET_LIMIT,
    DATA_STREAM,
    MAX_UDP_PAYLOAD_SIZE,
    StreamConnection,
    largest_packet_supported,
)


def _pair(
    tmp_path: Path,
    datagram_size: int,
    *,
    server_announces: int | None = MAX_UDP_PAYLOAD_SIZE,
    client_announces: int | None = MAX_UDP_PAYLOAD_SIZE,
) -> tuple[StreamConnection, StreamConnection]:
    certs = dev_certificates(tmp_path)
    client_config = QuicConfiguration(
        is_client=True, alpn_protocols=["yomo"], max_datagram_size=datagram_size
    )
    client_config.load_verify_locations(cafile=str(certs.ca_certfile))
    client_config.server_name = "localhost"
    server_config = QuicConfiguration(
        is_client=False, alpn_protocols=["yomo"], max_datagram_size=datagram_size
    )
    server_config.load_cert_chain(certs.certfile, certs.keyfile)
    client = StreamConnection(
        configuration=client_config, receive_window=1 << 20, max_udp_payload_size=client_announces
    )
    server = StreamConnection(
        configuration=server_config,
        receive_window=1 << 20,
        max_udp_payload_size=server_announces,
        original_destination_connection_id=client.original_destination_connection_id,
    )
    client.connect(SERVER_ADDRESS, now=0.0)
    return client, server


def _events(connection: StreamConnection) -> list[QuicEvent]:
    """The events ``connection`` has for its owner, in order (it forgets them)."""
    events = []
    while (event := connection.next_event()) is not None:
        events.append(event)
    return events


def _received(connection: StreamConnection) -> bytes:
    return b"".join(
        event.data
        for event in _events(connection)
        if isinstance(event, StreamDataReceived) and event.stream_id == DATA_STREAM
    )


@pytest.mark.parametrize("datagram_size", [1200, 16384, MAX_DATAGRAM_SIZE])
def test_stream_frames_fill_datagrams_of_any_allowed_size(
    tmp_path: Path, datagram_size: int
) -> None:
    client, server = _pair(tmp_path, datagram_size)
    now = exchange(client, server, until=1.0)
    # Patterned bytes, so that a misplaced or truncated frame shows as a mismatch.
    payload = bytes(range(256)) * 1000
    client.send_stream_data(DATA_STREAM, payload)
    sizes: list[int] = []
    exchange(client, server, client_sizes=sizes, now=now, until=now + 5.0)
    assert _received(server) == payload
    assert client.acknowledged_bytes() == len(payload)
    # Packets above what this aioquic build can encrypt are not allowed (1500 bytes on 1.3).
    allowed = largest_packet_supported(datagram_size)
    assert max(sizes) > allowed - 100  # packets are filled, not capped lower
    assert max(sizes) <= allowed


def test_crypto_frames_use_the_wide_length_too(tmp_path: Path) -> None:
    # The handshake itself runs through the overridden CRYPTO writer.
    client, server = _pair(tmp_path, MAX_DATAGRAM_SIZE)
    exchange(client, server, until=1.0)
    assert any(isinstance(event, HandshakeCompleted) for event in _events(client))
    assert any(isinstance(event, HandshakeCompleted) for event in _events(server))


@pytest.mark.parametrize(
    ("announced", "expected"),
    # quic-go announces (and reads) 1452 bytes; a peer that announces nothing is kept at
    # 1200, the size every path carries; an rxyomo peer announces 65527.
    [
        (1452, 1452),
        (None, 1200),
        (MAX_UDP_PAYLOAD_SIZE, largest_packet_supported(MAX_DATAGRAM_SIZE)),
    ],
)
def test_no_datagram_exceeds_what_the_peer_announced(
    tmp_path: Path, announced: int | None, expected: int
) -> None:
    client, server = _pair(
        tmp_path, MAX_DATAGRAM_SIZE, server_announces=announced, client_announces=announced
    )
    sizes: list[int] = []
    server_sizes: list[int] = []
    now = exchange(client, server, client_sizes=sizes, until=1.0, server_sizes=server_sizes)
    assert client.peer_max_udp_payload_size == server.peer_max_udp_payload_size == announced
    assert client.datagram_size == server.datagram_size == expected
    payload = bytes(range(256)) * 1000
    client.send_stream_data(DATA_STREAM, payload)
    now = exchange(
        client, server, client_sizes=sizes, now=now, until=now + 5.0, server_sizes=server_sizes
    )
    server.send_stream_data(DATA_STREAM, payload)  # once the client opened the stream
    exchange(
        client, server, client_sizes=sizes, now=now, until=now + 5.0, server_sizes=server_sizes
    )
    assert _received(server) == payload
    assert _received(client) == payload
    # The handshake's first flights included: before the parameters arrive, 1200 bytes.
    assert max(sizes) == max(server_sizes) == expected


def test_this_end_announces_its_payload_size_and_learns_the_idle_timeout(tmp_path: Path) -> None:
    client, server = _pair(tmp_path, 1200)
    exchange(client, server, until=1.0)
    assert client.peer_max_udp_payload_size == MAX_UDP_PAYLOAD_SIZE
    # aioquic's default idle timeout on both ends (60 s): the lower of the two.
    assert client.peer_idle_timeout == server.peer_idle_timeout == client.idle_timeout() == 60.0


def test_packets_stay_within_what_aioquic_can_encrypt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on aioquic builds whose C packet protection stops at 1500 bytes: a larger packet
    # would fail the connection once written.
    monkeypatch.setattr(
        connection, "largest_packet_supported", lambda size: min(size, CLASSIC_PACKET_LIMIT)
    )
    client, server = _pair(tmp_path, MAX_DATAGRAM_SIZE)
    sizes: list[int] = []
    now = exchange(client, server, client_sizes=sizes, until=1.0)
    assert client.datagram_size == server.datagram_size == CLASSIC_PACKET_LIMIT
    payload = bytes(range(256)) * 1000
    client.send_stream_data(DATA_STREAM, payload)
    exchange(client, server, client_sizes=sizes, now=now, until=now + 5.0)
    assert _received(server) == payload
    assert max(sizes) == CLASSIC_PACKET_LIMIT


def _long_header_packet(first_byte: int, destination: bytes, body: bytes) -> bytes:
    """A QUIC v1 long-header packet with ``body`` as its (unprotected) payload."""
    is_initial = first_byte & 0x30 == 0
    return (
        bytes([first_byte])
        + (1).to_bytes(4, "big")
        + bytes([len(destination)])
        + destination
        + b"\x00"  # no source connection id
        + (b"\x00" if is_initial else b"")  # an Initial's empty token
        + (0x4000 | len(body)).to_bytes(2, "big")
        + body
    )


def test_garbage_behind_a_bogus_initial_is_dropped(tmp_path: Path) -> None:
    # An Initial that cannot be decrypted, then a 0-RTT packet in the same datagram: aioquic
    # 1.3 raised AssertionError out of receive_datagram for it, stopping its caller.
    certs = dev_certificates(tmp_path)
    config = QuicConfiguration(is_client=False, alpn_protocols=["yomo"])
    config.load_cert_chain(certs.certfile, certs.keyfile)
    destination = os.urandom(8)
    server = StreamConnection(
        configuration=config,
        receive_window=1 << 20,
        original_destination_connection_id=destination,
    )
    datagram = _long_header_packet(0xC3, destination, os.urandom(40))
    datagram += _long_header_packet(0xD3, destination, os.urandom(40))
    datagram += bytes(1200 - len(datagram))
    server.receive_datagram(datagram, CLIENT_ADDRESS, now=0.0)
    assert list(server.datagrams_to_send(now=0.0)) == []
    assert server.close_event is None

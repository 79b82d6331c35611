from __future__ import annotations

from typing import Any

import pytest

from rxyomo.protocol.connection import Connection, ConnectionConfig, ConnectionState, Role
from rxyomo.protocol.errors import LocalProtocolError
from rxyomo.protocol.events import (
    ConnectionTerminated,
    ConnectToReceived,
    DataReceived,
    HandshakeAccepted,
    HandshakeReceived,
)
from rxyomo.protocol.extensions import ALL, HEARTBEAT, RECEIPTS, STATS
from rxyomo.protocol.frames import (
    ClientType,
    DataFrame,
    FrameDecoder,
    GoawayFrame,
    HandshakeAckFrame,
    HandshakeFrame,
    RejectedFrame,
    encode_frame,
)
from rxyomo.protocol.reserved import HEARTBEAT_TAG

CFG = ConnectionConfig(handshake_timeout=1.0, heartbeat_interval=2.0, idle_timeout=5.0)
#: An rxyomo client's handshake (it offers every extension) and a YoMo client's (none).
HELLO = HandshakeFrame(
    name="fn", client_type=ClientType.STREAM_FUNCTION, observed_data_tags=(0x10,), extensions=ALL
)
YOMO_HELLO = HandshakeFrame(
    name="fn", client_type=ClientType.STREAM_FUNCTION, observed_data_tags=(0x10,)
)


def pair(now: float = 0.0) -> tuple[Connection, Connection]:
    return Connection(Role.CLIENT, now, CFG), Connection(Role.SERVER, now, CFG)


def shuttle(src: Connection, dst: Connection, now: float) -> list[object]:
    return list(dst.receive_data(src.data_to_send(), now))


def open_pair(
    hello: HandshakeFrame = HELLO, supported: frozenset[str] = ALL
) -> tuple[Connection, Connection]:
    client, server = pair()
    client.send_handshake(hello, 0.0)
    assert shuttle(client, server, 0.0) == [HandshakeReceived(hello)]
    server.accept(0.0, supported)
    [accepted] = shuttle(server, client, 0.0)
    assert accepted == HandshakeAccepted(client.extensions)
    return client, server


def test_extensions_are_agreed_in_the_handshake() -> None:
    client, server = open_pair(supported=frozenset({RECEIPTS, STATS, "future"}))
    assert client.extensions == server.extensions == {RECEIPTS, STATS}
    assert client.peer_is_rxyomo
    assert server.peer_is_rxyomo


def test_a_server_cannot_impose_an_extension() -> None:
    client = Connection(Role.CLIENT, 0.0, CFG)
    client.send_handshake(
        HandshakeFrame(name="s", client_type=0x5F, extensions=frozenset({STATS})), 0.0
    )
    ack = HandshakeAckFrame(frozenset({STATS, HEARTBEAT}))
    [event] = client.receive_data(encode_frame(ack), 0.0)
    assert event == HandshakeAccepted(frozenset({STATS}))
    assert client.next_timer() is None


def test_a_yomo_client_gets_yomo_s_empty_ack_and_nothing_of_rxyomo() -> None:
    client, server = pair()
    client.send_handshake(YOMO_HELLO, 0.0)
    shuttle(client, server, 0.0)
    server.accept(0.0, ALL)
    assert server.data_to_send() == bytes.fromhex("A9 00")  # YoMo's own HandshakeAck
    assert server.extensions == frozenset()
    assert not server.peer_is_rxyomo
    assert server.next_timer() is None  # no heartbeat: QUIC keeps YoMo peers alive
    beat = encode_frame(DataFrame(tag=HEARTBEAT_TAG, payload=b""))
    [event] = server.receive_data(beat, 1.0)  # not a heartbeat here: a frame to account for
    assert isinstance(event, DataReceived)
    assert event.frame.tag == HEARTBEAT_TAG
    server.close("zipper shutting down", 2.0)
    assert server.data_to_send() == b""  # a YoMo client stops for good on a Goaway


def test_a_client_of_a_yomo_zipper_closes_without_goaway() -> None:
    client = Connection(Role.CLIENT, 0.0, CFG)
    client.send_handshake(HELLO, 0.0)
    client.data_to_send()
    [event] = client.receive_data(encode_frame(HandshakeAckFrame()), 0.0)
    assert event == HandshakeAccepted(frozenset())
    assert not client.peer_is_rxyomo
    assert client.next_timer() is None
    assert client.handle_timer(100.0) == []
    client.close("client closing", 1.0)
    assert client.data_to_send() == b""  # YoMo's zipper logs a client's Goaway as unexpected


def test_handshake_then_data_flows_both_ways() -> None:
    client, server = open_pair()
    assert client.state is server.state is ConnectionState.OPEN
    client.send_data(DataFrame(tag=0x10, payload=b"ping"), 0.1)
    assert shuttle(client, server, 0.1) == [DataReceived(DataFrame(tag=0x10, payload=b"ping"))]
    server.send_data(DataFrame(tag=0x11, payload=b"pong"), 0.2)
    assert shuttle(server, client, 0.2) == [DataReceived(DataFrame(tag=0x11, payload=b"pong"))]


def test_bytes_split_anywhere_still_give_the_same_events() -> None:
    client, server = pair()
    client.send_handshake(HELLO, 0.0)
    client_bytes = client.data_to_send()
    events: list[object] = []
    for i in range(len(client_bytes)):
        events += server.receive_data(client_bytes[i : i + 1], 0.0)
    assert events == [HandshakeReceived(HELLO)]


def test_rejected_client_does_not_reconnect() -> None:
    client, server = pair()
    client.send_handshake(HELLO, 0.0)
    shuttle(client, server, 0.0)
    server.reject("unknown function", 0.0)
    assert server.state is ConnectionState.CLOSED
    [event] = shuttle(server, client, 0.0)
    assert event == ConnectionTerminated("unknown function", reconnect=False, by_peer=True)
    assert client.state is ConnectionState.CLOSED


def test_goaway_lets_the_client_come_back() -> None:
    client, server = open_pair()
    server.close("zipper restarting", 1.0)
    [event] = shuttle(server, client, 1.0)
    assert isinstance(event, ConnectionTerminated)
    assert event.reconnect
    assert event.by_peer


def test_goaway_reaches_an_rxyomo_client_with_the_reason() -> None:
    _client, server = open_pair()
    server.close("zipper restarting", 1.0)
    [frame] = FrameDecoder().feed(server.data_to_send())
    assert isinstance(frame, GoawayFrame)
    assert frame.message == "zipper restarting"


def test_data_before_handshake_closes_the_connection() -> None:
    server = Connection(Role.SERVER, 0.0, CFG)
    [event] = server.receive_data(encode_frame(DataFrame(tag=1, payload=b"x")), 0.0)
    assert isinstance(event, ConnectionTerminated)
    assert "before the handshake" in event.reason
    # Who the peer is remains unknown: nothing outside YoMo's protocol is sent to it.
    assert server.data_to_send() == b""
    assert server.is_closed


def test_malformed_bytes_close_the_connection_with_the_reason() -> None:
    server = Connection(Role.SERVER, 0.0, CFG)
    [event] = server.receive_data(b"\x00\x7f\x7f\x7f garbage", 0.0)
    assert isinstance(event, ConnectionTerminated)
    assert event.reason.startswith("malformed frame")
    assert server.state is ConnectionState.CLOSED
    assert server.receive_data(b"more", 0.1) == []  # nothing after close


def test_oversized_frame_is_refused() -> None:
    server = Connection(Role.SERVER, 0.0, ConnectionConfig(max_frame_size=64))
    server.receive_data(encode_frame(HELLO), 0.0)
    server.accept(0.0)
    events = server.receive_data(encode_frame(DataFrame(tag=1, payload=b"x" * 1000)), 0.0)
    assert isinstance(events[-1], ConnectionTerminated)


def test_second_handshake_is_a_protocol_error() -> None:
    _client, server = open_pair()
    events = server.receive_data(encode_frame(HELLO), 1.0)
    assert isinstance(events[-1], ConnectionTerminated)
    assert "unexpected handshake" in events[-1].reason


def test_server_handshake_timeout() -> None:
    server = Connection(Role.SERVER, 0.0, CFG)
    assert server.next_timer() == pytest.approx(1.0)
    assert server.handle_timer(0.5) == []
    [event] = server.handle_timer(1.0)
    assert isinstance(event, ConnectionTerminated)
    assert "timed out" in event.reason
    assert server.next_timer() is None


def test_client_gives_up_waiting_for_the_ack() -> None:
    client = Connection(Role.CLIENT, 0.0, CFG)
    client.send_handshake(HELLO, 0.0)
    [event] = client.handle_timer(1.0)
    assert isinstance(event, ConnectionTerminated)
    assert event.reconnect


def test_quiet_connection_sends_heartbeats_that_are_not_reported() -> None:
    client, server = open_pair()
    assert client.next_timer() == pytest.approx(2.0)
    assert client.handle_timer(2.0) == []
    beat = client.data_to_send()
    [frame] = FrameDecoder().feed(beat)
    assert isinstance(frame, DataFrame)
    assert frame.tag == HEARTBEAT_TAG
    assert server.receive_data(beat, 2.0) == []  # heartbeats never surface as data


def test_silent_peer_expires() -> None:
    _client, server = open_pair()
    for now in (2.0, 4.0):
        server.handle_timer(now)  # server keeps sending heartbeats, client never answers
    [event] = server.handle_timer(5.0)
    assert isinstance(event, ConnectionTerminated)
    assert "no heartbeat" in event.reason


def test_connect_to_reaches_the_client() -> None:
    client, server = open_pair()
    server.connect_to("10.0.0.1:9000", 1.0)
    assert shuttle(server, client, 1.0) == [ConnectToReceived("10.0.0.1:9000")]


def test_local_misuse_raises_naming_the_state() -> None:
    client = Connection(Role.CLIENT, 0.0, CFG)
    with pytest.raises(LocalProtocolError, match="awaiting handshake ack"):
        client.send_data(DataFrame(tag=1, payload=b""), 0.0)
    server = Connection(Role.SERVER, 0.0, CFG)
    with pytest.raises(LocalProtocolError):
        server.accept(0.0)
    with pytest.raises(LocalProtocolError):
        server.send_handshake(HELLO, 0.0)


def test_rejected_frame_from_server_mid_session_stops_reconnects() -> None:
    client, _ = open_pair()
    [event] = client.receive_data(encode_frame(RejectedFrame("token revoked")), 3.0)
    assert event == ConnectionTerminated("token revoked", reconnect=False, by_peer=True)


def test_transport_loss_is_reported_once() -> None:
    client, _ = open_pair()
    [event] = client.connection_lost("reset")
    assert isinstance(event, ConnectionTerminated)
    assert event.reconnect
    assert event.by_peer
    assert client.connection_lost("again") == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_frame_size": 0},
        {"heartbeat_interval": 0},
        {"heartbeat_interval": 5, "idle_timeout": 5},
    ],
)
def test_config_rejects_impossible_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must be positive|must exceed heartbeat_interval"):
        ConnectionConfig(**kwargs)

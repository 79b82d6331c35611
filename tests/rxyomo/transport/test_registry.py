"""get_transport: transports by configuration name."""

from __future__ import annotations

import pytest

from rxyomo.transport import (
    FlowControl,
    MemoryTransport,
    QuicTransport,
    TcpTransport,
    TransportOptions,
    get_transport,
)


@pytest.mark.parametrize(
    ("name", "kind"), [("quic", QuicTransport), ("tcp", TcpTransport), ("memory", MemoryTransport)]
)
def test_names_give_their_transport_with_the_options(name: str, kind: type) -> None:
    options = TransportOptions(flow=FlowControl(high_watermark=10, low_watermark=5))
    transport = get_transport(name, options)
    assert isinstance(transport, kind)
    assert transport.name == name
    # The interface promises no options attribute; each of these transports keeps one.
    assert isinstance(transport, QuicTransport | TcpTransport | MemoryTransport)
    assert transport.options is options


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="memory, quic, tcp"):
        get_transport("carrier-pigeon")


def test_settings_reach_the_transport() -> None:
    transport = get_transport("quic", max_datagram_size=1400, receive_window=65536)
    assert isinstance(transport, QuicTransport)
    assert (transport.max_datagram_size, transport.receive_window) == (1400, 65536)


def test_settings_a_transport_does_not_take_are_rejected() -> None:
    with pytest.raises(ValueError, match="tcp transport"):
        get_transport("tcp", max_datagram_size=1400)

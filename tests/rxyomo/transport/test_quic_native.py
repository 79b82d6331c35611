"""The native QUIC core: how it is chosen, what it counts as acknowledged, packet sizes,
and that it speaks QUIC with the aioquic core both ways.

The behaviour every QUIC transport shares is tested in test_quic.py and
test_contract.py, on whichever core is chosen (the native one once it is installed).
"""

from __future__ import annotations

import os

import pytest

from rxyomo.transport import TransportError
from rxyomo.transport.quic import QuicTransport
from rxyomo.transport.quic.native import (
    AVAILABLE,
    CORE_ENV,
    NativeQuicTransport,
    NativeServer,
    native_chosen,
)
from tests.rxyomo.transport._support import (
    Accepted,
    PairFactory,
    Recorder,
    make_transport,
    within,
)

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(not AVAILABLE, reason="the native QUIC core (rxyomo_quic) is not built"),
]


def test_the_native_core_is_the_default_once_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CORE_ENV, raising=False)
    assert type(QuicTransport()) is NativeQuicTransport
    assert type(QuicTransport(core="aioquic")) is QuicTransport
    monkeypatch.setenv(CORE_ENV, "aioquic")
    assert type(QuicTransport()) is QuicTransport
    assert type(QuicTransport(core="native")) is NativeQuicTransport
    monkeypatch.setenv(CORE_ENV, "quiche")
    with pytest.raises(ValueError, match=CORE_ENV):
        QuicTransport()
    with pytest.raises(ValueError, match="core must be one of"):
        native_chosen("msquic")


def test_asking_for_a_missing_native_core_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rxyomo.transport.quic import native

    monkeypatch.setattr(native, "AVAILABLE", False)
    with pytest.raises(TransportError, match="not installed"):
        native_chosen("native")
    assert not native_chosen(None)


async def test_acknowledgements_are_counted_as_they_arrive(open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport("quic", core="native", max_datagram_size=1452))
    payload = os.urandom(512 * 1024)
    pair.client_channel.write(payload)
    assert pair.client_channel.get_write_buffer_size() == len(payload)
    await pair.server.wait_bytes(len(payload))
    # The write counted from the first byte: the one "!" the pair started with, then these.
    total = 1 + len(payload)
    await pair.client.until(lambda: pair.client_channel.acknowledged_bytes() == total)
    assert pair.client_channel.get_write_buffer_size() == 0
    confirmations = pair.client.confirmations
    assert confirmations == sorted(confirmations)
    assert confirmations[-1] == total
    # Many packets' worth, confirmed in steps as the ACKs came, not all at the end.
    assert len([c for c in confirmations if c > 1]) > 1


async def test_a_paused_reader_s_held_bytes_count_as_acknowledged(
    open_pair: PairFactory,
) -> None:
    # As with aioquic: what the peer's transport holds for its paused reader is confirmed;
    # what its receive window keeps out is not.
    window = 64 * 1024
    pair = await open_pair(make_transport("quic", core="native", receive_window=window))
    pair.server_channel.pause_reading()
    pair.client_channel.write(bytes(8 * window))
    channel = pair.client_channel
    await pair.client.until(lambda: channel.confirmed_bytes(1 + 8 * window) > window // 2)
    assert channel.confirmed_bytes(1 + 8 * window) < 4 * window
    assert len(pair.server.received) == 0
    pair.server_channel.resume_reading()
    await pair.server.wait_bytes(8 * window)
    await pair.client.until(lambda: pair.client_channel.get_write_buffer_size() == 0)


async def test_loopback_packets_are_large_and_a_set_size_is_kept(open_pair: PairFactory) -> None:
    pair = await open_pair(make_transport("quic", core="native"))
    server = pair.listener
    assert isinstance(server, NativeServer)
    channel = pair.server_channel
    assert server.driver.endpoint.datagram_size(channel.handle) == 65507  # type: ignore[attr-defined]
    small = await open_pair(make_transport("quic", core="native", max_datagram_size=1452))
    assert isinstance(small.listener, NativeServer)
    handle = small.server_channel.handle  # type: ignore[attr-defined]
    assert small.listener.driver.endpoint.datagram_size(handle) == 1452


@pytest.mark.parametrize(
    ("server_core", "client_core"), [("aioquic", "native"), ("native", "aioquic")]
)
async def test_the_two_cores_speak_to_each_other(server_core: str, client_core: str) -> None:
    server_transport = make_transport("quic", core=server_core)
    client_transport = make_transport("quic", core=client_core)
    listener = await within(server_transport.serve("127.0.0.1", 0, Accepted(echo=True)))
    try:
        client = Recorder()
        channel = await within(client_transport.connect("127.0.0.1", listener.address[1], client))
        payload = os.urandom(256 * 1024)
        channel.write(payload)
        assert await client.wait_bytes(len(payload)) == payload
        await client.until(lambda: channel.acknowledged_bytes() == len(payload))
        channel.close()
        assert await within(client.lost) is None
    finally:
        listener.close()
        await within(listener.wait_closed())


async def test_client_learns_at_once_that_the_server_process_is_gone(
    open_pair: PairFactory,
) -> None:
    pair = await open_pair(make_transport("quic", core="native"))
    # What a killed server leaves behind: a closed port and no goodbye.
    assert isinstance(pair.listener, NativeServer)
    pair.listener.driver.close()
    pair.server_channel.abort()
    pair.client_channel.write(b"anyone there?")
    error = await within(pair.client.lost, 5.0)
    assert isinstance(error, TransportError)
    assert "nothing listens" in str(error)

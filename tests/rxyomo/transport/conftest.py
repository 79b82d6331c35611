"""Fixtures for the transport tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rxyomo.transport import HandlerFactory, Listener, Transport
from rxyomo.transport.certs import CONFIG_DIR_ENV
from tests.rxyomo.transport._support import (
    Accepted,
    Pair,
    PairFactory,
    Recorder,
    ServeFactory,
    within,
)


@pytest.fixture(scope="session")
def config_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rxyomo-config")


@pytest.fixture(autouse=True)
def config_dir(config_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Development certificates go to a temporary directory, shared by the session."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(config_root))
    return config_root


@pytest.fixture(params=["memory", "tcp", "quic"])
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def serve() -> AsyncIterator[ServeFactory]:
    """Starts listeners and closes them (waiting for their connections) after the test."""
    started: list[Listener] = []

    async def start(
        transport: Transport, factory: HandlerFactory, host: str = "127.0.0.1"
    ) -> Listener:
        listener = await within(transport.serve(host, 0, factory))
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.close()
    for listener in started:
        await within(listener.wait_closed())


@pytest.fixture
async def open_pair() -> AsyncIterator[PairFactory]:
    """Opens connected pairs and tears them all down after the test."""
    opened: list[Pair] = []

    async def factory(transport: Transport, *, host: str = "127.0.0.1", echo: bool = False) -> Pair:
        accepted = Accepted(echo=echo)
        listener = await within(transport.serve(host, 0, accepted))
        client = Recorder()
        channel = await within(transport.connect(host, listener.address[1], client))
        # A QUIC server learns of the connection at the end of the handshake, a
        # TCP one once TLS is up: a first byte makes every transport start it.
        channel.write(b"!")
        server = await accepted.first()
        server_channel = await within(server.made)
        await server.wait_bytes(1)
        if echo:
            await client.wait_bytes(1)
        server.received.clear()
        client.received.clear()
        pair = Pair(transport, listener, client, server, channel, server_channel)
        opened.append(pair)
        return pair

    yield factory
    for pair in opened:
        pair.client_channel.abort()
        pair.server_channel.abort()
        pair.listener.close()
    for pair in opened:
        await within(pair.client_channel.wait_closed())
        await within(pair.server_channel.wait_closed())
        await within(pair.listener.wait_closed())

"""Fixtures for the transport tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rxyomo.transport import Transport
from rxyomo.transport.certs import CONFIG_DIR_ENV
from tests.rxyomo.transport._support import Pair, PairFactory, Recorder, within


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
async def open_pair() -> AsyncIterator[PairFactory]:
    """Opens connected pairs and tears them all down after the test."""
    opened: list[Pair] = []

    async def factory(
        transport: Transport, *, host: str = "127.0.0.1", echo: bool = False
    ) -> Pair:
        servers: list[Recorder] = []
        accepted = asyncio.Event()

        def accept() -> Recorder:
            servers.append(Recorder(echo=echo))
            accepted.set()
            return servers[-1]

        listener = await within(transport.serve(host, 0, accept))
        client = Recorder()
        channel = await within(transport.connect(host, listener.address[1], client))
        # A QUIC server learns of the connection at the end of the handshake, a
        # TCP one once TLS is up: a first byte makes every transport start it.
        channel.write(b"!")
        await within(accepted.wait())
        server = servers[0]
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
        await within(pair.listener.wait_closed())

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from rxyomo.client import ReconnectPolicy
from rxyomo.transport import Transport, format_address
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_certificates, dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from rxyomo.transport.tcp import TcpTransport
from rxyomo.zipper import Zipper, parse_workflow
from tests.waiting import eventually

__all__ = ["FAST", "ZipperFactory", "addr", "eventually", "free_port"]

FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.1)


@pytest.fixture(params=["memory", "quic", "tcp"])
def transport(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Transport:
    """Every runtime test runs over each transport; real ones on loopback."""
    if request.param == "memory":
        # A registry per test: no test sees another's listeners.
        return MemoryTransport(registry=MemoryRegistry())
    monkeypatch.setenv("RXYOMO_CONFIG_DIR", str(tmp_path / "config"))
    dev_certificates()
    # One instance serves (with the development certificate) and connects
    # (trusting the development CA only).
    options = TransportOptions(tls=dev_client_tls())
    return QuicTransport(options) if request.param == "quic" else TcpTransport(options)


def free_port(transport: Transport) -> int:
    """A port that is free right now, for tests that need to know it in advance."""
    if isinstance(transport, MemoryTransport):
        return transport.registry.allocate_port("127.0.0.1")
    kind = socket.SOCK_DGRAM if isinstance(transport, QuicTransport) else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def addr(zipper: Zipper) -> str:
    """A started zipper's address as clients take it (``HOST:PORT``, IPv6 in brackets)."""
    return format_address(zipper.address)


ZipperFactory = Callable[..., Awaitable[Zipper]]


@pytest.fixture
async def make_zipper(transport: MemoryTransport) -> AsyncIterator[ZipperFactory]:
    started: list[Zipper] = []

    async def factory(yaml_text: str, **kwargs: Any) -> Zipper:
        zipper = Zipper(parse_workflow(yaml_text), kwargs.pop("transport", transport), **kwargs)
        await zipper.start()
        started.append(zipper)
        return zipper

    yield factory
    for zipper in started:
        await zipper.close()

"""Fixtures of the observability tests: a real OTLP/HTTP receiver, tracing exporting to
it as the OTEL_* variables configure it, and a zipper with its metrics and live view."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.otlp import OtlpReceiver
from rxyomo.observe import HOOKS, Tracing, disable_tracing, enable_tracing
from rxyomo.observe.tracing import tracer_provider_from_environment
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_certificates, dev_client_tls
from rxyomo.transport.quic import QuicTransport


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def tracing(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracing]:
    """Tracing on, configured by the environment as a deployment would be: the OTLP
    endpoint, the service name and a short export delay."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "rxyomo-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    provider = tracer_provider_from_environment()
    tracing = enable_tracing(provider)
    try:
        yield tracing
    finally:
        disable_tracing()
        provider.shutdown()


@pytest.fixture(autouse=True)
def _no_observers_left() -> Iterator[None]:
    # Each test starts and ends with nothing observing the process.
    HOOKS.tracing = HOOKS.functions = None
    yield
    HOOKS.tracing = HOOKS.functions = None


@pytest.fixture
def quic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QuicTransport:
    """QUIC on loopback with a development certificate made for this test."""
    monkeypatch.setenv("RXYOMO_CONFIG_DIR", str(tmp_path / "config"))
    dev_certificates()
    return QuicTransport(TransportOptions(tls=dev_client_tls()))


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    """Closes what a test started (clients and zippers), newest first."""
    items: list[Any] = []
    yield items
    for item in reversed(items):
        await item.close()

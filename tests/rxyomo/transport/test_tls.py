"""Certificate checks, the same on both TLS transports (QUIC, TLS over TCP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxyomo.transport import TlsConfig, TransportError, dev_certificates
from tests.rxyomo.transport._support import (
    Recorder,
    ServeFactory,
    check_echo,
    make_transport,
    serve_echo,
    within,
)


@pytest.fixture(params=["tcp", "quic"])
def tls_transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_untrusted_certificate_names_the_problem_and_the_fix(
    tls_transport_name: str, serve: ServeFactory
) -> None:
    _, port, accepted = await serve_echo(serve, tls_transport_name)
    client = make_transport(tls_transport_name, tls=TlsConfig())  # system CAs only
    with pytest.raises(TransportError) as failure:
        await within(client.connect("127.0.0.1", port, Recorder()))
    message = str(failure.value)
    assert "certificate" in message
    assert "issuer" in message  # the verifier's own words for an unknown CA
    assert "cafile" in message
    assert "verify=False" in message
    assert accepted.handlers == []


async def test_hostname_mismatch_is_reported(tls_transport_name: str, serve: ServeFactory) -> None:
    _, port, _ = await serve_echo(serve, tls_transport_name)
    tls = TlsConfig(cafile=dev_certificates().ca_certfile, server_name="zipper.example")
    client = make_transport(tls_transport_name, tls=tls)
    with pytest.raises(TransportError, match=r"zipper\.example"):
        await within(client.connect("127.0.0.1", port, Recorder()))


async def test_verification_can_be_turned_off(tls_transport_name: str, serve: ServeFactory) -> None:
    _, port, _ = await serve_echo(serve, tls_transport_name)
    client = make_transport(tls_transport_name, tls=TlsConfig(verify=False))
    await check_echo(client, "127.0.0.1", port, b"ping")


async def test_missing_ca_file_fails_before_connecting(
    tls_transport_name: str, tmp_path: Path
) -> None:
    client = make_transport(tls_transport_name, tls=TlsConfig(cafile=tmp_path / "nope.pem"))
    with pytest.raises(TransportError, match=r"nope\.pem"):
        await within(client.connect("127.0.0.1", 9, Recorder()))

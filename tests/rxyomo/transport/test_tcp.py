"""TLS-over-TCP only: verification, TLS 1.3 minimum, ALPN on both sides."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import pytest

from rxyomo.transport import TcpTransport, TlsConfig, TransportError
from rxyomo.transport.certs import dev_certificates
from tests.rxyomo.transport._support import (
    PairFactory,
    Recorder,
    ServeFactory,
    make_transport,
    serve_echo,
    within,
)


async def test_tls_1_2_clients_are_refused(serve: ServeFactory) -> None:
    _, port, accepted = await serve_echo(serve, "tcp")
    context = ssl.create_default_context(cafile=dev_certificates().ca_certfile)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["yomo"])
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await within(asyncio.open_connection("127.0.0.1", port, ssl=context))
    assert accepted.handlers == []


async def test_server_drops_a_client_speaking_another_alpn(serve: ServeFactory) -> None:
    _, port, accepted = await serve_echo(serve, "tcp")
    context = ssl.create_default_context(cafile=dev_certificates().ca_certfile)
    context.set_alpn_protocols(["h2"])
    reader, writer = await within(asyncio.open_connection("127.0.0.1", port, ssl=context))
    try:
        writer.write(b"hello")
        ended = await within(reader.read())
    except ConnectionError:
        ended = b""  # the server's abort may surface as a reset instead of an EOF
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await within(writer.wait_closed())
    assert ended == b""
    assert accepted.handlers == []


async def test_client_refuses_a_server_speaking_another_alpn() -> None:
    dev = dev_certificates()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(dev.certfile, dev.keyfile)
    context.set_alpn_protocols(["h2"])

    async def ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(ignore, "127.0.0.1", 0, ssl=context)
    try:
        port = server.sockets[0].getsockname()[1]
        client = Recorder()
        tcp = make_transport("tcp", tls=TlsConfig(cafile=dev.ca_certfile))
        with pytest.raises(TransportError, match="ALPN"):
            await within(tcp.connect("127.0.0.1", port, client))
        assert not client.made.done()
    finally:
        server.close()
        await within(server.wait_closed())


async def test_a_close_the_peer_never_completes_becomes_an_abort(
    open_pair: PairFactory,
) -> None:
    pair = await open_pair(make_transport("tcp", close_timeout=0.5))
    pair.client_channel.pause_reading()  # and never resumes
    chunk = bytes(1024 * 1024)
    for _ in range(32):  # far more than the sockets' buffers hold
        pair.server_channel.write(chunk)
    pair.server_channel.close()
    await within(pair.server_channel.wait_closed(), 5.0)
    assert await within(pair.server.lost) is None


@pytest.mark.parametrize("argument", ["handshake_timeout", "close_timeout"])
def test_timeouts_must_be_positive(argument: str) -> None:
    settings: dict[str, Any] = {argument: 0}
    with pytest.raises(ValueError, match=argument):
        TcpTransport(**settings)

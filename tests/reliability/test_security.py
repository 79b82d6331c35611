"""Security: certificates are verified by default and an untrusted one is a clear, typed,
immediate error; a wrong or missing token is rejected and routes nothing; a WebAssembly
function cannot escape its sandbox or take its stream function down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devtools.fuzzing import PROBE, RawClient
from rxyomo.client import ConnectionRejected, Sink, Source, StreamFunction
from rxyomo.protocol.frames import ClientType, DataFrame, HandshakeFrame, encode_frame
from rxyomo.transport import CertificateError, TlsConfig, Transport, get_transport
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.zipper import Zipper, parse_workflow
from rxyomo.zipper.server import ARRIVED_CLOSED
from tests.waiting import eventually
from wasm_host import Limits, TrapCause, WasmFunction, WasmTrap

pytestmark = pytest.mark.network

FIXTURES = Path(__file__).parent / "fixtures"
WAIT = 30.0
TOKEN = "s3cret"


async def started(transport: Transport, text: str) -> tuple[Zipper, str]:
    zipper = Zipper(parse_workflow(text), transport)
    host, port = await zipper.start()
    return zipper, f"{host}:{port}"


@pytest.mark.parametrize("kind", ["quic", "tcp"])
@pytest.mark.parametrize("tls", ["default", "wrong name"])
async def test_an_untrusted_certificate_is_a_clear_error_at_once(
    kind: str, tls: str, config_dir: Path
) -> None:
    # The zipper serves the development certificate, which the system does not trust.
    zipper, address = await started(get_transport(kind), "name: z\nhost: 127.0.0.1\nport: 0\n")
    settings = (
        TlsConfig()
        if tls == "default"
        else TlsConfig(cafile=dev_client_tls().cafile, server_name="zipper.example")
    )
    source = Source("source", zipper=address, transport=kind, tls=settings)
    try:
        # The default reconnect policy retries forever; a certificate is not retried.
        with pytest.raises(CertificateError, match="verified by default") as raised:
            await asyncio.wait_for(source.connect(), WAIT)
        assert (
            ("issuer" in str(raised.value))
            if tls == "default"
            else ("zipper.example" in str(raised.value))
        )
        assert zipper.stats.accepted == 0
    finally:
        await source.close()
        await zipper.close()


async def test_turning_verification_off_is_explicit_and_works(config_dir: Path) -> None:
    zipper, address = await started(get_transport("quic"), "name: z\nhost: 127.0.0.1\nport: 0\n")
    source = Source("source", zipper=address, tls=TlsConfig(verify=False))
    try:
        await asyncio.wait_for(source.connect(), WAIT)
        assert zipper.stats.accepted == 1
    finally:
        await source.close()
        await zipper.close()


@pytest.mark.parametrize("credential", ["", "token:wrong", f"token:{TOKEN}x"])
async def test_a_wrong_or_missing_token_is_rejected_and_routes_nothing(
    credential: str, config_dir: Path
) -> None:
    transport = get_transport("quic", TransportOptions(tls=dev_client_tls()))
    zipper, address = await started(
        transport,
        "name: z\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: sink\n  - name: spy\n"
        f"auth:\n  type: token\n  token: {TOKEN}\n",
    )
    got: list[bytes] = []
    sink = Sink(
        "sink",
        observe=[0x10],
        handler=got.append,
        zipper=address,
        transport=transport,
        credential=f"token:{TOKEN}",
    )
    spied: list[bytes] = []
    spy = Sink(
        "spy",
        observe=[0x10],
        handler=spied.append,
        zipper=address,
        transport=transport,
        credential=credential,
    )
    intruder = Source("intruder", zipper=address, transport=transport, credential=credential)
    try:
        await asyncio.wait_for(sink.connect(), WAIT)
        for client in (spy, intruder):
            with pytest.raises(ConnectionRejected, match="authentication failed"):
                await asyncio.wait_for(client.connect(), WAIT)
        # A raw client pipelines frames behind its bad handshake: none may be routed.
        raw = RawClient()
        host, port = address.rsplit(":", 1)
        channel = await asyncio.wait_for(transport.connect(host, int(port), raw), WAIT)
        hello = HandshakeFrame(
            "raw",
            ClientType.SOURCE,
            auth_name="token" if credential else "",
            auth_payload=credential.partition(":")[2],
        )
        frames = b"".join(encode_frame(DataFrame(0x10, b"smuggled %d" % i)) for i in range(50))
        channel.write(encode_frame(hello) + frames + PROBE)
        assert await raw.until(lambda: raw.lost.done(), WAIT)
        assert raw.closing_frame is not None
        assert "authentication failed" in str(raw.closing_frame)
        assert raw.stats_answers == 0
        # The legitimate path still works, and only it.
        legit = Source("legit", zipper=address, transport=transport, credential=f"token:{TOKEN}")
        await asyncio.wait_for(legit.connect(), WAIT)
        await legit.write(0x10, b"hello")
        await legit.write(0x10, b"marker")  # behind anything routed to the sink before
        await eventually(lambda: b"marker" in got, "the marker", timeout=WAIT)
        assert got == [b"hello", b"marker"]
        assert spied == []
        # The smuggled frames (and the stats request behind them) were counted, unread,
        # never routed.
        assert zipper.stats.rejected == 3
        assert zipper.stats.drops == {ARRIVED_CLOSED: 51}
        await legit.close()
    finally:
        for client in (intruder, spy, sink):
            await client.close()
        await zipper.close()


#: What each command makes the hostile guest do, and how the call must end.
HOSTILE = {
    b"loop forever": TrapCause.DEADLINE,
    b"grow memory without end": TrapCause.MEMORY_LIMIT,
    b"pointer out of bounds": TrapCause.BAD_POINTER,
    b"no end to the result": TrapCause.BAD_POINTER,
    b"unreachable": TrapCause.GUEST_TRAP,
    b"stack overflow": TrapCause.GUEST_TRAP,
    b"write out of bounds": TrapCause.GUEST_TRAP,
    b"host call, bad pointers": TrapCause.BAD_POINTER,
    b"13-byte alloc": TrapCause.BAD_POINTER,  # 13 bytes: malloc answers past the end
}


async def test_a_hostile_webassembly_function_cannot_take_its_stream_function_down() -> None:
    guest = WasmFunction(
        FIXTURES / "hostile.wat",
        "handle",
        limits=Limits(timeout=0.2, max_memory=16 << 20),
        use_cache=False,
    )
    causes: list[TrapCause] = []

    def handler(data: bytes) -> tuple[int, bytes]:
        try:
            result = guest(data)
        except WasmTrap as trap:
            causes.append(trap.cause)
            raise
        assert isinstance(result, bytes)
        return 0x11, result

    transport = MemoryTransport(registry=MemoryRegistry())
    zipper, address = await started(
        transport, "name: z\nhost: m\nport: 1\nfunctions:\n  - name: wasm\n  - name: sink\n"
    )
    got: list[bytes] = []
    function = StreamFunction(
        "wasm", observe=[0x10], handler=handler, zipper=address, transport=transport
    )
    sink = Sink("sink", observe=[0x11], handler=got.append, zipper=address, transport=transport)
    source = Source("source", zipper=address, transport=transport)
    try:
        for client in (function, sink, source):
            await client.connect()
        expected: list[bytes] = []
        for number, command in enumerate(HOSTILE):
            await source.write(0x10, command)
            good = b"echo %d" % number  # every hostile frame is followed by a good one
            await source.write(0x10, good)
            expected.append(good)
        await eventually(lambda: len(got) >= len(expected), "the good frames", timeout=WAIT)
        assert got == expected, "a good frame after a hostile one was not answered"
        assert causes == list(HOSTILE.values())
        assert function.errors == len(HOSTILE)
        assert function.is_connected
        assert guest.stats.traps == len(HOSTILE)
    finally:
        for client in (source, sink, function):
            await client.close()
        await zipper.close()
        guest.close()

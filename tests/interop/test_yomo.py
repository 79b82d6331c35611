"""rxyomo beside the real YoMo v1.22.3, on default settings, over QUIC on loopback.

Each test puts YoMo's own zipper, sources and stream functions (the Go harness, built
from YoMo's public API) beside rxyomo's, in every direction: rxyomo clients on YoMo's
zipper, YoMo clients on rxyomo's zipper, chains that cross both ways, token auth,
metadata, idle connections, bulk traffic and a mesh of one zipper of each.

Payloads start with an 8-byte big-endian sequence number, so that every side can tell
a missing frame from a duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from devtools.harness import Event, HarnessGroup, HarnessProcess, event, yomo_zipper_config
from devtools.processes import free_udp_port
from rxyomo.client import ConnectionRejected, Context, Sink, Source, StreamFunction
from rxyomo.client.stats import fetch_stats
from rxyomo.protocol.metadata import SOURCE_ID
from rxyomo.transport.base import TlsConfig, TransportOptions
from rxyomo.transport.certs import dev_certificates, dev_client_tls
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper import Zipper, parse_workflow
from tests.waiting import eventually

pytestmark = pytest.mark.network

#: Every wait is bounded by this many seconds.
TIMEOUT = 30.0
#: YoMo's zipper uses a self-signed certificate its clients do not verify by default.
YOMO_TLS = TlsConfig(verify=False)


def payload(seq: int, size: int) -> bytes:
    return seq.to_bytes(8, "big") + bytes(size - 8)


def seq_of(data: bytes) -> int:
    return int.from_bytes(data[:8], "big")


async def until(proc: HarnessProcess, predicate: Callable[[Event], bool]) -> Event:
    """Wait for a harness event without blocking the event loop the rxyomo side runs on."""
    return await asyncio.to_thread(proc.wait_for, predicate, TIMEOUT)


def counted(frames: int) -> Callable[[Event], bool]:
    return lambda e: e["event"] == "count" and e["frames"] >= frames


@pytest.fixture(autouse=True)
def _dev_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rxyomo's zipper generates its development certificate here; YoMo's clients take it
    # unverified, as they take YoMo's own.
    monkeypatch.setenv("RXYOMO_CONFIG_DIR", str(tmp_path / "config"))
    dev_certificates()


@asynccontextmanager
async def rxyomo_zipper(
    functions: list[str], *, token: str | None = None, mesh: str = ""
) -> AsyncIterator[tuple[Zipper, str]]:
    """An rxyomo zipper on default settings (QUIC, development certificate)."""
    port = free_udp_port()
    lines = [f"name: rx-{port}", "host: 127.0.0.1", f"port: {port}", "functions:"]
    lines += [f"  - name: {name}" for name in functions]
    if token:
        lines += ["auth:", "  type: token", f"  token: {token}"]
    zipper = Zipper(parse_workflow("\n".join(lines) + "\n" + mesh), QuicTransport())
    await zipper.start()
    try:
        yield zipper, f"127.0.0.1:{port}"
    finally:
        await zipper.close()


def yomo_zipper(
    processes: HarnessGroup,
    tmp_path: Path,
    *,
    token: str | None = None,
    mesh: dict[str, tuple[str, int, str]] | None = None,
    port: int | None = None,
) -> str:
    """YoMo's zipper, as ``yomo serve`` runs it; returns its address once it listens."""
    port = port or free_udp_port()
    config = yomo_zipper_config(
        tmp_path / f"yomo-{port}.yaml", name=f"yomo-{port}", port=port, token=token, mesh=mesh
    )
    zipper = processes.start(["zipper", "--config", str(config)], name=f"yomo zipper {port}")
    address: str = zipper.wait_event("listening", TIMEOUT)["addr"]
    return address


def yomo_sfn(
    processes: HarnessGroup, zipper: str, name: str, observe: int, *extra: str
) -> HarnessProcess:
    args = ["sfn", "--zipper", zipper, "--name", name, "--observe", hex(observe), *extra]
    return processes.start(args, name=f"yomo {name}")


def yomo_source(
    processes: HarnessGroup, zipper: str, tag: int, count: int, size: int, *extra: str
) -> HarnessProcess:
    # --hold: YoMo's Source.Close drops what is still in flight; stay a moment.
    args = ["source", "--zipper", zipper, "--name", "yomo-source", "--tag", hex(tag)]
    args += ["--count", str(count), "--size", str(size), "--hold", "1", *extra]
    return processes.start(args, name="yomo source")


class Collector:
    """An rxyomo sink's record: sequence numbers and the metadata they came with."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.metadata: dict[int, dict[str, str]] = {}

    def __call__(self, ctx: Context) -> None:
        seq = seq_of(ctx.data)
        self.seqs.append(seq)
        self.metadata[seq] = dict(ctx.metadata)

    def complete(self, count: int) -> bool:
        return len(self.seqs) >= count

    def check(self, count: int) -> None:
        assert sorted(self.seqs) == list(range(count)), "each frame once, none missing"


def assert_quiet(processes: HarnessGroup) -> None:
    """No YoMo part met an error (reserved tags, unexpected frames, dropped connections)."""
    for proc in processes:
        errors = [e for e in proc.events("error") if not e.get("during_close")]
        assert errors == [], f"{proc.name}: {errors}\n{proc.stderr_tail()}"


# 1. YoMo's zipper with rxyomo's source, function and sink -----------------------------


async def test_rxyomo_clients_on_yomo_s_zipper(
    yomo_processes: HarnessGroup, tmp_path: Path
) -> None:
    zipper = yomo_zipper(yomo_processes, tmp_path)
    sink_got = Collector()

    def upper(ctx: Context) -> None:
        ctx.write(0x11, ctx.data)

    function = StreamFunction("echo", observe=[0x10], handler=upper, zipper=zipper, tls=YOMO_TLS)
    sink = Sink("sink", observe=[0x11], handler=sink_got, zipper=zipper, tls=YOMO_TLS)
    source = Source("rx-source", zipper=zipper, tls=YOMO_TLS)
    for client in (function, sink, source):
        await asyncio.wait_for(client.connect(), TIMEOUT)
    # No rxyomo extension with YoMo's zipper: nothing reserved goes its way.
    assert function.extensions == sink.extensions == source.extensions == frozenset()
    for seq in range(200):
        await source.write(0x10, payload(seq, 1024), metadata={"user-key": "kept"})
    await eventually(lambda: sink_got.complete(200), "200 frames at the sink", TIMEOUT)
    await source.close()
    sink_got.check(200)
    # Counted delivered on YoMo's transport acknowledgements, none dropped.
    assert source.delivery.as_dict() == {
        "written": 200,
        "confirmed": 200,
        "in_flight": 0,
        "drops": {},
        "unknown": {},
    }
    meta = sink_got.metadata[0]
    assert meta["user-key"] == "kept"
    assert meta[SOURCE_ID] == source.id
    for client in (function, sink):
        assert client.is_connected
        assert client.errors == 0
        await client.close()


# 2. rxyomo's zipper with YoMo's source and functions -------------------------------------


async def test_yomo_clients_on_rxyomo_s_zipper(yomo_processes: HarnessGroup) -> None:
    async with rxyomo_zipper(["echo", "sink"]) as (zipper, address):
        echo = yomo_sfn(yomo_processes, address, "echo", 0x10, "--reply", "0x11")
        sink = yomo_sfn(yomo_processes, address, "sink", 0x11)
        for proc in (echo, sink):
            await until(proc, event("connected"))
        source = yomo_source(yomo_processes, address, 0x10, 200, 1024)
        assert (await until(source, event("done")))["written"] == 200
        final = await until(sink, counted(200))
        assert (final["frames"], final["duplicates"]) == (200, 0)
        # Only the source's frames reached YoMo's handlers: no heartbeat, no receipt.
        assert {e["tag"] for e in echo.events("frame")} == {0x10}
        assert {e["tag"] for e in sink.events("frame")} == {0x11}
        assert sorted(e["seq"] for e in sink.events("frame")) == list(range(200))
        assert zipper.stats.drops == {}
        assert_quiet(yomo_processes)


# 3 and 5. Chains across both, with metadata kept on every answer -------------------------


async def test_yomo_source_to_rxyomo_function_to_yomo_function(
    yomo_processes: HarnessGroup, tmp_path: Path
) -> None:
    zipper = yomo_zipper(yomo_processes, tmp_path)
    seen: list[Context] = []

    def relay(ctx: Context) -> None:
        seen.append(ctx)
        ctx.write(0x11, ctx.data)

    function = StreamFunction("relay", observe=[0x10], handler=relay, zipper=zipper, tls=YOMO_TLS)
    await function.connect()
    last = yomo_sfn(yomo_processes, zipper, "last", 0x11)
    await until(last, event("connected"))
    yomo_source(yomo_processes, zipper, 0x10, 50, 64)
    await until(last, counted(50))
    first = await until(last, event("frame", seq=0))
    # The rxyomo function saw YoMo's source id and tid, and its answer kept them.
    at_relay = next(ctx for ctx in seen if seq_of(ctx.data) == 0)
    assert at_relay.tag == 0x10
    assert at_relay.source_id
    assert at_relay.tid
    assert (first["source_id"], first["tid"]) == (at_relay.source_id, at_relay.tid)
    await function.close()
    assert_quiet(yomo_processes)


async def test_rxyomo_source_to_yomo_function_to_rxyomo_function_to_yomo_sink(
    yomo_processes: HarnessGroup,
) -> None:
    async with rxyomo_zipper(["yomo-echo", "rx-relay", "yomo-sink"]) as (_, address):
        tls = dev_client_tls()
        echo = yomo_sfn(
            yomo_processes, address, "yomo-echo", 0x10, "--reply", "0x11", "--meta-keys", "user-key"
        )

        def relay(ctx: Context) -> None:
            ctx.write(0x12, ctx.data)

        function = StreamFunction(
            "rx-relay", observe=[0x11], handler=relay, zipper=address, tls=tls
        )
        sink = yomo_sfn(yomo_processes, address, "yomo-sink", 0x12, "--meta-keys", "user-key")
        await function.connect()
        for proc in (echo, sink):
            await until(proc, event("connected"))
        source = Source("rx-source", zipper=address, tls=tls)
        await source.connect()
        for seq in range(50):
            await source.write(0x10, payload(seq, 64), metadata={"user-key": f"v{seq}"})
        tid = source.last_tid
        await until(sink, counted(50))
        # A custom key, the source id and the tid, kept across YoMo's and rxyomo's answers.
        last = await until(sink, event("frame", seq=49))
        assert last["meta"]["user-key"] == "v49"
        assert (last["source_id"], last["tid"]) == (source.id, tid)
        assert (await until(echo, event("frame", seq=49)))["meta"]["user-key"] == "v49"
        await source.close()
        assert source.delivery.confirmed == 50
        assert source.delivery.drops == {}
        await function.close()
        assert_quiet(yomo_processes)


# 4. Token auth, both ways ----------------------------------------------------------------


async def test_token_auth_both_ways(yomo_processes: HarnessGroup, tmp_path: Path) -> None:
    yomo = yomo_zipper(yomo_processes, tmp_path, token="s3cret")
    right = Source("right", zipper=yomo, tls=YOMO_TLS, credential="token:s3cret")
    await asyncio.wait_for(right.connect(), TIMEOUT)
    await right.close()
    wrong = Source("wrong", zipper=yomo, tls=YOMO_TLS, credential="token:nope")
    with pytest.raises(ConnectionRejected, match="invalid token"):
        await asyncio.wait_for(wrong.connect(), TIMEOUT)

    async with rxyomo_zipper(["unused"], token="s3cret") as (zipper, address):
        base = ["source", "--zipper", address, "--tag", "0x10", "--count", "1"]
        good = yomo_processes.start([*base, "--credential", "token:s3cret"], name="good")
        await until(good, event("connected"))
        bad = yomo_processes.start([*base, "--credential", "token:nope"], name="bad")
        await until(bad, event("connect_error"))
        assert await asyncio.to_thread(bad.wait, TIMEOUT) == 3  # rejected: it does not retry
        none = yomo_processes.start(base, name="none")
        await until(none, event("connect_error"))
        assert zipper.stats.rejected == 2


# 6. Idle clients stay connected ----------------------------------------------------------

IDLE = 32.0


async def test_idle_clients_stay_connected_on_both_zippers(
    yomo_processes: HarnessGroup, tmp_path: Path
) -> None:
    yomo = yomo_zipper(yomo_processes, tmp_path)
    at_yomo = Collector()
    rx_sink = Sink("idle-sink", observe=[0x10], handler=at_yomo, zipper=yomo, tls=YOMO_TLS)
    rx_source = Source("idle-source", zipper=yomo, tls=YOMO_TLS)
    # A client tells its error handler of every connection that broke, before it reconnects.
    errors: list[BaseException] = []
    for client in (rx_sink, rx_source):
        client.set_error_handler(errors.append)
        await client.connect()
    async with rxyomo_zipper(["idle-sink"]) as (zipper, address):
        go_sink = yomo_sfn(yomo_processes, address, "idle-sink", 0x10)
        await until(go_sink, event("connected"))
        go_source = yomo_source(yomo_processes, address, 0x10, 1, 64, "--idle", str(IDLE))
        await until(go_source, event("connected"))
        await asyncio.sleep(IDLE)  # scenario: both ways idle, only QUIC keeps them alive
        await rx_source.write(0x10, payload(0, 64))
        await eventually(lambda: at_yomo.complete(1), "the frame after the idle time", TIMEOUT)
        await until(go_sink, counted(1))
        # Nobody reconnected: no connection broke, and the zipper accepted each once.
        assert errors == []
        assert rx_sink.is_connected
        assert rx_source.is_connected
        assert zipper.stats.accepted == 2
        assert zipper.stats.closed == 0
        assert_quiet(yomo_processes)
    for client in (rx_source, rx_sink):
        await client.close()


# 7. Bulk traffic at full rate, both ways -------------------------------------------------


@pytest.mark.parametrize(("size", "count"), [(1024, 3000), (64 * 1024, 300)])
async def test_full_rate_through_yomo_s_zipper(
    yomo_processes: HarnessGroup, tmp_path: Path, size: int, count: int
) -> None:
    zipper = yomo_zipper(yomo_processes, tmp_path)
    got = Collector()
    sink = Sink("bulk-sink", observe=[0x10], handler=got, zipper=zipper, tls=YOMO_TLS)
    source = Source("bulk-source", zipper=zipper, tls=YOMO_TLS)
    for client in (sink, source):
        await client.connect()
    for seq in range(count):
        await source.write(0x10, payload(seq, size))
    await eventually(lambda: got.complete(count), f"{count} frames", TIMEOUT)
    await source.close()
    got.check(count)
    assert source.delivery.confirmed == count
    await sink.close()


@pytest.mark.parametrize(("size", "count"), [(1024, 3000), (64 * 1024, 300)])
async def test_full_rate_through_rxyomo_s_zipper(
    yomo_processes: HarnessGroup, size: int, count: int
) -> None:
    # Bulk from rxyomo's zipper to a Go client: its packets must fit quic-go's 1452 bytes.
    async with rxyomo_zipper(["bulk-sink"]) as (zipper, address):
        sink = yomo_sfn(yomo_processes, address, "bulk-sink", 0x10, "--quiet")
        await until(sink, event("connected"))
        source = yomo_source(yomo_processes, address, 0x10, count, size)
        assert (await until(source, event("done")))["written"] == count
        final = await until(sink, counted(count))
        assert (final["frames"], final["duplicates"], final["bytes"]) == (count, 0, count * size)
        # And rxyomo's own source the same way, on the same zipper.
        rx_source = Source("rx-bulk", zipper=address, tls=dev_client_tls())
        await rx_source.connect()
        for seq in range(count):
            await rx_source.write(0x10, payload(seq, size))
        await until(sink, counted(2 * count))
        await rx_source.close()
        assert rx_source.delivery.confirmed == count
        assert zipper.stats.drops == {}
        stats: dict[str, Any] = await fetch_stats(address, tls=dev_client_tls())
        assert stats["accepted"] >= 3
        assert_quiet(yomo_processes)


# 8. A mesh of one zipper of each ---------------------------------------------------------


async def test_a_mesh_of_an_rxyomo_zipper_and_a_yomo_zipper(
    yomo_processes: HarnessGroup, tmp_path: Path
) -> None:
    yomo_port, rx_port = free_udp_port(), free_udp_port()
    yomo = yomo_zipper(
        yomo_processes, tmp_path, port=yomo_port, mesh={"rx": ("127.0.0.1", rx_port, "")}
    )
    mesh = f"mesh:\n  yomo:\n    host: 127.0.0.1\n    port: {yomo_port}\n"
    workflow = parse_workflow(
        f"name: rx\nhost: 127.0.0.1\nport: {rx_port}\nfunctions:\n  - name: rx-sink\n{mesh}"
    )
    zipper = Zipper(workflow, QuicTransport(TransportOptions(tls=YOMO_TLS)))
    await zipper.start()
    try:
        address = f"127.0.0.1:{rx_port}"
        at_rx = Collector()
        rx_sink = Sink(
            "rx-sink", observe=[0x20], handler=at_rx, zipper=address, tls=dev_client_tls()
        )
        await rx_sink.connect()
        go_sink = yomo_sfn(yomo_processes, yomo, "go-sink", 0x10)
        await until(go_sink, event("connected"))
        await eventually(lambda: all(link.is_connected for link in zipper.mesh), "mesh link")
        await eventually(lambda: zipper.stats.accepted >= 2, "YoMo's downstream link", TIMEOUT)
        # rxyomo's source on rxyomo's zipper reaches YoMo's sink on YoMo's zipper ...
        rx_source = Source("rx-source", zipper=address, tls=dev_client_tls())
        await rx_source.connect()
        for seq in range(100):
            await rx_source.write(0x10, payload(seq, 256))
        final = await until(go_sink, counted(100))
        assert final["duplicates"] == 0
        # ... and YoMo's source on YoMo's zipper reaches rxyomo's sink on rxyomo's.
        yomo_source(yomo_processes, yomo, 0x20, 100, 256)
        await eventually(lambda: at_rx.complete(100), "100 frames across the mesh", TIMEOUT)
        at_rx.check(100)
        await rx_source.close()
        await rx_sink.close()
        assert_quiet(yomo_processes)
    finally:
        await zipper.close()

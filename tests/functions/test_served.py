"""Hosted functions connected to a real zipper (in memory, and over QUIC on loopback):
answers under the reply tag with the version in their metadata, a hostile function
beside a healthy one, and a reload under load with every frame accounted for."""

from __future__ import annotations

import asyncio
import contextlib
import io
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rxyomo import Sink, Source, Zipper, parse_workflow
from rxyomo.client import ReconnectPolicy
from rxyomo.functions import VERSION_KEY, FunctionHost, function_config, serve_host
from rxyomo.protocol.metadata import TID
from rxyomo.transport import Transport, format_address
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from tests.functions.conftest import GuestFactory
from tests.functions.guests import write_guest
from tests.functions.received import Received
from tests.waiting import eventually

pytest.importorskip("wasmtime")

WORKFLOW = """\
name: edge
host: 127.0.0.1
port: 0
functions:
  - name: echo
  - name: upper
  - name: hostile-spin
  - name: hostile-hog
  - name: hostile-crash
  - name: printer
"""

FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.1)


@pytest.fixture(params=["memory", pytest.param("quic", marks=pytest.mark.network)])
def transport(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Transport:
    if request.param == "memory":
        return MemoryTransport(registry=MemoryRegistry())
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    dev_certificates()
    return QuicTransport(TransportOptions(tls=dev_client_tls()))


@pytest.fixture
async def zipper(transport: Transport) -> AsyncIterator[Zipper]:
    started = Zipper(parse_workflow(WORKFLOW), transport)
    await started.start()
    yield started
    await started.close()


@dataclass
class Edge:
    """A zipper, a host served to it, a source and a sink."""

    host: FunctionHost
    source: Source
    received: Received
    out: io.StringIO
    stop: asyncio.Event
    serving: asyncio.Task[int]


OpenEdge = Callable[..., Awaitable[Edge]]


@pytest.fixture
async def edge(
    zipper: Zipper, transport: Transport
) -> AsyncIterator[Callable[..., Awaitable[Edge]]]:
    address = format_address(zipper.address)
    opened: list[tuple[Edge, Sink]] = []

    async def open_edge(host: FunctionHost, *, expect: int | None = None) -> Edge:
        received = Received()
        sink = Sink(
            "printer", observe=[0x11], handler=received.handler, zipper=address,
            transport=transport, reconnect=FAST,
        )  # fmt: skip
        await sink.connect()
        out, stop = io.StringIO(), asyncio.Event()
        serving = asyncio.get_running_loop().create_task(
            serve_host(
                host, stop=stop, out=out, zipper=address, transport=transport, reconnect=FAST
            )
        )
        wanted = expect if expect is not None else len(host)
        await eventually(lambda: out.getvalue().count("serving") == wanted, "functions connected")
        source = Source("camera", zipper=address, transport=transport, reconnect=FAST)
        await source.connect()
        made = Edge(host, source, received, out, stop, serving)
        opened.append((made, sink))
        return made

    yield open_edge
    for made, sink in opened:
        made.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(made.serving, 10)
        await made.source.close()
        await sink.close()
        made.host.close(timeout=2)


async def test_a_wasm_function_answers_under_its_reply_tag_with_its_version(
    edge: OpenEdge, make_guest: GuestFactory
) -> None:
    host = FunctionHost()
    runner = host.add(
        function_config("echo", make_guest("v1:"), observe=[0x10], export="echo", reply=0x11)
    )
    made = await edge(host)
    assert "serving echo (wasm guest.wat:echo, observes 0x10, reply 0x11)" in made.out.getvalue()
    tids = []
    for index in range(50):
        await made.source.write(0x10, b"frame %d" % index, metadata={"user-key": "u"})
        tids.append(made.source.last_tid)
    await eventually(lambda: len(made.received.items) == 50, "50 answers")
    assert [data for data, _ in made.received.items] == [b"v1:frame %d" % i for i in range(50)]
    for (_, meta), tid in zip(made.received.items, tids, strict=True):
        assert meta[VERSION_KEY] == runner.version.version
        assert meta[TID] == tid  # answers carry the frame's metadata, as YoMo's do
        assert meta["user-key"] == "u"
    assert runner.snapshot()["handled"] == 50
    made.stop.set()
    assert await asyncio.wait_for(made.serving, 10) == 0


async def test_a_python_function_answers(edge: OpenEdge, tmp_path: Path) -> None:
    app = tmp_path / "upper.py"
    app.write_text(
        textwrap.dedent(
            """
            from rxyomo import Context

            def observe_datatags():
                return [0x10]

            def handler(ctx: Context) -> None:
                ctx.write(0x11, ctx.data.upper())
                ctx.write(0x11, b"and " + ctx.data)
            """
        )
    )
    host = FunctionHost()
    host.add(function_config("upper", app))
    made = await edge(host)
    await made.source.write(0x10, b"hello")
    await eventually(lambda: len(made.received.items) == 2, "two answers")
    assert [data for data, _ in made.received.items] == [b"HELLO", b"and hello"]
    assert made.received.items[0][1][VERSION_KEY] == host.runner("upper").version.version


async def test_a_healthy_function_serves_a_shared_source_beside_hostile_ones(
    edge: OpenEdge, make_guest: GuestFactory
) -> None:
    guest = make_guest("ok:")
    host = FunctionHost()
    host.add(function_config("echo", guest, observe=[0x10], export="echo", reply=0x11))
    for export in ("spin", "hog", "crash"):
        host.add(
            function_config(
                f"hostile-{export}", guest, observe=[0x10], export=export,
                limits={"timeout_ms": 100, "memory": "8MiB", "queue": 8},
            )
        )  # fmt: skip
    made = await edge(host)
    count = 300
    for index in range(count):
        await made.source.write(0x10, b"%d" % index)
    await eventually(lambda: len(made.received.items) == count, f"{count} answers", timeout=30)
    answers = sorted(data for data, _ in made.received.items)
    assert answers == sorted(b"ok:%d" % i for i in range(count))
    stats = host.snapshot()
    assert stats["echo"]["handled"] == count
    assert stats["echo"]["errors"] == {}
    await eventually(
        lambda: all(
            host.runner(f"hostile-{e}").snapshot()["frames"] == count
            for e in ("spin", "hog", "crash")
        ),
        "every frame reached the hostile functions too",
        timeout=30,
    )
    for export in ("spin", "hog", "crash"):
        hostile = host.snapshot()[f"hostile-{export}"]
        assert hostile["quarantines"] >= 1
        assert hostile["handled"] == 0
        assert sum(hostile["errors"].values()) == count


async def test_reload_under_load_every_frame_once_and_named(
    edge: OpenEdge, make_guest: GuestFactory
) -> None:
    guest = make_guest("v1:")
    host = FunctionHost()
    runner = host.add(
        function_config(
            "echo", guest, observe=[0x10], export="echo", reply=0x11, limits={"instances": 2}
        )
    )
    first = runner.version.version
    made = await edge(host)
    count, after = 600, 100
    loop = asyncio.get_running_loop()

    async def write(frames: range) -> None:
        for index in frames:
            await made.source.write(0x10, b"#%d" % index)

    # The reload lands while frames stream; those written once it returned are the new
    # version's whatever the machine's pace (the earlier ones may be either's).
    writing = loop.create_task(write(range(count - after)))
    await eventually(lambda: len(made.received.items) >= 150, "some answers", timeout=30)
    write_guest(guest, "v2:")
    reload = await loop.run_in_executor(None, host.reload, "echo")
    assert reload.changed
    await writing
    await write(range(count - after, count))
    await eventually(lambda: len(made.received.items) == count, f"{count} answers", timeout=30)
    seen = made.received.by_frame({"v1:": first, "v2:": reload.version})
    assert sorted(seen) == list(range(count))  # none lost
    assert set(seen.values()) == {"v1:", "v2:"}
    assert all(seen[index] == "v2:" for index in range(count - after, count))

"""Functions the zipper serves itself (a workflow entry with ``wasm:`` or ``python:``),
in memory and over QUIC on loopback: answers routed on with the frame's metadata and the
version, back-pressure from a full function reaching the source, a bad module refused at
start by name while the others serve, and reloads under load with every frame accounted
for (through ``rxyomo reload``'s request and through the file watcher)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rxyomo import Sink, Source, StreamFunction, Zipper, load_workflow, parse_workflow
from rxyomo.client import ConnectionRejected, ReconnectPolicy
from rxyomo.client.stats import fetch_stats, reload_functions
from rxyomo.functions import VERSION_KEY
from rxyomo.protocol.metadata import TID
from rxyomo.transport import Transport, format_address
from rxyomo.transport.base import FlowControl, TransportOptions
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from tests.functions.gates import gate, python_function
from tests.functions.guests import write_guest
from tests.functions.received import Received
from tests.waiting import eventually, holds_for

pytest.importorskip("wasmtime")

FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.1)
# Small buffers, so that back-pressure shows with little data.
FLOW = FlowControl(high_watermark=32 * 1024, low_watermark=8 * 1024)
WINDOW = 32 * 1024

ECHO = """\
  - name: echo
    wasm: echo.wat
    observe: [0x10]
    export: echo
    reply: 0x11
    limits: {{instances: {instances}, queue: {queue}}}
"""


@pytest.fixture(params=["memory", pytest.param("quic", marks=pytest.mark.network)])
def transport(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Transport:
    if request.param == "memory":
        return MemoryTransport(TransportOptions(flow=FLOW), registry=MemoryRegistry())
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    dev_certificates()
    return QuicTransport(TransportOptions(tls=dev_client_tls(), flow=FLOW), receive_window=WINDOW)


@dataclass
class Edge:
    """A zipper serving functions, a source and a sink."""

    zipper: Zipper
    address: str
    transport: Transport
    source: Source
    received: Received

    async def stats(self) -> dict[str, Any]:
        """The served functions' stats, as ``rxyomo stats`` gets them."""
        data = await fetch_stats(self.address, self.transport)
        functions: dict[str, Any] = data["functions"]
        return functions


OpenEdge = Callable[..., Awaitable[Edge]]


@pytest.fixture
async def edge(transport: Transport, tmp_path: Path) -> AsyncIterator[OpenEdge]:
    opened: list[tuple[Zipper, Source, Sink]] = []

    async def open_edge(functions: str, *, watch: bool = False) -> Edge:
        path = tmp_path / "workflow.yaml"
        path.write_text(
            f"name: edge\nhost: 127.0.0.1\nport: 0\nfunctions:\n{functions}  - name: printer\n"
        )
        zipper = Zipper(load_workflow(path), transport, watch_functions=watch)
        await zipper.start()
        address = format_address(zipper.address)
        received = Received()
        common: dict[str, Any] = {"zipper": address, "transport": transport, "reconnect": FAST}
        sink = Sink("printer", observe=[0x11], handler=received.handler, **common)
        await sink.connect()
        source = Source("camera", **common)
        await source.connect()
        opened.append((zipper, source, sink))
        return Edge(zipper, address, transport, source, received)

    yield open_edge
    for zipper, source, sink in opened:
        await source.close()
        await sink.close()
        await zipper.close()


async def test_a_served_function_answers_with_the_frames_metadata_and_its_version(
    edge: OpenEdge, tmp_path: Path
) -> None:
    write_guest(tmp_path / "echo.wat", "v1:")
    made = await edge(ECHO.format(instances=1, queue=64))
    tids = []
    for index in range(50):
        await made.source.write(0x10, b"frame %d" % index, metadata={"user-key": "u"})
        tids.append(made.source.last_tid)
    await eventually(lambda: len(made.received.items) == 50, "50 answers")
    assert made.received.data == [b"v1:frame %d" % i for i in range(50)]  # one worker: in order
    stats = (await made.stats())["echo"]
    for (_, meta), tid in zip(made.received.items, tids, strict=True):
        assert meta[VERSION_KEY] == stats["version"]
        assert meta[TID] == tid  # answers carry the frame's metadata, as YoMo's do
        assert meta["user-key"] == "u"
    assert (stats["served_by"], stats["handled"], stats["routed"], stats["answers"]) == (
        "zipper",
        50,
        50,
        50,
    )
    # The source's receipts settle once the calls are done: every frame confirmed.
    await eventually(lambda: made.source.delivery.confirmed == 50, "the source's receipts")
    assert made.source.delivery.drops == {}


async def test_back_pressure_from_a_full_function_reaches_the_source(
    edge: OpenEdge, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    name = f"full-{request.node.name}"
    (tmp_path / "slow.py").write_text(python_function(name))
    made = await edge(
        "  - name: slow\n    python: slow.py\n    reply: 0x11\n    limits: {queue: 4}\n"
    )
    count, payload = 600, bytes(1024)
    written = 0

    async def write_all() -> None:
        nonlocal written
        for index in range(count):
            await made.source.write(0x10, b"%06d" % index + payload)
            written += 1

    writing = asyncio.get_running_loop().create_task(write_all())
    try:
        # The handler waits behind its gate: the queue fills, the zipper holds the frames
        # that keep coming, stops reading from the source, and the source's writes wait.
        seen = -1

        def stalled() -> bool:
            nonlocal seen
            still, seen = written == seen, written
            return still

        await eventually(lambda: holds_for(stalled, 0.3), "the source stalled", timeout=20)
        assert written < count
        stats = (await made.stats())["slow"]
        assert stats["holding_senders"]
        # The function took no more than it holds: one running, a full queue at most.
        assert stats["frames"] <= stats["instances"] + stats["queue_size"] == 5
        assert stats["running"] == 1
        assert stats["refused"] >= 1
        # What the zipper holds is bounded by what it read before it paused the source.
        assert stats["held"] < count
        print(f"back-pressure: {written} of {count} written, {stats['held']} held")
    finally:
        gate(name).set()
    await writing
    await eventually(lambda: len(made.received.items) == count, f"{count} answers", timeout=30)
    assert made.received.data == [b"%06d" % i + payload for i in range(count)]
    assert made.zipper.stats.drops == {}
    stats = (await made.stats())["slow"]
    assert (stats["held"], stats["holding_senders"], stats["handled"]) == (0, False, count)


async def test_a_bad_module_is_refused_at_start_by_name_and_the_others_serve(
    edge: OpenEdge, tmp_path: Path, transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    write_guest(tmp_path / "echo.wat", "ok:")
    (tmp_path / "broken.wat").write_text('(module (func (export "echo")))')
    bad = "  - name: {0}\n    wasm: {1}\n    observe: [0x10]\n    export: {2}\n    reply: 0x11\n"
    functions = (
        bad.format("no-export", "echo.wat", "infer")
        + ECHO.format(instances=1, queue=64)
        + bad.format("not-bindgen", "broken.wat", "echo")
    )
    with caplog.at_level(logging.ERROR, logger="rxyomo.zipper"):
        made = await edge(functions)
    assert "refused no-export (wasm echo.wat:infer, observes 0x10, reply 0x11)" in caplog.text
    assert "the module lacks the export 'infer'" in caplog.text
    assert "refused not-bindgen (wasm broken.wat:echo" in caplog.text
    stats = await made.stats()
    assert stats["no-export"]["state"] == stats["not-bindgen"]["state"] == "refused"
    assert "lacks the export 'infer' (its functions: " in stats["no-export"]["error"]
    assert "not a wasm-bindgen module" in stats["not-bindgen"]["error"]
    await made.source.write(0x10, b"still serving")
    await eventually(lambda: made.received.data == [b"ok:still serving"], "echo's answer")
    # Nobody else may take a name the zipper serves, even one it refused.
    intruder = StreamFunction(
        "no-export", observe=[0x10], handler=lambda data: None, zipper=made.address,
        transport=transport, reconnect=ReconnectPolicy(max_attempts=1),
    )  # fmt: skip
    with pytest.raises(ConnectionRejected, match="served by the zipper itself"):
        await intruder.connect()
    await intruder.close()
    # Fixed, it serves on the next reload.
    (tmp_path / "broken.wat").write_text((tmp_path / "echo.wat").read_text())
    (reloaded,) = await reload_functions(made.address, ["not-bindgen"], transport)
    assert (reloaded["changed"], reloaded["error"]) == (True, "")
    await made.source.write(0x10, b"two")
    await eventually(lambda: len(made.received.items) == 3, "answers from both")
    assert sorted(made.received.data[1:]) == [b"ok:two", b"ok:two"]


async def _reload_under_load(
    made: Edge, guest: Path, reload: Callable[[], Awaitable[str]], after_reload: int = 200
) -> None:
    """Write frames without a pause; change the guest to v2 and ``reload`` (which returns
    the new version) once some are answered; stop ``after_reload`` frames after the new
    version took over. Every frame must come back once, named by the version that made it.
    """
    before = (await made.stats())["echo"]["version"]
    stop_at: list[int] = []
    written = 0

    async def write_all() -> None:
        nonlocal written
        while not stop_at or written < stop_at[0]:
            await made.source.write(0x10, b"#%d" % written)
            written += 1

    writing = asyncio.get_running_loop().create_task(write_all())
    await eventually(lambda: len(made.received.items) >= 150, "some answers", timeout=30)
    write_guest(guest, "v2:")
    after = await reload()
    assert after != before
    stop_at.append(written + after_reload)
    await writing
    count = written
    await eventually(lambda: len(made.received.items) == count, f"{count} answers", timeout=30)
    seen = made.received.by_frame({"v1:": before, "v2:": after})
    assert sorted(seen) == list(range(count))  # none lost
    assert set(seen.values()) == {"v1:", "v2:"}
    assert seen[count - 1] == "v2:"
    stats = (await made.stats())["echo"]
    assert (stats["version"], stats["reloads"]) == (after, 1)
    assert stats["by_version"] == {
        before: sum(p == "v1:" for p in seen.values()),
        after: sum(p == "v2:" for p in seen.values()),
    }
    assert made.zipper.stats.drops == {}


async def test_a_reload_request_under_load_accounts_for_every_frame(
    edge: OpenEdge, tmp_path: Path, transport: Transport
) -> None:
    guest = write_guest(tmp_path / "echo.wat", "v1:")
    made = await edge(ECHO.format(instances=2, queue=16))

    async def reload() -> str:
        (result,) = await reload_functions(made.address, ["echo"], transport)
        assert result["changed"]
        assert result["error"] == ""
        assert result["previous"] != result["version"]
        version: str = result["version"]
        return version

    await _reload_under_load(made, guest, reload)


async def test_a_served_function_reloads_under_load_when_its_file_changes(
    edge: OpenEdge, tmp_path: Path
) -> None:
    guest = write_guest(tmp_path / "echo.wat", "v1:")
    made = await edge(ECHO.format(instances=2, queue=16), watch=True)
    before = (await made.stats())["echo"]["version"]
    await asyncio.get_running_loop().run_in_executor(
        None, made.zipper.functions.host.wait_watching, 5.0
    )

    async def reload() -> str:
        async def changed() -> bool:
            return bool((await made.stats())["echo"]["version"] != before)

        await eventually(changed, "the new version serving", timeout=10)
        version: str = (await made.stats())["echo"]["version"]
        return version

    await _reload_under_load(made, guest, reload)


async def test_code_that_fails_to_reload_leaves_the_old_version_serving(
    edge: OpenEdge, tmp_path: Path, transport: Transport
) -> None:
    guest = write_guest(tmp_path / "echo.wat", "v1:")
    made = await edge(ECHO.format(instances=1, queue=64))
    before = (await made.stats())["echo"]["version"]
    guest.write_bytes(b"\0asm garbage")
    results = await reload_functions(made.address, [], transport)  # every function
    assert [(r["name"], r["changed"], r["version"]) for r in results] == [("echo", False, before)]
    assert "does not validate" in results[0]["error"]
    (unknown,) = await reload_functions(made.address, ["nobody"], transport)
    assert unknown["error"] == "no function 'nobody' is served by this zipper"
    await made.source.write(0x10, b"x")
    await eventually(lambda: made.received.data == [b"v1:x"], "the old version's answer")
    stats = (await made.stats())["echo"]
    assert (stats["failed_reloads"], stats["version"]) == (1, before)
    assert "does not validate" in stats["last_reload_error"]


async def test_a_zipper_without_served_functions_keeps_its_stats_and_has_nothing_to_reload(
    transport: Transport,
) -> None:
    zipper = Zipper(
        parse_workflow("name: plain\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: a\n"),
        transport,
    )
    await zipper.start()
    try:
        address = format_address(zipper.address)
        assert "functions" not in await fetch_stats(address, transport)
        assert await reload_functions(address, [], transport) == []
    finally:
        await zipper.close()

"""The commands around functions the zipper serves, over QUIC on loopback: ``rxyomo
reload`` says what each reload did, and ``rxyomo serve`` reloads on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devtools.processes import ProcessGroup, free_udp_port
from rxyomo import Context, Sink, Source, Zipper, cli, load_workflow
from rxyomo.client import ReconnectPolicy
from rxyomo.client.stats import fetch_stats
from rxyomo.functions import VERSION_KEY
from rxyomo.transport import format_address
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from rxyomo.transport.quic import QuicTransport
from tests.functions.guests import write_guest
from tests.waiting import eventually

pytest.importorskip("wasmtime")
pytestmark = pytest.mark.network

FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.1)
WORKFLOW = """\
name: edge
host: 127.0.0.1
port: {port}
functions:
  - name: echo
    wasm: echo.wat
    observe: [0x10]
    export: echo
    reply: 0x11
  - name: printer
"""


@pytest.fixture
def quic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> QuicTransport:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    dev_certificates()
    return QuicTransport(TransportOptions(tls=dev_client_tls()))


@pytest.fixture
async def zipper(tmp_path: Path, quic: QuicTransport) -> AsyncIterator[Zipper]:
    write_guest(tmp_path / "echo.wat", "v1:")
    path = tmp_path / "workflow.yaml"
    path.write_text(WORKFLOW.format(port=0))
    started = Zipper(load_workflow(path), quic)
    await started.start()
    yield started
    await started.close()


async def _reload(*argv: str) -> int:
    # The command runs its own event loop: on a thread, beside this test's zipper.
    return await asyncio.to_thread(cli.main, ["--log-level", "ERROR", "reload", *argv])


async def test_rxyomo_reload_says_what_each_reload_did(
    zipper: Zipper, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = ["--zipper", format_address(zipper.address), "--insecure"]
    first = zipper.snapshot()["functions"]["echo"]["version"]
    assert await _reload(*address) == 0
    assert capsys.readouterr().out == f"echo: unchanged, version {first}\n"
    write_guest(tmp_path / "echo.wat", "v2:")
    assert await _reload(*address, "echo") == 0
    second = zipper.snapshot()["functions"]["echo"]["version"]
    assert second != first
    assert capsys.readouterr().out == f"echo: version {second} took over from {first}\n"
    (tmp_path / "echo.wat").write_text("(module)")
    assert await _reload(*address, "echo", "nobody") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"echo: refused (version {second} goes on serving): ")
    assert out[1] == "nobody: refused (not served): no function 'nobody' is served by this zipper"


async def test_rxyomo_reload_of_an_unreachable_zipper_fails_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_udp_port()
    argv = ["--zipper", f"127.0.0.1:{port}", "--insecure"]
    assert await _reload(*argv) == 1
    assert f"rxyomo: cannot reload at 127.0.0.1:{port}: " in capsys.readouterr().err


@pytest.fixture
def children(tmp_path: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup({**os.environ, CONFIG_DIR_ENV: str(tmp_path / "config")})
    yield group
    group.kill_all()


async def test_rxyomo_serve_reloads_the_functions_it_serves_on_sighup(
    tmp_path: Path, quic: QuicTransport, children: ProcessGroup
) -> None:
    guest = write_guest(tmp_path / "echo.wat", "v1:")
    port = free_udp_port()
    path = tmp_path / "workflow.yaml"
    path.write_text(WORKFLOW.format(port=port))
    child = children.spawn(
        ["-m", "rxyomo", "serve", "-c", str(path), "--stats-interval", "0", "--no-watch"],
        tmp_path / "zipper.log",
    )
    await child.output_appears("listening on")
    address = f"127.0.0.1:{port}"
    answers: list[tuple[bytes, str]] = []

    def keep(ctx: Context) -> None:
        answers.append((ctx.data, ctx.metadata[VERSION_KEY]))

    sink = Sink("printer", observe=[0x11], handler=keep, zipper=address, transport=quic)
    source = Source("camera", zipper=address, transport=quic, reconnect=FAST)
    try:
        await sink.connect()
        await source.connect()
        await source.write(0x10, b"a")
        await eventually(lambda: len(answers) == 1, "the first answer", timeout=10)
        # Not watched: the change alone reloads nothing (the next answer says so).
        write_guest(guest, "v2:")
        await source.write(0x10, b"b")
        await eventually(lambda: len(answers) == 2, "the second answer", timeout=10)
        assert [data for data, _ in answers] == [b"v1:a", b"v1:b"]
        assert child.proc is not None
        child.proc.send_signal(signal.SIGHUP)

        async def reloaded() -> bool:
            stats = await fetch_stats(address, quic)
            return bool(stats["functions"]["echo"]["reloads"] == 1)

        await eventually(reloaded, "the reload on SIGHUP", timeout=10)
        await source.write(0x10, b"c")
        await eventually(lambda: len(answers) == 3, "the third answer", timeout=10)
        assert answers[2][0] == b"v2:c"
        assert answers[2][1] != answers[0][1]
        assert "SIGHUP: reloading the functions the zipper serves" in child.output
    finally:
        await source.close()
        await sink.close()
        assert child.terminate() == 0

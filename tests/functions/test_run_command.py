"""``rxyomo run`` as users run it: a zipper process (``rxyomo serve``), ``rxyomo run`` of a
wasm module, of a Python module and of a list, over QUIC on loopback; reloads on a
change of the file and on SIGHUP; bad modules refused by name."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devtools.processes import Child, ProcessGroup, free_tcp_port, free_udp_port
from rxyomo import Context, Sink, Source, cli
from rxyomo.client import ReconnectPolicy
from rxyomo.functions import VERSION_KEY
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from tests.extras import needs
from tests.functions.guests import write_guest
from tests.waiting import eventually

pytest.importorskip("wasmtime")

REPO = Path(__file__).resolve().parents[2]
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2)
APP = """
from rxyomo import Context

def observe_datatags():
    return [0x10]

def handler(ctx: Context) -> None:
    ctx.write(0x11, b"{word}:" + ctx.data)
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    dev_certificates()
    paths = [str(REPO), str(REPO / "codecs"), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        CONFIG_DIR_ENV: str(tmp_path / "config"),
        "WASM_HOST_CACHE_DIR": str(tmp_path / "module-cache"),
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
    }


@pytest.fixture
def group(env: dict[str, str]) -> Iterator[ProcessGroup]:
    children = ProcessGroup(env)
    yield children
    for child in children.children:
        child.terminate(timeout=5)
    children.kill_all()


@pytest.fixture
async def zipper(tmp_path: Path, group: ProcessGroup) -> str:
    port = free_udp_port()
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(
        f"name: edge\nhost: 127.0.0.1\nport: {port}\nfunctions:\n"
        "  - name: echo\n  - name: upper\n  - name: broken\n  - name: printer\n"
    )
    await asyncio.get_running_loop().run_in_executor(
        None, group.zipper, workflow, tmp_path / "zipper.log"
    )
    return f"127.0.0.1:{port}"


class Pipeline:
    """A source and a sink of this process, beside the zipper."""

    def __init__(self, zipper: str) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        tls = dev_client_tls()
        self.sink = Sink(
            "printer", observe=[0x11], handler=self._take, zipper=zipper, tls=tls, reconnect=FAST
        )
        self.source = Source("camera", zipper=zipper, tls=tls, reconnect=FAST)

    def _take(self, ctx: Context) -> None:
        self.got.append((ctx.data, dict(ctx.metadata)))

    async def until_answered(self, data: bytes, answer: bytes, timeout: float = 20.0) -> str:
        """Writes ``data`` until an answer ``answer`` comes back; returns its version."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.source.write(0x10, data)
            await asyncio.sleep(0.05)  # scenario: resent until the function is connected
            for got, meta in self.got:
                if got == answer:
                    return meta[VERSION_KEY]
            assert loop.time() < deadline, f"no answer {answer!r}; got {self.got[-3:]}"

    async def answered_all(self, prefix: bytes, count: int) -> None:
        """Writes frames ``0`` to ``count - 1`` and waits for each one's answer, ``prefix``
        and the frame."""
        for index in range(count):
            await self.source.write(0x10, b"%d" % index)
        await eventually(
            lambda: {prefix + b"%d" % i for i in range(count)} <= {data for data, _ in self.got},
            f"{count} answers",
            timeout=20,
        )


@pytest.fixture
async def pipeline(zipper: str) -> AsyncIterator[Pipeline]:
    made = Pipeline(zipper)
    await asyncio.wait_for(made.sink.connect(), 20)
    await asyncio.wait_for(made.source.connect(), 20)
    yield made
    await made.source.close()
    await made.sink.close()


def _run(group: ProcessGroup, tmp_path: Path, *args: str, log: str = "run.log") -> Child:
    ca = dev_client_tls().cafile
    assert ca is not None
    return group.spawn(["-m", "rxyomo", "run", *args, "--ca", str(ca)], tmp_path / log)


async def _output(child: Child, text: str, count: int = 1) -> None:
    await child.output_appears(text, count)


pytestmark = pytest.mark.network


async def test_run_serves_a_wasm_module_and_reloads_it_when_it_changes(
    tmp_path: Path, group: ProcessGroup, zipper: str, pipeline: Pipeline
) -> None:
    guest = write_guest(tmp_path / "guest.wat", "v1:")
    child = _run(
        group, tmp_path, str(guest), "--name", "echo", "--zipper", zipper,
        "--observe", "0x10", "--export", "echo", "--reply", "0x11",
        "--memory", "16MiB", "--timeout-ms", "1000", "--instances", "2",
    )  # fmt: skip
    await _output(child, "rxyomo run: serving echo (wasm guest.wat:echo, observes 0x10")
    first = await pipeline.until_answered(b"a", b"v1:a")
    await pipeline.answered_all(b"v1:", 100)
    staged = tmp_path / "guest.tmp"
    write_guest(staged, "v2:")
    staged.replace(guest)
    second = await pipeline.until_answered(b"b", b"v2:b")
    assert second != first
    await _output(child, f"echo: reloaded, version {second} took over from {first}")
    assert child.terminate() == 0


async def test_run_serves_a_python_module_and_sighup_reloads_it(
    tmp_path: Path, group: ProcessGroup, zipper: str, pipeline: Pipeline
) -> None:
    app = tmp_path / "upper.py"
    app.write_text(APP.replace("{word}", "one"))
    child = _run(group, tmp_path, str(app), "--zipper", zipper, "--no-watch")
    await _output(child, "rxyomo run: serving upper (python upper.py")
    first = await pipeline.until_answered(b"x", b"one:x")
    app.write_text(APP.replace("{word}", "two"))
    # Not watched: nothing may change, however long a watcher would take.
    await asyncio.sleep(0.5)  # scenario: longer than a watcher takes to reload
    assert await pipeline.until_answered(b"y", b"one:y") == first
    assert all(not data.startswith(b"two:") for data, _ in pipeline.got)
    assert child.proc is not None
    os.kill(child.proc.pid, signal.SIGHUP)
    assert await pipeline.until_answered(b"x", b"two:x") != first
    assert child.terminate() == 0


async def test_run_with_a_list_refuses_a_bad_module_by_name_and_serves_the_rest(
    tmp_path: Path, group: ProcessGroup, zipper: str, pipeline: Pipeline
) -> None:
    write_guest(tmp_path / "guest.wat", "ok:")
    (tmp_path / "upper.py").write_text(APP.replace("{word}", "py"))
    listing = tmp_path / "functions.yaml"
    listing.write_text(
        textwrap.dedent(
            """
            functions:
              - name: echo
                wasm: guest.wat
                observe: [0x10]
                export: echo
                reply: 0x11
                limits: {memory: 16MiB, timeout_ms: 500}
              - name: broken
                wasm: guest.wat
                observe: [0x10]
                export: infer
              - name: upper
                python: upper.py
            """
        )
    )
    child = _run(group, tmp_path, "-c", str(listing), "--zipper", zipper)
    await _output(child, "rxyomo run: serving", count=2)
    assert "refused: function 'broken': the module lacks the export 'infer'" in child.output
    await pipeline.until_answered(b"z", b"ok:z")
    await pipeline.until_answered(b"z", b"py:z")
    assert child.terminate() == 0


@needs("prometheus_client", "aiohttp")
async def test_run_metrics_count_each_call_once_with_its_errors(
    tmp_path: Path, group: ProcessGroup, zipper: str, pipeline: Pipeline
) -> None:
    from tests.scraping import scrape, value

    guest = write_guest(tmp_path / "guest.wat", "m:")
    web = free_tcp_port()
    child = _run(
        group, tmp_path, str(guest), "--name", "echo", "--zipper", zipper,
        "--observe", "0x10", "--export", "echo", "--reply", "0x11",
        "--metrics", f"127.0.0.1:{web}",
    )  # fmt: skip
    await _output(child, f"rxyomo run: metrics at http://127.0.0.1:{web}/metrics")
    await _output(child, "rxyomo run: serving echo")
    await pipeline.until_answered(b"first", b"m:first")
    before = await asyncio.to_thread(scrape, f"http://127.0.0.1:{web}/metrics")
    calls = "rxyomo_function_calls_seconds_count"
    started = value(before, calls, function="echo", tag="0x10")
    await pipeline.answered_all(b"m:", 30)
    samples = await asyncio.to_thread(scrape, f"http://127.0.0.1:{web}/metrics")
    # Each call once: the runner's, not also the connection's handler that hands it over.
    assert value(samples, calls, function="echo", tag="0x10") == started + 30
    assert value(samples, "rxyomo_function_errors_total", function="echo", tag="0x10") == 0
    assert value(samples, "process_resident_memory_bytes") > 0
    assert child.terminate() == 0


def test_run_refuses_a_bad_metrics_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = write_guest(tmp_path / "guest.wat")
    argv = ["run", str(guest), "--name", "f", "--observe", "0x10", "--export", "echo"]
    assert cli.main([*argv, "--zipper", "127.0.0.1:1", "--metrics", "nowhere"]) == 2
    assert "rxyomo run: an address is HOST:PORT, got 'nowhere'" in capsys.readouterr().err


def test_run_refuses_bad_flags_and_modules_without_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = write_guest(tmp_path / "guest.wat")
    argv = ["run", str(guest), "--name", "f", "--observe", "0x10", "--zipper", "127.0.0.1:1"]
    assert cli.main([*argv, "--memory", "lots"]) == 2
    assert "rxyomo run: function 'f': export: a WebAssembly function needs" in (
        capsys.readouterr().err
    )
    assert cli.main([*argv, "--export", "echo", "--memory", "lots"]) == 2
    assert "function 'f': limits.memory: expected a size" in capsys.readouterr().err
    assert cli.main([*argv, "--export", "nope", "--no-watch"]) == 2
    assert "refused: function 'f': the module lacks the export 'nope'" in (capsys.readouterr().err)


async def test_run_serves_the_image_recognition_guest_on_its_model(
    tmp_path: Path, group: ProcessGroup, zipper: str, pipeline: Pipeline, model_dir: Path
) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    guest = REPO / "examples" / "image_recognition" / "guest" / "image_recognition.wasm"
    child = _run(
        group, tmp_path, str(guest), "--name", "echo", "--zipper", zipper,
        "--observe", "0x10", "--export", "infer", "--reply", "0x11",
        "--dir", f"/model={model_dir}", "--memory", "128MiB", "--timeout-ms", "10000",
    )  # fmt: skip
    await _output(child, "rxyomo run: serving echo (wasm image_recognition.wasm:infer")
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(picture, "JPEG")
    await pipeline.source.write(0x10, picture.getvalue())
    await eventually(lambda: pipeline.got, "a sentence", timeout=30)
    sentence, meta = pipeline.got[0]
    assert sentence.startswith(b"It ")
    assert sentence.endswith(b"in the picture.") or sentence.endswith(b"in the picture")
    assert len(meta[VERSION_KEY]) == 16
    assert child.terminate() == 0

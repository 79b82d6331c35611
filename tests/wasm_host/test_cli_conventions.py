"""``python -m wasm_host run`` and ``inspect`` on YoMo's ABI, wasmedge-bindgen and WASI-NN."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasm_host.cli import main

from .conftest import FIXTURES


def test_run_prints_a_yomo_functions_answers_by_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.txt"
    frame.write_bytes(b"still here")
    assert main(["run", str(FIXTURES / "yomo_hostile.wat"), str(frame), "--tag", "4"]) == 0
    assert capsys.readouterr().out == "0x5: still here\n"
    # The first generation; the tag defaults to the first one observed.
    assert main(["run", str(FIXTURES / "yomo_load_dump.wat"), str(frame)]) == 0
    assert capsys.readouterr().out == "0x34: still here\n"


def test_run_refuses_an_export_name_for_yomos_abi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.txt"
    frame.write_bytes(b"x")
    assert main(["run", str(FIXTURES / "yomo_hostile.wat"), "yomo_handler", str(frame)]) == 2
    assert "takes no export name" in capsys.readouterr().err


def test_run_calls_a_wasmedge_bindgen_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame.bin"
    frame.write_bytes(b"x")
    assert main(["run", str(FIXTURES / "wasmedge_bindgen_hostile.wat"), "ok", str(frame)]) == 0
    assert capsys.readouterr().out == "okay\n"
    bogus = ["run", str(FIXTURES / "wasmedge_bindgen_hostile.wat"), "bogus_type", str(frame)]
    assert main(bogus) == 1
    assert "unknown type code 99" in capsys.readouterr().err


def test_inspect_names_the_convention(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIXTURES / "yomo_hostile.wat")]) == 0
    out = capsys.readouterr().out
    assert "convention: YoMo stream function (context generation)" in out
    assert "observes 0x1, 0x2, 0x3, 0x4, 0x6" in out
    assert main(["inspect", str(FIXTURES / "wasmedge_bindgen_hostile.wat")]) == 0
    assert "convention: wasmedge-bindgen, results by return_result" in capsys.readouterr().out
    assert main(["inspect", str(FIXTURES / "bindgen_split.wat")]) == 0
    assert "convention: wasm-bindgen" in capsys.readouterr().out


def test_the_wasi_nn_classifier_runs_from_the_command_line(
    built_guest: Callable[[str], Path],
    model_dir: Path,
    photos: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    guest = str(built_guest("wasinn_current"))
    assert main(["inspect", guest]) == 0
    out = capsys.readouterr().out
    assert "wasi_ephemeral_nn.load_by_name (i32, i32, i32) -> (i32)  [host]" in out
    assert "WASI-NN: tensor type codes current" in out
    assert "observes 0x10" in out
    photo = str(photos / "coffee.png")
    assert main(["run", guest, photo, "--dir", f"/model:{model_dir}", "-q"]) == 0
    assert capsys.readouterr().out.startswith("0x11: It is very likely a <a href=")
    preload = f"lite0:TensorflowLite:CPU:{model_dir / 'efficientnet_lite0.tflite'}"
    argv = ["run", guest, photo, "--dir", f"/model:{model_dir}", "--nn-preload", preload]
    assert main([*argv, "--env", "INFER_GRAPH=lite0", "-q"]) == 0
    assert "espresso" in capsys.readouterr().out

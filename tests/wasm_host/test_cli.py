"""python -m wasm_host run / inspect."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_host.cli import main

from .conftest import FIXTURES, GUEST_WASM


def test_run_prints_what_the_export_returns(
    engine_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "input.txt"
    data.write_text("round trip")
    code = main(
        ["run", str(FIXTURES / "bindgen_split.wat"), "echo", str(data), "--engine", engine_name]
    )
    assert code == 0
    assert capsys.readouterr().out == "round trip\n"
    assert main(["run", str(FIXTURES / "bindgen_split.wat"), "length", str(data)]) == 0
    assert capsys.readouterr().out == "10\n"


def test_run_classifies_a_photo_with_the_guest(
    engine_name: str, model_dir: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(GUEST_WASM), "infer", str(photos / "coffee.png"), "--engine", engine_name]
    assert main([*argv, "--dir", f"/model:{model_dir}", "-q"]) == 0
    assert "espresso" in capsys.readouterr().out


def test_run_reports_a_trap_and_exits_1(
    engine_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "input"
    data.write_bytes(b"x")
    argv = ["run", str(FIXTURES / "bindgen_split.wat"), "crash", str(data), "--engine", engine_name]
    assert main(argv) == 1
    assert "the call trapped: guest trap" in capsys.readouterr().err


def test_run_reports_bad_input_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(FIXTURES / "bindgen_split.wat"), "echo", str(tmp_path / "nope")]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", str(FIXTURES / "bindgen_split.wat"), "echo", "x", "--dir", "no-colon"])


def test_inspect_lists_imports_exports_and_the_abi(
    engine_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(GUEST_WASM), "--engine", engine_name]) == 0
    out = capsys.readouterr().out
    assert "wasmedge_tensorflowlite.wasmedge_tensorflowlite_create_session" in out
    assert "[wasm-bindgen placeholder (traps if called)]" in out
    assert "func infer (i32, i32) -> ()" in out
    assert "ABI: wasm-bindgen, malloc(size), free(ptr, size), return slot at address 8, WASI" in out
    assert "infer: bindgen, 1 byte argument as pointer to {ptr, len}, returns array" in out


def test_inspect_says_when_a_module_is_not_bindgen(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIXTURES / "host_calls.wat")]) == 0
    assert "not a wasm-bindgen module" in capsys.readouterr().out

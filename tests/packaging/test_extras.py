"""Every program whose optional extra is missing says which extra to install, in one line,
and exits with status 2; a library importer gets the same words as a ModuleNotFoundError.

The programs run in child processes in which the module is made unimportable
(``devtools.hidden_modules``), whatever this environment has installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import _rxyomo_extras
from _rxyomo_extras import EXTRAS, MissingExtra, modules_of, needs_extra
from devtools.hidden_modules import ROOT, env_without

WAT = ROOT / "tests" / "wasm_host" / "fixtures" / "bindgen_split.wat"
FLOW = ROOT / "examples" / "image_recognition" / "flow.py"
DEMO = ROOT / "examples" / "image_recognition" / "demo.py"


def run_without(modules: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the repository root, ``modules`` unimportable."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env_without(modules),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def says(result: subprocess.CompletedProcess[str], line: str) -> None:
    """The program ended with exactly ``line`` on standard error and status 2."""
    assert (result.returncode, result.stderr) == (2, line + "\n"), result.stderr


def test_wasm_host_without_numpy_names_the_wasm_extra() -> None:
    result = run_without(["numpy"], "-m", "wasm_host", "inspect", str(WAT))
    says(
        result, "wasm_host needs the 'wasm' extra: pip install -e '.[wasm]' (missing module: numpy)"
    )
    assert result.stdout == ""


def test_wasm_host_without_wasmtime_names_the_wasm_extra() -> None:
    # numpy is there: the package imports, and the engines are what is missing (wasmer
    # too, which Python 3.10 has and would run the module instead).
    result = run_without(["wasmtime", "wasmer"], "-m", "wasm_host", "inspect", str(WAT))
    says(
        result,
        "wasm_host needs the 'wasm' extra: pip install -e '.[wasm]' (missing module: wasmtime)",
    )


def test_options_before_m_are_read() -> None:
    result = run_without(["PIL"], "-W", "ignore", "-Bm", "wasm_host", "inspect", str(WAT))
    says(result, "wasm_host needs the 'wasm' extra: pip install -e '.[wasm]' (missing module: PIL)")


def test_importing_wasm_host_without_numpy_raises_the_same_words() -> None:
    script = (
        "try:\n"
        "    import wasm_host\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(type(exc).__name__, exc.name, '|', exc)\n"
    )
    result = run_without(["numpy"], "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "MissingExtra numpy | wasm_host needs the 'wasm' extra: "
        "pip install -e '.[wasm]' (missing module: numpy)\n"
    )


@pytest.mark.parametrize("bench", ["bench_yomo", "bench_functions"])
def test_a_bench_names_the_bench_extra(bench: str) -> None:
    result = run_without(["psutil"], "-m", f"benches.{bench}", "--help")
    says(
        result,
        f"benches.{bench} needs the 'bench' extra: pip install -e '.[bench]' "
        "(missing module: psutil)",
    )


def test_a_bench_that_imports_wasm_host_speaks_for_itself() -> None:
    result = run_without(["wasmtime", "numpy"], "-m", "benches.bench_wasm", "--quick")
    says(
        result,
        "benches.bench_wasm needs the 'bench' extra: pip install -e '.[bench]' "
        "(missing module: numpy)",
    )


def test_an_example_names_the_demo_extra_for_a_module_wasm_host_lacks() -> None:
    # flow.py imports wasm_host, which lacks numpy: the example's words, not wasm_host's.
    result = run_without(["numpy"], str(FLOW), "--help")
    says(
        result,
        "image_recognition/flow.py needs the 'demo' extra: pip install -e '.[demo]' "
        "(missing module: numpy)",
    )


def test_the_demo_names_the_demo_extra() -> None:
    result = run_without(["PIL"], str(DEMO), "--help")
    says(
        result,
        "image_recognition/demo.py needs the 'demo' extra: pip install -e '.[demo]' "
        "(missing module: PIL)",
    )


def test_a_missing_core_dependency_is_not_blamed_on_an_extra() -> None:
    # PyYAML is a dependency of the distribution itself: a broken installation, shown as is.
    result = run_without(["yaml"], "-m", "benches.bench_yomo")
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'yaml'" in result.stderr
    assert "extra" not in result.stderr


# -- the helper, in process ----------------------------------------------------------------


def test_a_library_caller_gets_missing_extra_from_the_original_error() -> None:
    original = ModuleNotFoundError("No module named 'PIL.Image'", name="PIL.Image")
    with pytest.raises(MissingExtra) as raised, needs_extra("wasm", "wasm_host", "wasm_host"):
        raise original
    assert raised.value.name == "PIL"
    assert raised.value.extra == "wasm"
    assert raised.value.__cause__ is original
    assert str(raised.value).startswith("wasm_host needs the 'wasm' extra: pip install ")


def test_the_main_module_exits_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited, needs_extra("bench", "benches.x", "__main__"):
        raise ModuleNotFoundError("No module named 'psutil'", name="psutil")
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("benches.x needs the 'bench' extra: pip install ")


def test_other_import_errors_pass_through() -> None:
    with pytest.raises(ModuleNotFoundError) as raised, needs_extra("wasm", "wasm_host", "x"):
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")
    assert type(raised.value) is ModuleNotFoundError
    with pytest.raises(ImportError, match="cannot import name"), needs_extra("wasm", "p", "x"):
        raise ImportError("cannot import name 'f' from 'numpy'", name="numpy")


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["python", "-m", "wasm_host", "run"], "wasm_host"),
        (["python", "-mwasm_host"], "wasm_host"),
        (["python", "-X", "dev", "-u", "-m", "benches.bench_y3"], "benches.bench_y3"),
        (["python", "-Wignore", "-Im", "wasm_host"], "wasm_host"),
        (["python", "--check-hash-based-pycs", "never", "-m", "wasm_host"], "wasm_host"),
        (["python", "script.py", "-m", "wasm_host"], None),
        (["python", "-c", "import wasm_host", "-m", "wasm_host"], None),
        (["python", "-cimport wasm_host"], None),
        (["python", "-"], None),
        (["python"], None),
    ],
)
def test_the_module_run_with_m_is_read_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], module: str | None
) -> None:
    monkeypatch.setattr(sys, "orig_argv", argv)
    assert _rxyomo_extras.module_run_with_m() == module


def test_outside_a_checkout_the_package_index_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_rxyomo_extras, "__file__", str(tmp_path / "_rxyomo_extras.py"))
    assert _rxyomo_extras.install_command("wasm") == "pip install 'rxyomo[wasm]'"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "rxyomo"\n')
    monkeypatch.chdir(tmp_path)
    assert _rxyomo_extras.install_command("wasm") == "pip install -e '.[wasm]'"


def test_the_extras_are_those_of_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra, (includes, distributions) in EXTRAS.items():
        names = [_requirement_name(requirement) for requirement in declared[extra]]
        assert sorted(n for n in names if n.startswith("rxyomo[")) == sorted(
            f"rxyomo[{included}]" for included in includes
        )
        assert sorted(n for n in names if not n.startswith("rxyomo[")) == sorted(distributions)
    assert {"numpy", "PIL", "wasmtime"} <= modules_of("wasm") < modules_of("bench")


def _requirement_name(requirement: str) -> str:
    """``numpy>=1.26; python_version...`` -> ``numpy``; ``rxyomo[wasm]`` stays."""
    head = requirement.split(";")[0].strip()
    for index, char in enumerate(head):
        if char in "<>=!~ ":
            return head[:index]
    return head

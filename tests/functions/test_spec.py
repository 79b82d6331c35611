"""Function configs from flags and from functions.yaml: every bad field refused by name."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rxyomo.functions import (
    DEFAULT_LIMITS,
    FunctionLimits,
    SpecError,
    function_config,
    load_functions_file,
    parse_functions,
    parse_size,
)
from rxyomo.functions.command import add_run_parser, configs_from_args


@pytest.fixture
def wasm(tmp_path: Path) -> Path:
    path = tmp_path / "guest.wasm"
    path.write_bytes(b"\0asm\1\0\0\0")
    return path


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text("def handler(ctx):\n    pass\n")
    return path


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (65536, 65536),
        ("128MiB", 128 << 20),
        ("64 KiB", 64 << 10),
        ("1.5GiB", 3 << 29),
        ("100MB", 100_000_000),
        ("2g", 2 << 30),
        ("4096", 4096),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "12 parsecs", True, 1.5, "-1MiB", None])
def test_bad_sizes(text: object) -> None:
    with pytest.raises(ValueError, match="a size such as 128MiB"):
        parse_size(text)


def test_a_wasm_function_with_every_field(wasm: Path, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    config = function_config(
        "image-recognition",
        "guest.wasm",
        observe=["0x10", 0x12],
        export="infer",
        reply="0x11",
        dirs=["/model=model"],
        env=["INFER_MODEL=/model/m.tflite", "EMPTY="],
        limits={"memory": "128MiB", "timeout_ms": "1000", "instances": 2, "queue": 8, "fuel": 10},
        base_dir=tmp_path,
    )
    assert config.kind == "wasm"
    assert config.source == wasm.resolve()
    assert config.observe == (0x10, 0x12)
    assert config.reply == 0x11
    assert config.dirs == {"/model": (tmp_path / "model").resolve()}
    assert config.env == {"INFER_MODEL": "/model/m.tflite", "EMPTY": ""}
    assert config.limits == FunctionLimits(
        memory=128 << 20, timeout_ms=1000, fuel=10, instances=2, queue=8
    )
    assert config.limits.timeout == 1.0
    assert "reply 0x11" in config.describe()


def test_defaults(wasm: Path, app: Path) -> None:
    config = function_config("f", wasm, observe=0x10, export="echo")
    assert config.limits == DEFAULT_LIMITS
    assert config.reply is None
    assert "a sink" in config.describe()
    python = function_config("p", app)
    assert python.kind == "python"
    # Nothing bounds a Python function's memory or time: no pretence of it.
    assert (python.limits.memory, python.limits.timeout_ms) == (None, None)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"observe": "0xF001"}, "observe", "reserved"),
        ({"observe": "sixteen"}, "observe", "a number such as 0x10"),
        ({"observe": [16, 16]}, "observe", "listed twice"),
        ({"observe": ()}, "observe", "needs the tags it observes"),
        ({"export": None}, "export", "needs the export"),
        ({"reply": -1}, "reply", "uint32"),
        ({"dirs": ["/model"]}, "dirs", "GUEST=HOST"),
        ({"dirs": {"model": "."}}, "dirs", "absolute"),
        ({"dirs": {"/model": "nowhere"}}, "dirs", "is not a folder"),
        ({"env": ["NOVALUE"]}, "env", "NAME=VALUE"),
        ({"env": {"A": [1]}}, "env", "must be a string"),
        ({"limits": {"memory": "lots"}}, "limits.memory", "a size such as 128MiB"),
        ({"limits": {"memory": 1024}}, "limits.memory", "between 64KiB and 4GiB"),
        ({"limits": {"timeout_ms": 0}}, "limits.timeout_ms", "between 1 and"),
        ({"limits": {"instances": "two"}}, "limits.instances", "whole number"),
        ({"limits": {"instances": 1000}}, "limits.instances", "between 1 and 64"),
        ({"limits": {"queue": 0}}, "limits.queue", "between 1 and"),
        ({"limits": {"speed": 1}}, "limits.speed", "unknown limit"),
        ({"limits": [1]}, "limits", "a mapping"),
    ],
)
def test_bad_wasm_fields_are_refused_by_function_and_field(
    wasm: Path, changes: dict[str, object], field: str, words: str
) -> None:
    fields: dict[str, object] = {"observe": [0x10], "export": "echo", **changes}
    with pytest.raises(SpecError) as refused:
        function_config("hog", wasm, **fields)  # type: ignore[arg-type]
    assert refused.value.function == "hog"
    assert refused.value.field == field
    assert str(refused.value).startswith(f"function 'hog': {field}: ")
    assert words in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"export": "infer"}, "export"),
        ({"env": ["A=1"]}, "env"),
        ({"limits": {"memory": "1MiB"}}, "limits.memory"),
        ({"limits": {"timeout_ms": 10}}, "limits.timeout_ms"),
        ({"limits": {"fuel": 10}}, "limits.fuel"),
    ],
)
def test_wasm_only_fields_are_refused_for_python(
    app: Path, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(SpecError, match=f"function 'py': {field}: applies to WebAssembly only"):
        function_config("py", app, **changes)  # type: ignore[arg-type]


def test_bad_names_and_sources(tmp_path: Path, wasm: Path) -> None:
    with pytest.raises(SpecError, match="name: a function needs a non-empty name"):
        function_config("", wasm)
    with pytest.raises(SpecError, match=r"function 'f': source: .*missing.wasm is not a file"):
        function_config("f", tmp_path / "missing.wasm")
    (tmp_path / "lib.so").write_bytes(b"")
    with pytest.raises(SpecError, match=r"source: lib.so: a function is a .wasm, .wat or .py"):
        function_config("f", tmp_path / "lib.so")


FILE = """\
functions:
  - name: image-recognition
    wasm: guest.wasm
    observe: [0x10]
    export: infer
    reply: 0x11
    limits: {memory: 128MiB, timeout_ms: 1000, instances: 2}
  - name: counter
    python: app.py
"""


def test_a_functions_file(tmp_path: Path, wasm: Path, app: Path) -> None:
    path = tmp_path / "functions.yaml"
    path.write_text(FILE)
    first, second = load_functions_file(path)
    assert (first.name, first.source, first.observe, first.reply) == (
        "image-recognition",
        wasm.resolve(),
        (0x10,),
        0x11,
    )
    assert first.limits.instances == 2
    assert (second.name, second.kind, second.source) == ("counter", "python", app.resolve())
    # The bare list works too.
    listed = parse_functions(FILE.split("\n", 1)[1], base_dir=tmp_path)
    assert [c.name for c in listed] == ["image-recognition", "counter"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - name: f\n    wasm: guest.wasm\n    observe: [0x10]\n    export: e\n"
            "    limits:\n      memory: lots\n",
            "line 7: function 'f': limits.memory: expected a size such as 128MiB",
        ),
        (
            "  - name: f\n    wasm: guest.wasm\n    observe: [0x10]\n    exprt: e\n",
            "line 5: function 'f': exprt: unknown field",
        ),
        ("  - name: f\n    observe: [0x10]\n", "line 2: function 'f': wasm: needs the module"),
        (
            "  - name: f\n    wasm: guest.wasm\n    python: app.py\n",
            "line 4: function 'f': python: give either",
        ),
        (
            "  - name: f\n    wasm: nowhere.wasm\n    observe: 16\n    export: e\n",
            "line 3: function 'f': wasm: ",
        ),
        ("  - wasm: guest.wasm\n", "line 2: a function: name: a function needs a non-empty"),
        (
            "  - {name: f, python: app.py}\n  - {name: f, python: app.py}\n",
            "line 3: function 'f': name: listed twice (first on line 2)",
        ),
    ],
)
def test_bad_entries_name_the_line_function_and_field(
    tmp_path: Path, wasm: Path, app: Path, entry: str, message: str
) -> None:
    with pytest.raises(SpecError) as refused:
        parse_functions("functions:\n" + entry, source="functions.yaml", base_dir=tmp_path)
    assert str(refused.value).startswith("functions.yaml: ")
    assert message in str(refused.value)


def test_files_that_are_not_lists(tmp_path: Path) -> None:
    for text, words in (
        ("", "lists no functions"),
        ("name: x\n", "a 'functions' key"),
        ("functions: 3\n", "a list of '- name: ...' entries"),
        ("functions: [1]\n", "an entry must be a mapping"),
        ("- [unclosed\n", "invalid YAML"),
    ):
        with pytest.raises(SpecError, match=words):
            parse_functions(text, base_dir=tmp_path)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers())
    return parser.parse_args(["run", *argv])


def test_the_command_line_builds_one_config(wasm: Path) -> None:
    (config,) = configs_from_args(
        _args(
            str(wasm), "--name", "fn", "--observe", "0x10,0x12", "--observe", "0x13",
            "--export", "infer", "--reply", "0x11", "--env", "A=1", "--memory", "8MiB",
            "--timeout-ms", "250", "--instances", "3",
        )
    )  # fmt: skip
    assert (config.name, config.observe, config.export, config.reply) == (
        "fn",
        (0x10, 0x12, 0x13),
        "infer",
        0x11,
    )
    assert config.env == {"A": "1"}
    assert (config.limits.memory, config.limits.timeout_ms, config.limits.instances) == (
        8 << 20,
        250,
        3,
    )


def test_the_command_line_names_the_function_after_its_file(app: Path) -> None:
    (config,) = configs_from_args(_args(str(app)))
    assert config.name == "app"


def test_the_command_line_refuses_function_flags_beside_a_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="--name, --observe cannot be given beside it"):
        configs_from_args(_args("-c", "functions.yaml", "--name", "x", "--observe", "1"))
    with pytest.raises(SpecError, match="give the function's file"):
        configs_from_args(_args())

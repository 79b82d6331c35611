from __future__ import annotations

from pathlib import Path

import pytest

from rxyomo.zipper.workflow import (
    InstancePolicy,
    Stage,
    WorkflowError,
    load_workflow,
    parse_workflow,
)

SEED = """\
name: Service
host: localhost
port: 9000
flows:
  - name: image-recognition
  - name: second
sinks:
  - name: mqtt-sink
  - name: db-sink
"""

MODERN = """\
name: america
host: 0.0.0.0
port: 9001
functions:
  - name: fn-a
  - name: fn-b
auth:
  type: token
  token: s3cret
mesh:
  europe:
    host: 127.0.0.1
    port: 9002
    credential: "token:s3cret"
limits:
  max_frame_size: 1024
  max_connections: 5
  handshake_timeout: 1.5
instances: replace
transport: tcp
"""


def test_seed_workflow_orders_flows_and_collects_sinks() -> None:
    wf = parse_workflow(SEED)
    assert wf.name == "Service"
    assert wf.port == 9000
    assert wf.is_sequential
    assert [(f.name, f.index) for f in wf.flows] == [("image-recognition", 0), ("second", 1)]
    assert [f.name for f in wf.sinks] == ["mqtt-sink", "db-sink"]
    assert wf.function("db-sink") is not None
    assert wf.function("nobody") is None


def test_modern_workflow_reads_auth_mesh_limits_and_policy() -> None:
    wf = parse_workflow(MODERN)
    assert not wf.is_sequential
    assert all(f.stage is Stage.FUNCTION for f in wf.functions)
    assert wf.auth_token == "s3cret"
    assert wf.mesh[0].name == "europe"
    assert wf.mesh[0].port == 9002
    assert wf.mesh[0].credential == "token:s3cret"
    assert (wf.limits.max_frame_size, wf.limits.max_connections) == (1024, 5)
    assert wf.limits.handshake_timeout == 1.5
    assert wf.instances is InstancePolicy.REPLACE
    assert wf.transport == "tcp"


def test_load_workflow_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(SEED)
    assert load_workflow(path).name == "Service"


def test_missing_file_is_a_workflow_error(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="cannot read"):
        load_workflow(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: x\nport: seventy\n", 2, "'port' must be a int"),
        ("name: x\nport: 70000\n", 2, "between 0 and 65535"),
        ("name: x\nflowz:\n  - name: a\n", 2, "unknown key 'flowz'"),
        ("host: h\n", 1, "needs a 'name'"),
        ("name: x\nflows:\n  - name: a\n  - name: a\n", 4, "listed twice (first on line 3)"),
        ("name: x\nflows:\n  - nam: a\n", 3, "needs a 'name'"),
        ("name: x\nfunctions:\n  - name: a\nflows:\n  - name: b\n", 2, "not both"),
        ("name: x\nauth:\n  type: oauth\n", 3, "'auth.type' must be 'token'"),
        ("name: x\nmesh:\n  eu:\n    host: h\n", 4, "needs 'host' and 'port'"),
        ("name: x\nlimits:\n  max_frame_size: -1\n", 3, "must be positive"),
        ("name: x\nlimits:\n  max_frames: 1\n", 3, "unknown limit"),
        ("name: x\ninstances: clone\n", 2, "share or replace"),
        ("name: x\ntransport: udp\n", 2, "quic, tcp or memory"),
        ("name: x\ntls:\n  cert: a.pem\n", 3, "both 'cert' and 'key'"),
        ("name: x\nflows: [\n", 3, "invalid YAML"),
        ("- a\n- b\n", 1, "must be a mapping"),
    ],
)
def test_invalid_workflows_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, source="wf.yaml")
    message = str(info.value)
    assert message.startswith(f"wf.yaml: line {line}:"), message
    assert fragment in message


def test_empty_file_is_rejected() -> None:
    with pytest.raises(WorkflowError, match="empty"):
        parse_workflow("")


SERVED = """\
name: edge
functions:
  - name: image-recognition
    wasm: guest/echo.wat
    observe: [0x10]
    export: echo
    reply: 0x11
    dirs: {/model: ./model}
    env: {INFER_MODEL: /model/m.tflite}
    limits: {memory: 128MiB, timeout_ms: 1000, instances: 2}
  - name: label-printer
"""


def _served_files(tmp_path: Path) -> Path:
    (tmp_path / "guest").mkdir()
    (tmp_path / "guest" / "echo.wat").write_text("(module)")
    (tmp_path / "model").mkdir()
    path = tmp_path / "workflow.yaml"
    path.write_text(SERVED)
    return path


def test_a_function_entry_with_code_is_served_with_paths_from_the_workflow_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _served_files(tmp_path)
    monkeypatch.chdir(tmp_path / "model")  # not where the paths are relative to
    wf = load_workflow(path)
    fn, printer = wf.functions
    assert printer.served is None  # a name alone: a function that connects
    assert fn.served is not None
    assert wf.served == (fn.served,)
    config = fn.served
    assert config.name == "image-recognition"
    assert config.source == (tmp_path / "guest" / "echo.wat").resolve()
    assert (config.kind, config.export, config.observe, config.reply) == ("wasm", "echo", (16,), 17)
    assert config.dirs == {"/model": (tmp_path / "model").resolve()}
    assert config.env == {"INFER_MODEL": "/model/m.tflite"}
    assert (config.limits.memory, config.limits.timeout_ms, config.limits.instances) == (
        128 << 20,
        1000,
        2,
    )
    assert not wf.is_sequential


def test_parse_workflow_takes_the_served_paths_from_base_dir(tmp_path: Path) -> None:
    _served_files(tmp_path)
    wf = parse_workflow(SERVED, base_dir=tmp_path)
    assert wf.served[0].source == (tmp_path / "guest" / "echo.wat").resolve()


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "name: x\nfunctions:\n  - name: a\n    wasm: guest/echo.wat\n    observe: [0x10]\n",
            3,
            "function 'a': export: a WebAssembly function needs the export",
        ),
        (
            "name: x\nfunctions:\n  - name: a\n    wasm: absent.wasm\n",
            4,
            "function 'a': wasm: ",
        ),
        (
            "name: x\nfunctions:\n  - name: a\n    observe: [0x10]\n",
            3,
            "function 'a': wasm: needs the module to serve",
        ),
        (
            "name: x\nfunctions:\n  - name: a\n    wasm: guest/echo.wat\n    color: red\n",
            5,
            "function 'a': color: unknown field",
        ),
        (
            "name: x\nfunctions:\n  - name: a\n    wasm: guest/echo.wat\n    export: e\n"
            "    observe: [0x10]\n    limits: {memory: lots}\n",
            7,
            "function 'a': limits.memory: expected a size",
        ),
        (
            "name: x\nflows:\n  - name: a\n    wasm: guest/echo.wat\n",
            4,
            "functions the zipper serves go under 'functions'",
        ),
    ],
)
def test_invalid_served_functions_name_the_function_and_the_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    _served_files(tmp_path)
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text, source="wf.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"wf.yaml: line {line}:"), message
    assert fragment in message

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

"""How metrics and the live view are asked for: the workflow's keys and the command line,
and a missing extra named in one line before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rxyomo.cli import main
from rxyomo.zipper import WorkflowError, parse_workflow


def test_the_workflow_names_the_metrics_and_the_live_view_addresses() -> None:
    workflow = parse_workflow(
        "name: a\nmetrics: 0.0.0.0:9100\ndashboard: 127.0.0.1:8080\nfunctions:\n  - name: f\n"
    )
    assert (workflow.metrics, workflow.dashboard) == ("0.0.0.0:9100", "127.0.0.1:8080")
    assert (parse_workflow("name: a\n").metrics, parse_workflow("name: a\n").dashboard) == ("", "")


def test_a_bad_address_in_the_workflow_names_its_line() -> None:
    with pytest.raises(WorkflowError, match=r"line 3: 'metrics' must be HOST:PORT, got '9100'"):
        parse_workflow("name: a\nhost: localhost\nmetrics: '9100'\n")


def test_serve_refuses_a_bad_address_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "workflow.yaml"
    config.write_text("name: a\nhost: 127.0.0.1\nport: 0\n")
    assert main(["serve", "-c", str(config), "--dashboard", "localhost"]) == 2
    assert capsys.readouterr().err == "rxyomo: an address is HOST:PORT, got 'localhost'\n"
    assert main(["serve", "-c", str(config), "--dashboard-preview", "m:f"]) == 2
    assert capsys.readouterr().err == "rxyomo: --dashboard-preview needs --dashboard\n"


def test_serve_names_the_missing_extra_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "workflow.yaml"
    config.write_text("name: a\nhost: 127.0.0.1\nport: 0\n")
    # A process where prometheus_client cannot be imported.
    code = (
        "import sys; sys.modules['prometheus_client'] = None; from rxyomo.cli import main; "
        f"sys.exit(main(['serve', '-c', {str(config)!r}, '--metrics', '127.0.0.1:0']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("rxyomo: --metrics needs the 'metrics' extra: pip install ")
    assert result.stderr.endswith("[metrics]' (missing module: prometheus_client)\n")

"""Fixtures of the reliability suite: the ``--runslow`` switch (registered in
tests/conftest.py), development certificates per test, and zippers in processes
of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.processes import ProcessGroup
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates


@pytest.fixture
def runslow(request: pytest.FixtureRequest) -> bool:
    """Whether the long variants were asked for."""
    return bool(request.config.getoption("--runslow"))


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Development certificates in a directory of this test, for this process and children."""
    path = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(path))
    dev_certificates()
    return path


@pytest.fixture
def child_env(config_dir: Path) -> dict[str, str]:
    """The environment for child processes: same certificates, unbuffered output."""
    return {**os.environ, CONFIG_DIR_ENV: str(config_dir), "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def processes(child_env: dict[str, str]) -> Iterator[ProcessGroup]:
    """Child processes that are killed, whatever happens, when the test ends."""
    group = ProcessGroup(child_env)
    try:
        yield group
    finally:
        group.kill_all()

"""Fixtures of the interoperability suite: the YoMo harness program (built once per
session, skipped without Go unless on CI), free ports and harness processes that are
stopped when the test ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.harness import HarnessGroup, HarnessUnavailable, harness_binary
from devtools.processes import free_udp_port


@pytest.fixture(scope="session")
def yomo_harness() -> Path:
    """The harness binary; skips the test (fails it on CI) when it cannot be built."""
    try:
        return harness_binary()
    except HarnessUnavailable as exc:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture
def udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    return free_udp_port()


@pytest.fixture
def yomo_processes(yomo_harness: Path) -> Iterator[HarnessGroup]:
    """Start harness processes with ``.start(args)``; all are stopped after the test."""
    group = HarnessGroup(yomo_harness)
    try:
        yield group
    finally:
        group.stop_all()

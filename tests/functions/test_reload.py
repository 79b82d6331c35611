"""Hot reload: the new version takes over between frames, none lost or run twice; code
that fails to load leaves the old version serving."""

from __future__ import annotations

import logging
import os
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rxyomo.functions import Frame, FunctionHost, Outcome, function_config
from tests.functions.conftest import GuestFactory
from tests.functions.guests import write_guest
from tests.functions.test_runner import Collector, key
from tests.waiting import eventually_in_thread

pytest.importorskip("wasmtime")


def _config(guest: Path, **limits: object):
    return function_config(
        "echo", guest, observe=[0x10], export="echo", reply=0x11, limits=limits or None
    )


def _feed(host: FunctionHost, count: int, got: Collector, pause: float = 0.0002) -> None:
    for index in range(count):
        while not host.submit("echo", Frame(0x10, b"#%d" % index, key=index), got):
            time.sleep(0.0005)  # scenario: a full queue; offer the frame again
        time.sleep(pause)  # scenario: the feeder's pace


def _check_accounted(outcomes: list[Outcome], count: int) -> dict[str, str]:
    """Every frame once, answered, and each answer made by the version it names; returns
    the prefix each version answered with."""
    assert sorted(map(key, outcomes)) == list(range(count))  # no loss, no twice
    prefixes: dict[str, str] = {}
    for outcome in outcomes:
        assert outcome.ok, outcome
        (answer,) = outcome.answers
        prefix = answer.data.decode().partition("#")[0]
        assert answer.data.endswith(outcome.frame.data)
        assert prefixes.setdefault(outcome.version, prefix) == prefix
    return prefixes


@pytest.mark.parametrize("instances", [1, 3])
def test_reload_under_load_accounts_for_every_frame(
    host: FunctionHost, make_guest: GuestFactory, instances: int
) -> None:
    guest = make_guest("v1:")
    host.add(_config(guest, instances=instances, queue=32))
    got = Collector()
    count = 1500
    feeder = threading.Thread(target=_feed, args=(host, count, got))
    feeder.start()
    got.wait(300, timeout=30)
    write_guest(guest, "v2:")
    reload = host.reload("echo")
    assert reload.changed
    assert reload.previous != reload.version
    feeder.join()
    outcomes = got.wait(count, timeout=30)
    prefixes = _check_accounted(outcomes, count)
    assert prefixes == {reload.previous: "v1:", reload.version: "v2:"}
    by_version = host.runner("echo").snapshot()["by_version"]
    assert by_version[reload.previous] + by_version[reload.version] == count
    if instances == 1:
        # One worker: frames run in order, so the switch is one clean cut.
        versions = [o.version for o in sorted(outcomes, key=key)]
        cut = versions.index(reload.version)
        assert set(versions[:cut]) == {reload.previous}
        assert set(versions[cut:]) == {reload.version}


def test_code_that_fails_to_load_leaves_the_old_version_serving(
    host: FunctionHost, make_guest: GuestFactory, caplog: pytest.LogCaptureFixture
) -> None:
    guest = make_guest("v1:")
    runner = host.add(_config(guest))
    before = runner.version.version
    guest.write_text('(module (func (export "echo")))')  # no allocator, wrong signature
    with caplog.at_level(logging.ERROR, logger="rxyomo.functions"):
        reload = host.reload("echo")
    assert not reload.changed
    assert "not a wasm-bindgen module" in reload.error
    assert reload.version == before
    assert f"echo: the new code is refused, version {before} goes on serving" in caplog.text
    got = Collector()
    host.submit("echo", Frame(0x10, b"x"), got)
    assert got.wait(1)[0].answers[0].data == b"v1:x"
    stats = runner.snapshot()
    assert (stats["failed_reloads"], stats["reloads"]) == (1, 0)
    assert "not a wasm-bindgen module" in stats["last_reload_error"]
    guest.write_bytes(b"\0asm garbage")
    assert "does not validate" in host.reload("echo").error
    guest.unlink()
    assert "cannot read" in host.reload("echo").error
    write_guest(guest, "v2:")
    assert host.reload("echo").changed


def test_an_unchanged_file_is_not_reloaded(host: FunctionHost, make_guest: GuestFactory) -> None:
    guest = make_guest("v1:")
    host.add(_config(guest))
    os.utime(guest)
    reload = host.reload("echo")
    assert (reload.changed, reload.error, reload.version) == (False, "", reload.previous)
    assert host.reload_all() == [reload]


def test_a_python_function_reloads_with_fresh_globals(host: FunctionHost, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    source = textwrap.dedent(
        """
        COUNT = []
        def observe_datatags():
            return [0x10]
        def handler(ctx):
            COUNT.append(1)
            return b"%s %d" % (ctx.data, len(COUNT))
        """
    )
    app.write_text(source.replace("%s %d", "one %s %d"))
    host.add(function_config("echo", app, reply=0x11))
    got = Collector()
    for _ in range(2):
        host.submit("echo", Frame(0x10, b"x"), got)
    got.wait(2)
    app.write_text(source.replace("%s %d", "two %s %d"))
    assert host.reload("echo").changed
    host.submit("echo", Frame(0x10, b"x"), got)
    answers = [o.answers[0].data for o in got.wait(3)]
    assert answers == [b"one x 1", b"one x 2", b"two x 1"]
    # The tags a connection observes are fixed when it connects: new ones are refused.
    app.write_text(source.replace("[0x10]", "[0x20]"))
    assert "observes other tags (0x20)" in host.reload("echo").error


def test_a_changed_file_is_reloaded_by_the_watcher(make_guest: GuestFactory) -> None:
    pytest.importorskip("watchfiles")
    guest = make_guest("v1:")
    host = FunctionHost(watch=True, debounce_ms=200)
    try:
        runner = host.add(_config(guest))
        assert host.watching
        assert host.wait_watching(10.0)
        before = runner.version.version
        # Written the way editors and build tools do: a new file renamed over the old.
        staged = guest.with_suffix(".tmp")
        write_guest(staged, "v2:")
        changed = time.monotonic()
        staged.replace(guest)
        eventually_in_thread(
            lambda: runner.version.version != before, "the change picked up", timeout=10
        )
        got = Collector()
        host.submit("echo", Frame(0x10, b"x"), got)
        (outcome,) = got.wait(1)
        served = time.monotonic() - changed
        print(f"\nfirst frame on the new version {served * 1000:.0f} ms after the change")
        assert outcome.answers[0].data == b"v2:x"
        # A broken write is refused and the running version stays.
        guest.write_text("(module")
        eventually_in_thread(
            lambda: runner.snapshot()["failed_reloads"], "the broken change seen", timeout=10
        )
        assert runner.version.version == outcome.version
        host.remove("echo")
        assert host.names == []
    finally:
        host.close()

"""The runtime over real QUIC on loopback, with the zipper and a function in
processes of their own, started the way users start them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.processes import free_udp_port
from rxyomo.client import Sink, Source
from rxyomo.client.stats import fetch_stats
from rxyomo.transport.base import TransportError
from rxyomo.transport.certs import dev_client_tls

from .conftest import FAST, eventually

pytestmark = pytest.mark.network

FUNCTION = textwrap.dedent(
    """
    import asyncio, sys
    from rxyomo.client import StreamFunction, ReconnectPolicy
    from rxyomo.transport.certs import dev_client_tls

    async def main() -> None:
        fn = StreamFunction(
            "reverse", observe=[0x10], handler=lambda d: (0x11, d[::-1]),
            zipper=sys.argv[1], tls=dev_client_tls(),
            reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.2),
        )
        await fn.connect()
        print("function connected", flush=True)
        await fn.wait_stopped()

    asyncio.run(main())
    """
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # Certificates go to a directory of this test, in this process and the children.
    monkeypatch.setenv("RXYOMO_CONFIG_DIR", str(tmp_path / "config"))
    return {**os.environ, "RXYOMO_CONFIG_DIR": str(tmp_path / "config")}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start(
    processes: list[subprocess.Popen[str]], env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(proc)
    return proc


async def test_source_function_sink_across_processes_over_quic(
    tmp_path: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    port = free_udp_port()
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(
        f"name: quic-test\nhost: 127.0.0.1\nport: {port}\n"
        "functions:\n  - name: reverse\n  - name: collector\n"
    )
    script = tmp_path / "function.py"
    script.write_text(FUNCTION)
    zipper = f"127.0.0.1:{port}"
    start(processes, env, "-m", "rxyomo", "serve", "-c", str(workflow), "--stats-interval", "0")
    start(processes, env, str(script), zipper)

    got: list[bytes] = []
    tls = dev_client_tls()
    sink = Sink(
        "collector", observe=[0x11], handler=got.append, zipper=zipper, tls=tls, reconnect=FAST
    )
    source = Source("camera", zipper=zipper, tls=tls, reconnect=FAST)
    await asyncio.wait_for(sink.connect(), 20)
    await asyncio.wait_for(source.connect(), 20)

    # The function process may join after the source: wait until it routes.
    async def function_joined() -> bool:
        stats = await fetch_stats(zipper, "quic", tls=tls, timeout=5)
        return any(c["name"] == "reverse" for c in stats["connections"])

    await eventually(function_joined, "the function joining", timeout=20, poll=0.05)
    payloads = [f"frame-{i:03d}".encode() * 100 for i in range(100)]
    for payload in payloads:
        await source.write(0x10, payload)
    await eventually(lambda: len(got) == len(payloads), timeout=20)
    assert got == [p[::-1] for p in payloads]
    stats = await fetch_stats(zipper, "quic", tls=tls)
    assert stats["drops"] == {}
    # The same counters through the command line, as an operator would ask for them.
    assert tls.cafile is not None
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rxyomo",
        "stats",
        "--zipper",
        zipper,
        "--ca",
        str(tls.cafile),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), 30)
    assert cli.returncode == 0, err.decode()
    printed = json.loads(out)
    assert printed["name"] == "quic-test"
    assert {c["name"] for c in printed["connections"]} >= {"reverse", "collector", "camera"}
    await source.close()
    await sink.close()


def test_stats_reports_an_unreachable_zipper(env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rxyomo",
            "stats",
            "--zipper",
            f"127.0.0.1:{free_udp_port()}",
            "--insecure",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot get stats from 127.0.0.1:" in result.stderr


def test_serve_reports_a_bad_workflow_with_its_line(tmp_path: Path, env: dict[str, str]) -> None:
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text("name: bad\nport: nine\n")
    result = subprocess.run(
        [sys.executable, "-m", "rxyomo", "serve", "-c", str(workflow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "line 2" in result.stderr
    assert "'port' must be a int" in result.stderr


async def test_serve_stops_promptly_when_a_client_vanished(
    tmp_path: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    port = free_udp_port()
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(
        f"name: stop-test\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: reverse\n"
    )
    script = tmp_path / "function.py"
    script.write_text(FUNCTION)
    zipper = start(
        processes, env, "-m", "rxyomo", "serve", "-c", str(workflow), "--stats-interval", "0"
    )
    function = start(processes, env, str(script), f"127.0.0.1:{port}")
    tls = dev_client_tls()

    async def joined() -> bool:
        try:
            stats = await fetch_stats(f"127.0.0.1:{port}", "quic", tls=tls, timeout=5)
        except TransportError:  # the zipper process is still starting
            return False
        return any(c["name"] == "reverse" for c in stats["connections"])

    await eventually(joined, "the function joining", timeout=20, poll=0.05)
    function.kill()  # gone without a word: its connection will never answer
    function.wait(timeout=10)
    loop = asyncio.get_running_loop()
    started = loop.time()
    zipper.terminate()
    code = await loop.run_in_executor(None, lambda: zipper.wait(timeout=30))
    assert code == 0
    # The close grace (2 s) bounds the wait, not the transport's 10 s close timeout.
    assert loop.time() - started < 8

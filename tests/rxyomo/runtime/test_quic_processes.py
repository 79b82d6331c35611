"""The runtime over real QUIC on loopback, with the zipper and a function in
processes of their own, started the way users start them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from rxyomo.client import Sink, Source
from rxyomo.client.stats import fetch_stats
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


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    sink = Sink("collector", observe=[0x11], handler=got.append, zipper=zipper, tls=tls,
                reconnect=FAST)  # fmt: skip
    source = Source("camera", zipper=zipper, tls=tls, reconnect=FAST)
    await asyncio.wait_for(sink.connect(), 20)
    await asyncio.wait_for(source.connect(), 20)

    # The function process may join after the source: wait until it routes.
    async def function_joined() -> bool:
        stats = await fetch_stats(zipper, "quic", tls=tls, timeout=5)
        return any(c["name"] == "reverse" for c in stats["connections"])

    for _ in range(200):
        if await function_joined():
            break
        await asyncio.sleep(0.05)
    payloads = [f"frame-{i:03d}".encode() * 100 for i in range(100)]
    for payload in payloads:
        await source.write(0x10, payload)
    await eventually(lambda: len(got) == len(payloads), timeout=20)
    assert got == [p[::-1] for p in payloads]
    stats = await fetch_stats(zipper, "quic", tls=tls)
    assert stats["drops"] == {}
    await source.close()
    await sink.close()


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
    assert "line 2" in result.stderr and "'port' must be a int" in result.stderr

"""The pipeline's variants that serve the guest as it is (raw JPEG in, sentence out), for
``bench_pipeline``:

- ``served``: ``rxyomo serve`` with the example's ``zipper/served.yaml``: the zipper runs
  the guest on its own worker threads; source and sink in the bench process, over QUIC:
  source -> zipper -> sink, two hops;
- ``served-tcp``: the same over rxyomo's TLS over TCP, to tell what QUIC costs;
- ``served-memory``: the same zipper in the bench process, over the in-memory transport;
- ``hosted``: ``rxyomo run`` of the guest in a process of its own, connected to a zipper
  process: four hops, as the flows, without their y3 payloads;
- ``floor-served``: the served form's floor: the bench and one process that classifies on
  ``instances`` threads, joined by bare asyncio over plain TCP (``_floor.py server``).

The guest's answer says nothing of its call time, so the per-frame overhead of these
variants is reckoned from the call-time p50 of the function's stats (the served form;
the floor reports each call's time itself).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from forms import run_arguments, served_workflow
from recognizer import default_model_dir

from benches import _floor
from devtools.processes import free_tcp_port, free_udp_port
from rxyomo import Zipper, load_workflow
from rxyomo.client.stats import fetch_stats
from rxyomo.transport import Transport, TransportOptions
from rxyomo.transport.certs import dev_certificates, dev_client_tls
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from rxyomo.transport.tcp import TcpTransport

__all__ = ["run_floor_served", "run_hosted", "run_served", "run_served_memory"]

FUNCTION = "image-recognition"


def _call_p50(address: str, transport: Transport) -> Any:
    async def call_ms() -> float:
        stats = await fetch_stats(address, transport)
        return float(stats["functions"][FUNCTION]["call_ms"]["p50"])

    return call_ms


async def run_served(
    bench: Any,
    frames: list[bytes],
    rounds: int,
    instances: int,
    env: dict[str, str],
    tmp: Path,
    transport_name: str = "quic",
) -> Any:
    """``rxyomo serve`` serving the guest; source and sink here, over QUIC (or TLS over
    TCP, to tell what QUIC costs)."""
    run = bench.Run(
        f"served-{transport_name}", settings={"instances": instances, "workers": instances}
    )
    workflow = served_workflow(
        tmp / "served.yaml", model_dir=default_model_dir(), instances=instances
    )
    transport: Transport
    if transport_name == "quic":
        port = free_udp_port()
        transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
    else:
        port = free_tcp_port()
        transport = TcpTransport(TransportOptions(tls=dev_client_tls()))
    async with bench._supervised(env) as supervisor:
        zipper = await supervisor.start(
            "zipper",
            [
                sys.executable, "-m", "rxyomo", "serve", "-c", str(workflow),
                "--host", "127.0.0.1", "--port", str(port), "--stats-interval", "0", "--no-watch",
                "--transport", transport_name,
            ],
            ready="listening on",
        )  # fmt: skip
        await supervisor.wait_ready([zipper], 60)
        address = f"127.0.0.1:{port}"
        pids = {"bench": os.getpid(), "zipper": zipper.process.pid}
        await bench.drive(
            run, frames, rounds, bench.WINDOW * instances, address, transport, pids,
            raw=True, call_ms=_call_p50(address, transport),
        )  # fmt: skip
        run.settings["function"] = (await fetch_stats(address, transport))["functions"][FUNCTION]
    return run


async def run_served_memory(
    bench: Any, frames: list[bytes], rounds: int, instances: int, tmp: Path
) -> Any:
    """The zipper serving the guest in this process, over the in-memory transport."""
    run = bench.Run("served-memory", settings={"instances": instances, "workers": instances})
    workflow = served_workflow(
        tmp / "served.yaml", model_dir=default_model_dir(), instances=instances
    )
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(load_workflow(workflow), transport)
    await zipper.start()
    address = "{}:{}".format(*zipper.address)
    try:
        await bench.drive(
            run, frames, rounds, bench.WINDOW * instances, address, transport,
            {"bench": os.getpid()}, raw=True, call_ms=_call_p50(address, transport),
        )  # fmt: skip
    finally:
        await zipper.close()
    return run


async def run_hosted(
    bench: Any, frames: list[bytes], rounds: int, instances: int, env: dict[str, str]
) -> Any:
    """A zipper process and ``rxyomo run`` of the guest; source and sink here, over QUIC."""
    run = bench.Run("hosted-quic", settings={"instances": instances, "workers": instances})
    port = free_udp_port()
    address = f"127.0.0.1:{port}"
    transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
    async with bench._supervised(env) as supervisor:
        zipper = await supervisor.start(
            "zipper",
            [
                sys.executable, "-m", "rxyomo", "serve", "-c", str(bench.WORKFLOW),
                "--host", "127.0.0.1", "--port", str(port), "--stats-interval", "0",
            ],
            ready="listening on",
        )  # fmt: skip
        await supervisor.wait_ready([zipper], 30)
        argv = run_arguments(
            address,
            model_dir=default_model_dir(),
            instances=instances,
            ca=dev_certificates().ca_certfile,
        )
        host = await supervisor.start(
            "rxyomo run", [sys.executable, "-m", "rxyomo", *argv], ready="rxyomo run: serving"
        )
        await supervisor.wait_ready([host], 60)
        pids = {"bench": os.getpid(), "zipper": zipper.process.pid, "host": host.process.pid}
        await bench.drive(
            run, frames, rounds, bench.WINDOW * instances, address, transport, pids, raw=True
        )
    return run


async def run_floor_served(
    bench: Any, frames: list[bytes], rounds: int, instances: int, env: dict[str, str]
) -> Any:
    """The served form's floor: this process and one that classifies, over plain TCP."""
    run = bench.Run("floor-served", settings={"instances": instances, "workers": instances})
    port = str(free_tcp_port())
    env = {**env, "PYTHONPATH": os.pathsep.join([str(bench.ROOT), str(bench.EXAMPLE)])}
    async with bench._supervised(env) as supervisor:
        server = await supervisor.start(
            "server",
            [sys.executable, "-m", "benches._floor", "server", port, "--instances", str(instances)],
            ready=_floor.SERVER_READY,
        )
        await supervisor.wait_ready([server], 120)
        driver = bench.Driver()

        def on_result(payload: bytes) -> None:
            index, call_us, _ = _floor.split_answer(payload)
            driver.result(index, call_us / 1e3)

        connection = await _floor.connect(int(port), on_result)

        async def write(index: int, jpeg: bytes) -> None:
            connection.send(_floor.IMAGE, _floor.join_image(index, jpeg))

        driver.write = write
        pids = {"bench": os.getpid(), "server": server.process.pid}
        try:
            await bench.measure(run, driver, frames, rounds, bench.WINDOW * instances, pids)
        finally:
            assert connection.transport is not None
            connection.transport.close()
    return run

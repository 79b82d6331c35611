"""The zipper's CPU time a frame, this checkout's zipper against another revision's.

A source writes 1 KiB frames (each write awaited, as back-pressure allows) through
``python -m rxyomo serve`` over QUIC on loopback to a sink, all on default settings. The
figure is the zipper process's CPU time (user + system) over the frames it carried, which
a busy machine moves far less than wall time; beside it, the zipper's CPU time a second
while the two clients are connected and idle (what timers and rescans cost; the 10 ms
clock ticks of the system's accounting bound its resolution, so measure idle long).

The source and the sink are this checkout's in both cases; only the zipper differs:
``--ref REV`` runs that revision's zipper from a temporary git worktree, round by round
interleaved with this one's, and the ratio is what to read (below 1: this checkout spends
less CPU). Writes benches/results/zipper_cpu.json.

    python -m benches.zipper_cpu [--ref REV] [--frames 20000] [--rounds 3] [--idle 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil

from benches._bench import write_report
from devtools.processes import free_udp_port
from rxyomo import Sink, Source
from rxyomo.transport.certs import dev_client_tls

REPO = Path(__file__).resolve().parents[1]
TAG = 0x10
WARM_UP = 500
WAIT = 120.0


@contextlib.contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A detached worktree of ``ref``, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="rxyomo-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), ref],
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                check=False,
            )


def _start_zipper(tree: Path, workflow: Path) -> subprocess.Popen[str]:
    """``python -m rxyomo serve`` from ``tree``, once it listens."""
    zipper = subprocess.Popen(
        [sys.executable, "-m", "rxyomo", "serve", "-c", str(workflow)],
        env={**os.environ, "PYTHONPATH": str(tree)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert zipper.stderr is not None
    for line in zipper.stderr:
        if "listening on" in line:
            return zipper
    raise RuntimeError(f"the zipper of {tree} did not start")


async def one_round(tree: Path, frames: int, size: int, idle: float) -> tuple[float, float]:
    """Microseconds of the zipper's CPU a frame, and milliseconds a second idle, for the
    zipper of ``tree``."""
    port = free_udp_port()
    with tempfile.TemporaryDirectory() as tmp:
        workflow = Path(tmp) / "workflow.yaml"
        workflow.write_text(
            f"name: cpu\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: sink\n"
        )
        zipper = _start_zipper(tree, workflow)
        try:
            process = psutil.Process(zipper.pid)
            return await _measure(process, f"127.0.0.1:{port}", frames, size, idle)
        finally:
            zipper.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                zipper.communicate(timeout=20)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _measure(
    zipper: psutil.Process, address: str, frames: int, size: int, idle: float
) -> tuple[float, float]:
    tls = dev_client_tls()
    got = 0
    arrived = asyncio.Event()
    want = 0

    def count(_data: bytes) -> None:
        nonlocal got
        got += 1
        if got >= want:
            arrived.set()

    sink = Sink("sink", observe=[TAG], handler=count, zipper=address, tls=tls)
    source = Source("source", zipper=address, tls=tls)
    await asyncio.wait_for(sink.connect(), WAIT)
    await asyncio.wait_for(source.connect(), WAIT)
    payload = b"x" * size

    async def carry(count_: int) -> None:
        nonlocal want
        arrived.clear()
        want = got + count_
        for _ in range(count_):
            await source.write(TAG, payload)
        await asyncio.wait_for(arrived.wait(), WAIT)

    try:
        await carry(WARM_UP)
        before = _cpu(zipper)
        await carry(frames)
        busy = _cpu(zipper) - before
        await asyncio.sleep(1.0)  # the last receipts and acknowledgements settle
        before = _cpu(zipper)
        await asyncio.sleep(idle)
        quiet = _cpu(zipper) - before
    finally:
        await source.close()
        await sink.close()
    return busy / frames * 1e6, quiet / idle * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", help="the revision whose zipper is the baseline")
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds measured idle")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"this checkout": []}
    idle: dict[str, list[float]] = {"this checkout": []}
    with contextlib.ExitStack() as stack:
        trees = {"this checkout": REPO}
        if args.ref:
            trees[args.ref] = stack.enter_context(checkout(args.ref))
            samples[args.ref] = []
            idle[args.ref] = []
        for _ in range(args.rounds):
            for name, tree in trees.items():
                busy, quiet = asyncio.run(one_round(tree, args.frames, args.size, args.idle))
                samples[name].append(busy)
                idle[name].append(quiet)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    idle_medians = {name: statistics.median(values) for name, values in idle.items()}
    report: dict[str, object] = {
        "frames": args.frames,
        "size": args.size,
        "rounds": args.rounds,
        "zipper_cpu_us_per_frame": medians,
        "samples": samples,
        "idle_seconds": args.idle,
        "zipper_idle_cpu_ms_per_s": idle_medians,
        "idle_samples": idle,
    }
    for name, value in medians.items():
        print(
            f"{name:>16}: zipper CPU {value:6.1f} us a frame, "
            f"{idle_medians[name]:5.2f} ms a second idle"
        )
    if args.ref:
        ratio = medians["this checkout"] / medians[args.ref]
        idle_ratio = idle_medians["this checkout"] / max(idle_medians[args.ref], 1e-9)
        report["ratio_to_ref"] = ratio
        report["idle_ratio_to_ref"] = idle_ratio
        print(f"this checkout / {args.ref}: {ratio:.2f}x the CPU a frame, {idle_ratio:.2f}x idle")
    print(f"wrote {write_report('zipper_cpu.json', report)}")


if __name__ == "__main__":
    main()

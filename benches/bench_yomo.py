"""rxyomo's zipper beside YoMo's own: YoMo source -> zipper -> YoMo stream function.

The same Go source (YoMo v1.22.3, writing 1 KiB frames as fast as it can for a fixed
time) and the same Go stream function (counting what arrives) run through YoMo's zipper
and through rxyomo's (``python -m rxyomo serve``, on default settings), interleaved
round by round in one run. For each: frames delivered per second, the zipper's CPU
time per frame, its peak RSS, and rxyomo's ratio to YoMo. YoMo logs at level error (at
info it writes a line per frame); both zippers are processes of their own.

Writes benches/results/yomo.json and yomo.png.

    python -m benches.bench_yomo [--seconds 10] [--rounds 3] [--size 1024] [--core native]

``--core`` chooses rxyomo's QUIC core (``RXYOMO_QUIC_CORE``; by default the native one
when it is installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "benches.bench_yomo"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import psutil

    from benches._bench import pyplot, save_figure, write_report
    from devtools.harness import HarnessProcess, harness_binary, yomo_zipper_config
    from devtools.processes import ProcessGroup, free_udp_port
    from rxyomo.transport.certs import CONFIG_DIR_ENV
    from rxyomo.transport.quic.native import CORE_ENV, CORES, native_chosen

WAIT = 120.0


class Sampler:
    """A process's peak RSS, sampled every 50 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def drive(binary: Path, address: str, zipper_pid: int, seconds: float, size: int) -> dict[str, Any]:
    """Run the Go function and source through the zipper at ``address``; measure it."""
    sampler = Sampler(zipper_pid)
    sfn = HarnessProcess(
        binary,
        ["sfn", "--zipper", address, "--name", "bench-sfn", "--observe", "0x10", "--quiet"],
        name="sfn",
    )
    try:
        sfn.wait_for(lambda e: e["event"] == "connected", WAIT)
        cpu_before = sampler.cpu()
        source = HarnessProcess(
            binary,
            [
                "source",
                "--zipper",
                address,
                "--name",
                "bench-source",
                "--tag",
                "0x10",
                "--size",
                str(size),
                "--duration",
                str(seconds),
                "--hold",
                "1",
            ],
            name="source",
        )
        with source:
            done = source.wait_for(lambda e: e["event"] == "done", seconds + WAIT)
        # Delivered: what the function counted once the count stopped moving.
        frames, still = -1, 0
        while still < 5:
            time.sleep(0.1)
            last = sfn.last("count")
            count = last["frames"] if last else 0
            still = still + 1 if count == frames else 0
            frames = count
        cpu = sampler.cpu() - cpu_before
    finally:
        sfn.stop()
        sampler.stop()
    return {
        "written": done["written"],
        "delivered": frames,
        "msgs_per_s": frames / done["seconds"],
        "zipper_cpu_us_per_frame": 1e6 * cpu / max(frames, 1),
        "zipper_peak_rss_mb": sampler.peak / 2**20,
    }


def yomo_round(binary: Path, scratch: Path, seconds: float, size: int) -> dict[str, Any]:
    port = free_udp_port()
    config = yomo_zipper_config(scratch / f"yomo-{port}.yaml", name="bench", port=port)
    with HarnessProcess(binary, ["zipper", "--config", str(config)], name="yomo zipper") as zipper:
        address = zipper.wait_for(lambda e: e["event"] == "listening", WAIT)["addr"]
        return drive(binary, address, zipper.pid, seconds, size)


def rxyomo_round(
    binary: Path, scratch: Path, group: ProcessGroup, seconds: float, size: int
) -> dict[str, Any]:
    port = free_udp_port()
    workflow = scratch / f"rxyomo-{port}.yaml"
    workflow.write_text(
        f"name: bench\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: bench-sfn\n"
    )
    child = group.zipper(workflow, scratch / f"rxyomo-{port}.log")
    try:
        assert child.proc is not None
        return drive(binary, f"127.0.0.1:{port}", child.proc.pid, seconds, size)
    finally:
        child.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="source run time per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024, help="payload bytes (at least 8)")
    parser.add_argument("--core", choices=CORES, help="rxyomo's QUIC core (default: as installed)")
    args = parser.parse_args()
    env = {**os.environ}
    if args.core is not None:
        env[CORE_ENV] = args.core
    binary = harness_binary()
    runs: dict[str, list[dict[str, Any]]] = {"yomo": [], "rxyomo": []}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        group = ProcessGroup({**env, CONFIG_DIR_ENV: str(scratch / "config")})
        try:
            for round_ in range(args.rounds):
                runs["yomo"].append(yomo_round(binary, scratch, args.seconds, args.size))
                runs["rxyomo"].append(rxyomo_round(binary, scratch, group, args.seconds, args.size))
                print(
                    f"round {round_ + 1}: "
                    + ", ".join(
                        f"{name} {r[-1]['msgs_per_s']:,.0f} msg/s" for name, r in runs.items()
                    )
                )
        finally:
            group.kill_all()
    medians = {
        name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        for name, rounds in runs.items()
    }
    ratio = medians["rxyomo"]["msgs_per_s"] / medians["yomo"]["msgs_per_s"]
    report = {
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "size": args.size,
            "core": "native" if native_chosen(args.core) else "aioquic",
        },
        "runs": runs,
        "medians": medians,
        "ratio_msgs_per_s": ratio,
        "ratio_cpu_per_frame": medians["rxyomo"]["zipper_cpu_us_per_frame"]
        / medians["yomo"]["zipper_cpu_us_per_frame"],
    }
    path = write_report("yomo.json", report)
    print(f"{'zipper':8} {'msg/s':>9} {'CPU/frame':>11} {'peak RSS':>9} {'delivered':>10}")
    for name, m in medians.items():
        print(
            f"{name:8} {m['msgs_per_s']:9,.0f} {m['zipper_cpu_us_per_frame']:9.1f}us "
            f"{m['zipper_peak_rss_mb']:7.1f}MB {m['delivered']:10,.0f}"
        )
    print(f"rxyomo / YoMo: {ratio:.2f}x msgs/s; report {path}")
    plt = pyplot()
    if plt is not None:
        figure, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for ax, key, label in zip(
            axes,
            ("msgs_per_s", "zipper_cpu_us_per_frame", "zipper_peak_rss_mb"),
            ("frames/s delivered", "zipper CPU µs per frame", "zipper peak RSS (MB)"),
            strict=True,
        ):
            ax.bar(list(medians), [m[key] for m in medians.values()], color=["#888", "#3a7"])
            ax.set_title(label, fontsize=9)
        figure.suptitle(
            f"YoMo source → zipper → YoMo function, {args.size} B frames "
            f"(rxyomo {ratio:.2f}x YoMo)",
            fontsize=10,
        )
        figure.tight_layout()
        save_figure(figure, path.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

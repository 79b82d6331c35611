"""What the benches share: where their results go, plotting when matplotlib is there, and
rounds that interleave the variants and keep each one's median."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Every bench writes its JSON (and PNG) here; the folder is not committed.
RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, report: Mapping[str, Any]) -> Path:
    """Write ``report`` as indented JSON to ``RESULTS / name``; return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


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

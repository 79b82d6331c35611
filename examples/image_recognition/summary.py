"""The run's figures: frames, labels, frames/s, latency percentiles."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from frames import UNKNOWN_TIME
from pipeline import Printed

__all__ = ["Summary", "record", "summarize"]


def record(item: Printed) -> dict[str, Any]:
    """One result as a JSON-ready record (a line of the sink's ``--record`` file)."""
    result = item.result
    return {
        "index": item.index,
        "label": item.label,
        "text": item.text,
        "latency_ms": item.latency_ms,
        "received_ns": item.received_ns,
        "sent_ns": result.sent_ns if result else None,
        "position": result.position if result else None,
        "inference_ms": (
            result.inference_us / 1e3 if result and result.inference_us != UNKNOWN_TIME else None
        ),
        "worker": result.worker if result else None,
        "error": result.error if result else None,
    }


@dataclass(frozen=True)
class Summary:
    """What a run did."""

    frames: int
    failed: int
    labels: dict[str, int]
    seconds: float
    frames_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    inference_p50_ms: float
    workers: int
    #: What the workers are, for the summary line.
    worker_kind: str = "flow workers"

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def lines(self) -> list[str]:
        """The summary for people."""
        labels = ", ".join(f"{label} x{n}" for label, n in self.labels.items()) or "none"
        return [
            f"frames     {self.frames} in {self.seconds:.2f} s, {self.frames_per_s:.1f} frames/s"
            f" ({self.failed} failed), by {self.workers} {self.worker_kind}",
            f"latency    p50 {self.latency_p50_ms:.1f} ms, p99 {self.latency_p99_ms:.1f} ms"
            " (source send to sink receive"
            + (
                f"; inference p50 {self.inference_p50_ms:.1f} ms)"
                if self.inference_p50_ms == self.inference_p50_ms  # not nan: known
                else ")"
            ),
            f"labels     {labels}",
        ]


def summarize(
    records: Iterable[Mapping[str, Any]],
    *,
    inference_p50_ms: float | None = None,
    workers: int | None = None,
    worker_kind: str = "flow workers",
) -> Summary:
    """The summary of the sink's records (those with an index and a send time).

    Answers of the guest served as it is say nothing of their call time nor of the
    worker: ``inference_p50_ms`` (from the function's stats) and ``workers`` then say."""
    rows = [r for r in records if r.get("sent_ns")]
    if not rows:
        return Summary(0, 0, {}, 0.0, 0.0, float("nan"), float("nan"), float("nan"), 0, worker_kind)
    latencies = np.array([r["latency_ms"] for r in rows], dtype=float)
    inference = np.array(
        [r["inference_ms"] for r in rows if not r["error"] and r["inference_ms"] is not None],
        dtype=float,
    )
    if inference_p50_ms is not None:
        inference = np.array([inference_p50_ms])
    seconds = (max(r["received_ns"] for r in rows) - min(r["sent_ns"] for r in rows)) / 1e9
    labels = Counter(r["label"] or "nothing recognised" for r in rows if not r["error"])
    return Summary(
        frames=len(rows),
        failed=sum(1 for r in rows if r["error"]),
        labels=dict(labels.most_common()),
        seconds=seconds,
        frames_per_s=len(rows) / seconds if seconds > 0 else float("nan"),
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p99_ms=float(np.percentile(latencies, 99)),
        inference_p50_ms=float(np.percentile(inference, 50)) if inference.size else float("nan"),
        workers=workers if workers is not None else len({r["worker"] for r in rows}),
        worker_kind=worker_kind,
    )

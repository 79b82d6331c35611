"""What the live view shows: the zipper's traffic, connections, drops and mesh, with rates
worked out from the counters' history, as one JSON-ready dict."""

from __future__ import annotations

import collections
import contextlib
import time
from typing import TYPE_CHECKING, Any

from rxyomo.observe.counters import Traffic
from rxyomo.observe.hooks import HOOKS

if TYPE_CHECKING:
    from rxyomo.observe.zipper import ZipperObserver

__all__ = ["LiveView"]

#: Rates are frames over the last this many seconds.
RATE_WINDOW = 2.0
#: The counters' history keeps a sample at most this often.
SAMPLE_EVERY = 0.2


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class LiveView:
    """Builds the live view's data from one zipper's observer."""

    def __init__(self, observer: ZipperObserver) -> None:
        self.observer = observer
        # (time, frames per (direction, kind, client, tag)), oldest first.
        self._history: collections.deque[tuple[float, dict[tuple[str, ...], int]]] = (
            collections.deque()
        )

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, now."""
        observer = self.observer
        zipper = observer.zipper
        now = time.monotonic()
        counts: dict[tuple[str, ...], int] = {
            ("in", *key): row.frames for key, row in observer.received.items()
        }
        counts.update((("out", *key), row.frames) for key, row in observer.sent_traffic.items())
        rates = self._rates(now, counts)
        traffic = []
        for direction, table in (("in", observer.received), ("out", observer.sent_traffic)):
            traffic += self._traffic(direction, table, rates)
        received, sent = observer.received.total(), observer.sent_traffic.total()
        drops = sorted(zipper.stats.drops.items(), key=lambda item: -item[1])
        address = None
        with contextlib.suppress(RuntimeError):  # not listening (yet)
            address = "{}:{}".format(*zipper.address)
        return {
            "zipper": observer.name,
            "address": address,
            "uptime_s": round(time.time() - observer.started, 1),
            "totals": {
                "frames_in": received.frames,
                "frames_out": sent.frames,
                "bytes_in": received.bytes,
                "bytes_out": sent.bytes,
                "frames_in_per_s": round(sum(r for k, r in rates.items() if k[0] == "in"), 1),
                "drops": sum(n for _, n in drops),
                "connections": sum(1 for p in zipper.peers.values() if p.is_open),
            },
            "traffic": traffic,
            "connections": self._connections(),
            "drops": [{"reason": reason, "frames": count} for reason, count in drops],
            "mesh": [
                {
                    "peer": link.peer.name,
                    "address": f"{link.peer.host}:{link.peer.port}",
                    "connected": link.is_connected,
                    "forwarded": link.forwarded,
                }
                for link in zipper.mesh
            ],
            "functions": self._functions(),
            "previews": observer.preview_items(),
        }

    def _rates(
        self, now: float, counts: dict[tuple[str, ...], int]
    ) -> dict[tuple[str, ...], float]:
        history = self._history
        if not history or now - history[-1][0] >= SAMPLE_EVERY:
            history.append((now, counts))
        while len(history) > 2 and now - history[1][0] >= RATE_WINDOW:
            history.popleft()
        then, before = history[0]
        elapsed = now - then
        if elapsed <= 0:
            return dict.fromkeys(counts, 0.0)
        return {key: (count - before.get(key, 0)) / elapsed for key, count in counts.items()}

    def _traffic(
        self, direction: str, table: Traffic, rates: dict[tuple[str, ...], float]
    ) -> list[dict[str, Any]]:
        recent = self.observer.round_trips.recent
        rows = []
        for (kind, client, tag), row in table.items():
            latency = recent.get((client, tag)) if direction == "out" else None
            rows.append(
                {
                    "direction": direction,
                    "kind": kind,
                    "client": client,
                    "tag": tag,
                    "frames": row.frames,
                    "bytes": row.bytes,
                    "per_s": round(rates.get((direction, kind, client, tag), 0.0), 1),
                    "latency_p50_ms": _ms(latency.median()) if latency is not None else None,
                }
            )
        rows.sort(key=lambda r: (r["direction"], r["client"], r["tag"]))
        return rows

    def _connections(self) -> list[dict[str, Any]]:
        from rxyomo.observe.zipper import kind_of

        zipper = self.observer.zipper
        rows = []
        for conn_id, peer in sorted(zipper.peers.items()):
            stats = peer.stats
            rows.append(
                {
                    "id": conn_id,
                    "name": stats.name,
                    "kind": kind_of(peer),
                    "peer": stats.peer,
                    "state": peer.core.state.value,
                    "paused": zipper.pressure.is_held(conn_id),
                    "frames_in": stats.frames_in,
                    "frames_out": stats.frames_out,
                }
            )
        return rows

    def _functions(self) -> list[dict[str, Any]]:
        functions = HOOKS.functions
        if functions is None:
            return []
        return [
            {
                "function": function,
                "tag": tag,
                "calls": calls.seconds.count,
                "errors": calls.errors,
                "p50_ms": _ms(calls.recent.median()),
            }
            for (function, tag), calls in functions.items()
        ]

"""Prometheus metrics of a zipper and of the stream functions run beside it, in the
official client library's text format (the ``metrics`` extra).

The hot paths only bump plain counters (:mod:`rxyomo.observe.counters`); a collector
turns them into metric families when ``/metrics`` is scraped.

============================================= =========================================
``rxyomo_zipper_frames_received_total``        data frames in, by ``kind``, ``client``,
``rxyomo_zipper_bytes_received_total``         ``tag`` (payload bytes)
``rxyomo_zipper_frames_sent_total``            data frames out, by destination ``kind``
``rxyomo_zipper_bytes_sent_total``             (``mesh``: to the mesh links), ``client``
``rxyomo_zipper_drops_total``                  frames dropped, by ``reason``
``rxyomo_zipper_connections``                  open connections, by ``kind``
``rxyomo_zipper_connections_accepted_total``   handshakes accepted (and ``_rejected``,
                                               connections ``_closed``)
``rxyomo_zipper_backpressure_seconds_total``   time senders were held paused, by ``client``
``rxyomo_zipper_backpressure_pauses_total``    how often
``rxyomo_zipper_function_round_trip_seconds``  sampled: a frame handed to a function until
                                               its answer came, by ``function``, ``tag``
``rxyomo_zipper_mesh_forwarded_total``         frames forwarded, by mesh ``peer``
``rxyomo_zipper_mesh_connected``               1 while the link to ``peer`` is up
``rxyomo_function_calls_seconds``              handler call time of the functions run in
                                               this process, by ``function``, ``tag``
``rxyomo_function_errors_total``               frames their handler failed on
``process_resident_memory_bytes``, ...         the client library's process metrics
============================================= =========================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rxyomo.observe._extras import require
from rxyomo.observe.counters import FunctionMetrics, Histogram, Traffic
from rxyomo.observe.hooks import HOOKS

if TYPE_CHECKING:
    from rxyomo.observe.zipper import ZipperObserver

__all__ = ["CONTENT_TYPE", "MetricsRegistry", "enable_function_metrics"]

#: The content type of the text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def enable_function_metrics() -> FunctionMetrics:
    """Record the call times and errors of the stream functions in this process."""
    if HOOKS.functions is None:
        HOOKS.functions = FunctionMetrics()
    return HOOKS.functions


class _Collector:
    """Reads a zipper's observer (if any) and the process's function metrics."""

    def __init__(self, core: Any, observer: ZipperObserver | None) -> None:
        self._core = core
        self._observer = observer

    def describe(self) -> list[Any]:
        return []  # families vary with the traffic: described when collected

    def collect(self) -> Iterator[Any]:
        if self._observer is not None:
            yield from self._zipper(self._observer)
        functions = HOOKS.functions
        if functions is not None:
            yield from self._functions(functions)

    def _zipper(self, observer: ZipperObserver) -> Iterator[Any]:
        core = self._core
        zipper = observer.zipper
        stats = zipper.stats
        labels = ["kind", "client", "tag"]
        yield from _traffic(core, "received", observer.received, labels)
        yield from _traffic(core, "sent", observer.sent_traffic, labels)
        drops = core.CounterMetricFamily(
            "rxyomo_zipper_drops", "Data frames the zipper dropped, by reason", labels=["reason"]
        )
        for reason, count in list(stats.drops.items()):
            drops.add_metric([reason], count)
        yield drops
        from rxyomo.observe.zipper import kind_of

        open_by_kind = Counter(kind_of(p) for p in list(zipper.peers.values()) if p.is_open)
        connections = core.GaugeMetricFamily(
            "rxyomo_zipper_connections", "Open connections, by kind", labels=["kind"]
        )
        for kind in ("source", "function", "zipper"):
            connections.add_metric([kind], open_by_kind.get(kind, 0))
        yield connections
        for name, value, what in (
            ("accepted", stats.accepted, "Handshakes accepted"),
            ("rejected", stats.rejected, "Handshakes rejected"),
            ("closed", stats.closed, "Accepted connections that closed"),
        ):
            yield core.CounterMetricFamily(f"rxyomo_zipper_connections_{name}", what, value=value)
        seconds = core.CounterMetricFamily(
            "rxyomo_zipper_backpressure_seconds",
            "Time senders were held paused for slow destinations",
            labels=["client"],
        )
        pauses = core.CounterMetricFamily(
            "rxyomo_zipper_backpressure_pauses",
            "Times senders were held paused for slow destinations",
            labels=["client"],
        )
        for client, (spent, times) in observer.backpressure_now().items():
            seconds.add_metric([client], spent)
            pauses.add_metric([client], int(times))
        yield seconds
        yield pauses
        round_trips = core.HistogramMetricFamily(
            "rxyomo_zipper_function_round_trip_seconds",
            "Sampled time from handing a frame to a function to receiving its answer",
            labels=["function", "tag"],
        )
        for (function, tag), histogram in list(observer.round_trips.seconds.items()):
            _histogram(round_trips, [function, tag], histogram)
        yield round_trips
        forwarded = core.CounterMetricFamily(
            "rxyomo_zipper_mesh_forwarded", "Frames forwarded to a mesh peer", labels=["peer"]
        )
        connected = core.GaugeMetricFamily(
            "rxyomo_zipper_mesh_connected", "1 while the link to a mesh peer is up", labels=["peer"]
        )
        for link in zipper.mesh:
            forwarded.add_metric([link.peer.name], link.forwarded)
            connected.add_metric([link.peer.name], 1 if link.is_connected else 0)
        yield forwarded
        yield connected

    def _functions(self, functions: FunctionMetrics) -> Iterator[Any]:
        core = self._core
        calls = core.HistogramMetricFamily(
            "rxyomo_function_calls_seconds",
            "Handler call time of the stream functions run in this process",
            labels=["function", "tag"],
        )
        errors = core.CounterMetricFamily(
            "rxyomo_function_errors",
            "Frames the handler of a function run in this process failed on",
            labels=["function", "tag"],
        )
        for (function, tag), record in functions.items():
            _histogram(calls, [function, tag], record.seconds)
            errors.add_metric([function, tag], record.errors)
        yield calls
        yield errors


def _traffic(core: Any, direction: str, traffic: Traffic, labels: list[str]) -> Iterator[Any]:
    frames = core.CounterMetricFamily(
        f"rxyomo_zipper_frames_{direction}", f"Data frames {direction}", labels=labels
    )
    size = core.CounterMetricFamily(
        f"rxyomo_zipper_bytes_{direction}", f"Payload bytes {direction}", labels=labels
    )
    for key, row in traffic.items():
        frames.add_metric(list(key), row.frames)
        size.add_metric(list(key), row.bytes)
    yield frames
    yield size


def _histogram(family: Any, labels: list[str], histogram: Histogram) -> None:
    family.add_metric(labels, histogram.cumulative(), histogram.sum)


class MetricsRegistry:
    """A Prometheus registry with rxyomo's metrics and the process's."""

    def __init__(self, observer: ZipperObserver | None = None) -> None:
        client = require("prometheus_client", feature="metrics", extra="metrics")
        core = require("prometheus_client.core", feature="metrics", extra="metrics")
        self._client = client
        self.registry = client.CollectorRegistry(auto_describe=False)
        client.ProcessCollector(registry=self.registry)
        client.PlatformCollector(registry=self.registry)
        self.registry.register(_Collector(core, observer))
        enable_function_metrics()

    def render(self) -> bytes:
        """The metrics in the text format."""
        text: bytes = self._client.generate_latest(self.registry)
        return text

"""Seeing rxyomo run: OpenTelemetry traces of each frame's way, Prometheus metrics, and a
live web view of a zipper.

- Traces (:mod:`~rxyomo.observe.tracing`, the ``otel`` extra) are on when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, as in YoMo, and propagate in the frames'
  metadata under YoMo's keys, so one trace crosses rxyomo and YoMo processes;
  :func:`enable_tracing` turns them on from code.
- Metrics (:mod:`~rxyomo.observe.metrics`, the ``metrics`` extra) and the live view
  (:mod:`~rxyomo.observe.dashboard`, the ``dashboard`` extra) are served by
  :func:`start_servers` (``rxyomo serve --metrics HOST:PORT --dashboard HOST:PORT``, or
  ``metrics:`` and ``dashboard:`` in the workflow); :class:`ObserveServer` serves the
  function metrics of a process without a zipper.

With the extras missing or nothing configured, the zipper and the clients pay one None
check a frame (:mod:`~rxyomo.observe.hooks`); asking for a feature whose extra is missing
raises :class:`MissingExtra`, whose message names the extra.
"""

from __future__ import annotations

from rxyomo.observe._extras import MissingExtra
from rxyomo.observe.hooks import HOOKS, read_environment, tracing_configured
from rxyomo.observe.metrics import enable_function_metrics
from rxyomo.observe.tracing import Tracing, disable_tracing, enable_tracing
from rxyomo.observe.web import ObserveServer, parse_address, start_servers
from rxyomo.observe.zipper import Preview, ZipperObserver, attach

__all__ = [
    "HOOKS",
    "MissingExtra",
    "ObserveServer",
    "Preview",
    "Tracing",
    "ZipperObserver",
    "attach",
    "disable_tracing",
    "enable_function_metrics",
    "enable_tracing",
    "parse_address",
    "read_environment",
    "start_servers",
    "tracing_configured",
]

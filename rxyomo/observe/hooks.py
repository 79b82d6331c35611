"""Where rxyomo's parts find what observes them.

The zipper's router, the clients and the stream functions ask :data:`HOOKS` (and the
router its own ``observer``) on each frame. Each field is None unless tracing or metrics
were turned on, so with the extras missing or unconfigured observing costs one None
check a frame. Nothing here imports an optional dependency.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rxyomo.observe.counters import FunctionMetrics
    from rxyomo.observe.tracing import Tracing
    from rxyomo.protocol.frames import DataFrame
    from rxyomo.zipper.peer import Peer
    from rxyomo.zipper.stats import ConnectionStats

__all__ = ["HOOKS", "Hooks", "Routed", "RouterObserver", "read_environment", "tracing_configured"]

log = logging.getLogger("rxyomo.observe")

#: The variables that turn tracing on, as in YoMo (``pkg/trace``) and the OTel SDKs.
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class Hooks:
    """The process-wide observers: ``tracing`` (spans of each frame's way) and
    ``functions`` (call times and errors of the stream functions run here)."""

    def __init__(self) -> None:
        self.tracing: Tracing | None = None
        self.functions: FunctionMetrics | None = None
        self.environment_read = False


#: The one instance every part asks.
HOOKS = Hooks()


class Routed(Protocol):
    """What frames come from and go to in the router: a connection, or a function the
    zipper serves itself."""

    @property
    def conn_id(self) -> int:
        """Its id among the zipper's connections."""

    @property
    def stats(self) -> ConnectionStats:
        """Its traffic, and its name."""

    @property
    def client_type(self) -> int | None:
        """What kind of client it is (a :class:`~rxyomo.protocol.frames.ClientType`),
        once its handshake came."""


class RouterObserver(Protocol):
    """What the zipper's router tells an observer (:mod:`rxyomo.observe.zipper`)."""

    def arrived(self, peer: Routed, frame: DataFrame, size: int) -> DataFrame:
        """A data frame arrived from ``peer``; returns the frame to route (another one
        with new trace ids in its metadata when it is traced)."""

    def sent(self, dest: Routed, tag: int, size: int) -> None:
        """The frame being routed was queued for ``dest``."""

    def forwarded(self, tag: int, size: int, links: int) -> None:
        """The frame being routed went to ``links`` mesh links."""

    def finished(self) -> None:
        """The frame being routed is done with (routed or dropped)."""

    def paused(self, peer: Routed) -> None:
        """Reading from ``peer`` stopped: a destination it feeds is slow."""

    def resumed(self, peer: Routed) -> None:
        """Reading from ``peer`` resumed."""

    def gone(self, peer: Peer) -> None:
        """``peer`` is closed or lost."""


def tracing_configured() -> bool:
    """Whether the environment asks for traces, as YoMo reads it: an OTLP endpoint is
    set and ``OTEL_SDK_DISABLED`` is not true."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def read_environment() -> None:
    """Turn tracing on once per process when the environment asks for it.

    Called by every client and zipper as it is made. Without the ``otel`` extra it logs
    a one-line error naming the extra and goes on without traces.
    """
    if HOOKS.environment_read:
        return
    HOOKS.environment_read = True
    if HOOKS.tracing is not None or not tracing_configured():
        return
    from rxyomo.observe._extras import MissingExtra
    from rxyomo.observe.tracing import enable_tracing

    try:
        enable_tracing()
    except MissingExtra as exc:
        log.error("not tracing: an OTLP endpoint is set, but %s", exc)

"""What a zipper's router tells observability: traffic by tag and kind, the spans of
traced frames, sampled round trips through functions, back-pressure time, previews.

:func:`attach` gives a zipper its :class:`ZipperObserver`; the router then calls it on
each data frame (see :class:`~rxyomo.observe.hooks.RouterObserver`). The metrics and the
live view read it; nothing here needs an optional dependency.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from rxyomo.observe.counters import Histogram, Recent, Row, Traffic, tag_label
from rxyomo.observe.hooks import HOOKS, Routed
from rxyomo.observe.tracing import TRACE_KEY
from rxyomo.protocol.frames import ClientType, DataFrame
from rxyomo.protocol.metadata import TID, MetadataError, decode_metadata

if TYPE_CHECKING:
    from rxyomo.zipper.peer import Peer
    from rxyomo.zipper.server import Zipper

__all__ = ["KINDS", "Preview", "RoundTrips", "ZipperObserver", "attach", "kind_of"]

log = logging.getLogger("rxyomo.observe")

#: Connection kinds as the metrics name them.
KINDS = {
    ClientType.SOURCE: "source",
    ClientType.STREAM_FUNCTION: "function",
    ClientType.UPSTREAM_ZIPPER: "zipper",
}
#: One frame in this many routed to a function is timed until the function answers it.
PROBE_EVERY = 16
#: Probes a destination may leave unanswered before it is taken for a sink.
SILENT_PROBES = 8
#: Probes awaiting an answer per destination, and how long one waits.
PENDING_PROBES = 8
PROBE_TIMEOUT = 30.0


class Preview(Protocol):
    """Shows some frames on the live view (the image-recognition demo's thumbnails).

    ``frame`` is called on the zipper's loop for every frame of one of ``tags``: keep a
    reference and return, and do the work when ``items`` is asked for (twice a second).
    """

    tags: Collection[int]

    def frame(self, tag: int, payload: bytes, metadata: bytes, now: float) -> None:
        """A frame of one of ``tags`` arrived at ``now`` (``time.time()``)."""

    def items(self) -> list[dict[str, Any]]:
        """The latest items, newest first, each ``{"key": str, "label": str, "detail": str,
        "latency_ms": float | None, "image": bool}`` (``image``: :meth:`image` has one)."""

    def image(self, key: str) -> bytes | None:
        """The JPEG thumbnail of item ``key``, if it has one."""


def kind_of(peer: Routed) -> str:
    """``source``, ``function`` or ``zipper`` (a mesh peer), once its handshake came."""
    client_type = peer.client_type
    if client_type is None:
        return "unknown"
    kind: str = KINDS.get(client_type, "unknown")  # type: ignore[call-overload]
    return kind


class RoundTrips:
    """How long functions take to answer, as the zipper sees it: from handing a frame to
    the function to receiving the first frame it writes with the same transaction id."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], Histogram] = {}
        self.recent: dict[tuple[str, str], Recent] = {}

    def add(self, function: str, tag: str, seconds: float) -> None:
        key = (function, tag)
        if key not in self.seconds:
            self.seconds[key] = Histogram()
            self.recent[key] = Recent()
        self.seconds[key].observe(seconds)
        self.recent[key].add(seconds)


class ZipperObserver:
    """Counts and traces what one zipper routes; see the module's docstring."""

    def __init__(self, zipper: Zipper) -> None:
        self.zipper = zipper
        self.name = zipper.workflow.name
        self.started = time.time()
        #: Frames and bytes received, by (sender kind, sender name, tag).
        self.received = Traffic()
        #: Frames and bytes sent, by (destination kind, destination name, tag); frames
        #: forwarded to the mesh under kind ``mesh``, once per link.
        self.sent_traffic = Traffic()
        self.round_trips = RoundTrips()
        #: Seconds senders spent paused for slow destinations, and how often, by name.
        self.backpressure: dict[str, list[float]] = {}
        self.preview: Preview | None = None
        self._preview_tags: frozenset[int] = frozenset()
        # Per connection and tag, the row to count into: one dict look-up a frame.
        self._in: dict[int, dict[int, Row]] = {}
        self._out: dict[int, dict[int, Row]] = {}
        self._mesh: dict[int, Row] = {}
        # The frame being routed, and its span when traced.
        self._frame: DataFrame | None = None
        self._span: Any = None
        self._span_destinations = 0
        self._tick = 0
        self._pending: dict[int, collections.deque[tuple[bytes, float, str, str]]] = {}
        self._silent: dict[int, int] = {}
        self._answered: set[int] = set()
        self._paused_at: dict[int, float] = {}

    def set_preview(self, preview: Preview | None) -> None:
        """Show ``preview``'s items on the live view (None: none)."""
        self.preview = preview
        self._preview_tags = frozenset(preview.tags) if preview is not None else frozenset()

    # what the router reports (RouterObserver)

    def arrived(self, peer: Routed, frame: DataFrame, size: int) -> DataFrame:
        conn = peer.conn_id
        rows = self._in.get(conn)
        if rows is None:
            rows = self._in[conn] = {}
        row = rows.get(frame.tag)
        if row is None:
            row = rows[frame.tag] = self.received.row(kind_of(peer), peer.stats.name, frame.tag)
        row.frames += 1
        row.bytes += size
        if conn in self._pending:
            self._answer(conn, frame)
        tracing = HOOKS.tracing
        if tracing is not None and frame.metadata and TRACE_KEY in frame.metadata:
            traced = tracing.zipper(self.name, peer.stats.name, frame.tag, size, frame.metadata)
            if traced is not None:
                self.finished()  # never left open, but never leaked either
                self._span, metadata = traced
                self._span_destinations = 0
                frame = DataFrame(tag=frame.tag, payload=frame.payload, metadata=metadata)
        if frame.tag in self._preview_tags:
            self._show(frame)
        self._frame = frame
        return frame

    def sent(self, dest: Routed, tag: int, size: int) -> None:
        conn = dest.conn_id
        rows = self._out.get(conn)
        if rows is None:
            rows = self._out[conn] = {}
        row = rows.get(tag)
        if row is None:
            row = rows[tag] = self.sent_traffic.row(kind_of(dest), dest.stats.name, tag)
        row.frames += 1
        row.bytes += size
        if self._span is not None:
            self._span_destinations += 1
        self._tick += 1
        if self._tick % PROBE_EVERY == 0:
            self._probe(dest, tag)

    def forwarded(self, tag: int, size: int, links: int) -> None:
        row = self._mesh.get(tag)
        if row is None:
            row = self._mesh[tag] = self.sent_traffic.row("mesh", "mesh", tag)
        row.frames += links
        row.bytes += size * links
        if self._span is not None:
            self._span_destinations += links

    def finished(self) -> None:
        span = self._span
        if span is not None:
            self._span = None
            span.set_attribute("rxyomo.destinations", self._span_destinations)
            span.end()
        self._frame = None

    def paused(self, peer: Routed) -> None:
        self._paused_at.setdefault(peer.conn_id, time.monotonic())

    def resumed(self, peer: Routed) -> None:
        since = self._paused_at.pop(peer.conn_id, None)
        if since is not None:
            entry = self.backpressure.setdefault(peer.stats.name, [0.0, 0])
            entry[0] += time.monotonic() - since
            entry[1] += 1

    def gone(self, peer: Peer) -> None:
        self.resumed(peer)
        conn = peer.conn_id
        for table in (self._in, self._out, self._pending, self._silent):
            table.pop(conn, None)
        self._answered.discard(conn)

    def backpressure_now(self) -> dict[str, list[float]]:
        """:attr:`backpressure` with the pauses still going on counted up to now."""
        now = time.monotonic()
        totals = {name: list(entry) for name, entry in self.backpressure.items()}
        for conn, since in self._paused_at.items():
            peer = self.zipper.peers.get(conn)
            name = peer.stats.name if peer is not None else "?"
            entry = totals.setdefault(name, [0.0, 0])
            entry[0] += now - since
            entry[1] += 1
        return totals

    def _show(self, frame: DataFrame) -> None:
        preview = self.preview
        assert preview is not None
        try:
            preview.frame(frame.tag, frame.payload, frame.metadata, time.time())
        except Exception:
            # An application's preview must never stop the routing: it is switched off.
            log.exception("the live view's preview failed: no more previews")
            self.set_preview(None)

    def preview_items(self) -> list[dict[str, Any]]:
        """The preview's items, or none (and no more previews) when it fails."""
        preview = self.preview
        if preview is None:
            return []
        try:
            return preview.items()
        except Exception:
            log.exception("the live view's preview failed: no more previews")
            self.set_preview(None)
            return []

    # round trips through functions

    def _probe(self, dest: Routed, tag: int) -> None:
        conn = dest.conn_id
        frame = self._frame
        if (
            frame is None
            or not frame.metadata
            or kind_of(dest) != "function"
            or (conn not in self._answered and self._silent.get(conn, 0) >= SILENT_PROBES)
        ):
            return
        try:
            tid = decode_metadata(frame.metadata).get(TID)
        except MetadataError:
            return
        if not tid:
            return
        pending = self._pending.get(conn)
        if pending is None:
            pending = self._pending[conn] = collections.deque()
        now = time.monotonic()
        while pending and (len(pending) >= PENDING_PROBES or now - pending[0][1] > PROBE_TIMEOUT):
            pending.popleft()
            self._silent[conn] = self._silent.get(conn, 0) + 1
        pending.append((tid.encode(), now, dest.stats.name, tag_label(tag)))

    def _answer(self, conn: int, frame: DataFrame) -> None:
        pending = self._pending[conn]
        metadata = frame.metadata
        for index, (tid, since, function, tag) in enumerate(pending):
            if tid in metadata:
                del pending[index]
                self._answered.add(conn)
                self.round_trips.add(function, tag, time.monotonic() - since)
                break
        if not pending:
            del self._pending[conn]


def attach(zipper: Zipper) -> ZipperObserver:
    """The zipper's observer, made and handed to its router on first use."""
    observer = zipper.router.observer
    if isinstance(observer, ZipperObserver):
        return observer
    observer = ZipperObserver(zipper)
    zipper.router.observer = observer
    return observer

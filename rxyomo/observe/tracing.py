"""OpenTelemetry spans along a frame's way, propagated the way YoMo v1.22.3 does it.

YoMo carries a trace in two metadata keys of each data frame, ``yomo-trace-id`` (32 hex
digits) and ``yomo-span-id`` (16), and nothing else (no trace flags, no W3C header). Each
part that traces a frame starts a span whose parent is the span those keys name, then
writes its own span's ids into the keys, so the next part's span is its child: one trace
per frame, one span per hop. YoMo's stream functions do so (``pkg/trace``); its zipper
and sources do not trace.

rxyomo traces the source's write (``PRODUCER``), the zipper's routing of the frame
(``INTERNAL``) and the handler call of each stream function and sink (``CONSUMER``).
A frame carries trace ids only when its trace was sampled where it started, so every
later hop records it too (as YoMo's ``AlwaysSample`` does) and frames without them cost
a look-up. Configuration is the standard one: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``..._TRACES_ENDPOINT``) turns tracing on with the OTLP/HTTP exporter, and
``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``,
``OTEL_BSP_*`` and the other SDK variables apply. Needs the ``otel`` extra.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator, MutableMapping
from typing import Any

from rxyomo.observe._extras import require
from rxyomo.observe.hooks import HOOKS
from rxyomo.protocol.metadata import (
    SPAN_ID,
    TID,
    TRACE_ID,
    MetadataError,
    decode_metadata,
    encode_metadata,
)

__all__ = [
    "TRACE_KEY",
    "Tracing",
    "disable_tracing",
    "enable_tracing",
    "parent_ids",
    "tracer_provider_from_environment",
]

#: The trace id's key as it appears in msgpack metadata: frames without it skip decoding.
TRACE_KEY = TRACE_ID.encode()
#: The name rxyomo's spans are recorded under (YoMo's is "yomo").
DEFAULT_SERVICE_NAME = "rxyomo"
_INSTRUMENTATION = "rxyomo"


def parent_ids(meta: MutableMapping[str, str]) -> tuple[int, int] | None:
    """The (trace id, span id) the metadata carries, or None when it carries none or
    malformed ones (YoMo then starts no child either)."""
    trace_hex = meta.get(TRACE_ID)
    span_hex = meta.get(SPAN_ID)
    if not trace_hex or not span_hex or len(trace_hex) != 32 or len(span_hex) != 16:
        return None
    try:
        trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id


class _PresetIds:
    """The SDK's random ids, except for a trace id drawn ahead (see ``Tracing.source``)."""

    def __init__(self) -> None:
        self.preset = 0

    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        trace_id, self.preset = self.preset, 0
        return trace_id or random.getrandbits(128) or 1

    def is_trace_id_random(self) -> bool:
        return True  # drawn at random ahead or now, never derived


def _ratio_bound(provider: Any) -> int | None:
    """The bound under which a trace id's low 64 bits sample a new trace, when the
    provider's sampler is the SDK's trace-id ratio (alone or as a parent-based root) and
    its ids are :class:`_PresetIds`; None otherwise."""
    sampler = getattr(provider, "sampler", None)
    sampler = getattr(sampler, "_root", sampler)  # ParentBased keeps its root sampler there
    bound = getattr(sampler, "bound", None)
    if not isinstance(getattr(provider, "id_generator", None), _PresetIds):
        return None
    return bound if isinstance(bound, int) else None


class Tracing:
    """Starts rxyomo's spans on one OpenTelemetry tracer provider."""

    def __init__(self, provider: Any) -> None:
        self._api = require("opentelemetry.trace", feature="tracing", extra="otel")
        self.provider = provider
        self._tracer = provider.get_tracer(_INSTRUMENTATION)
        # Sampling 1 % of new traces would still start (and drop) a span for each write:
        # with the SDK's ratio sampler the decision is made here first, on the same id.
        self._root_bound = _ratio_bound(provider)
        kinds = self._api.SpanKind
        self._producer, self._internal, self._consumer = (
            kinds.PRODUCER,
            kinds.INTERNAL,
            kinds.CONSUMER,
        )

    # the three hops

    def source(self, name: str, tag: int, size: int, meta: MutableMapping[str, str]) -> Any:
        """The span of a source's write, or None when its trace is not sampled.

        Its parent is the trace the metadata already carries, else the caller's current
        span, else none (a new trace); ``meta`` gets the span's ids.
        """
        # No trace in the metadata: the current context (None) is the parent, if any.
        context = self._remote(meta)
        bound = self._root_bound
        if bound is not None and context is None and not self._current_is_valid():
            trace_id = random.getrandbits(128) or 1
            if trace_id & 0xFFFFFFFFFFFFFFFF >= bound:
                return None  # the sampler would say no to this new trace
            self.provider.id_generator.preset = trace_id  # and yes to this one
        attributes = _attributes(name, tag, size, meta)
        span = self._tracer.start_span(
            name, context=context, kind=self._producer, attributes=attributes
        )
        if not span.is_recording():
            return None
        _propagate(meta, span)
        return span

    def zipper(self, name: str, sender: str, tag: int, size: int, metadata: bytes) -> Any:
        """The span of a zipper routing a traced frame and the frame's new metadata, as
        ``(span, metadata)``; None when ``metadata`` carries no (valid) trace."""
        try:
            meta = decode_metadata(metadata)
        except MetadataError:
            return None  # the router drops it, and says why
        context = self._remote(meta)
        if context is None:
            return None
        attributes = _attributes(name, tag, size, meta)
        attributes["rxyomo.sender"] = sender
        span = self._tracer.start_span(
            name, context=context, kind=self._internal, attributes=attributes
        )
        if not span.is_recording():
            return None
        _propagate(meta, span)
        return span, encode_metadata(meta)

    def function(
        self, name: str, tag: int, size: int, meta: MutableMapping[str, str], handler_type: str
    ) -> Any:
        """The span of a stream function's (or sink's) handler call on a traced frame, or
        None; ``meta`` (which the answers carry) gets the span's ids."""
        context = self._remote(meta)
        if context is None:
            return None
        attributes = _attributes(name, tag, size, meta)
        # YoMo's own attributes on its stream functions' spans.
        attributes.update(
            {"sfn_handler_type": handler_type, "recv_data_tag": tag, "recv_data_len": size}
        )
        span = self._tracer.start_span(
            name, context=context, kind=self._consumer, attributes=attributes
        )
        if not span.is_recording():
            return None
        _propagate(meta, span)
        return span

    # around a span

    @contextlib.contextmanager
    def current(self, span: Any) -> Iterator[None]:
        """Make ``span`` the current span (spans the handler starts become its children)."""
        with self._api.use_span(span, end_on_exit=False, record_exception=False):
            yield

    def failed(self, span: Any, exc: BaseException) -> None:
        """Mark ``span`` failed with ``exc``."""
        span.record_exception(exc)
        span.set_status(self._api.Status(self._api.StatusCode.ERROR, str(exc)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Export the spans ended so far; whether it finished within ``timeout``."""
        force_flush = getattr(self.provider, "force_flush", None)
        return bool(force_flush(int(timeout * 1000))) if force_flush is not None else True

    def _current_is_valid(self) -> bool:
        return bool(self._api.get_current_span().get_span_context().is_valid)

    def _remote(self, meta: MutableMapping[str, str]) -> Any:
        """A context whose span is the one the metadata names, or None."""
        ids = parent_ids(meta)
        if ids is None:
            return None
        api = self._api
        parent = api.SpanContext(
            trace_id=ids[0],
            span_id=ids[1],
            is_remote=True,
            # YoMo carries no flags: a trace that reached here was sampled where it began.
            trace_flags=api.TraceFlags(api.TraceFlags.SAMPLED),
        )
        return api.set_span_in_context(api.NonRecordingSpan(parent))


def _attributes(name: str, tag: int, size: int, meta: MutableMapping[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"rxyomo.name": name, "rxyomo.tag": tag, "rxyomo.size": size}
    tid = meta.get(TID)
    if tid:
        attributes["rxyomo.tid"] = tid
    return attributes


def _propagate(meta: MutableMapping[str, str], span: Any) -> None:
    context = span.get_span_context()
    meta[TRACE_ID] = f"{context.trace_id:032x}"
    meta[SPAN_ID] = f"{context.span_id:016x}"


def tracer_provider_from_environment() -> Any:
    """An SDK tracer provider exporting over OTLP/HTTP as the ``OTEL_*`` variables say."""
    sdk = require("opentelemetry.sdk.trace", feature="tracing", extra="otel")
    export = require("opentelemetry.sdk.trace.export", feature="tracing", extra="otel")
    resources = require("opentelemetry.sdk.resources", feature="tracing", extra="otel")
    otlp = require(
        "opentelemetry.exporter.otlp.proto.http.trace_exporter", feature="tracing", extra="otel"
    )
    attributes = {}
    # The variables name the service when they do; rxyomo otherwise.
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        attributes["service.name"] = DEFAULT_SERVICE_NAME
    provider = sdk.TracerProvider(
        resource=resources.Resource.create(attributes), id_generator=_PresetIds()
    )
    provider.add_span_processor(export.BatchSpanProcessor(otlp.OTLPSpanExporter()))
    return provider


def enable_tracing(provider: Any = None) -> Tracing:
    """Trace every frame's way in this process from now on, and return the tracing.

    ``provider`` is an OpenTelemetry tracer provider; by default one exporting over
    OTLP/HTTP as configured by the ``OTEL_*`` variables, which also becomes the global
    provider unless the application set one. Raises
    :class:`~rxyomo.observe.MissingExtra` without the ``otel`` extra.
    """
    api = require("opentelemetry.trace", feature="tracing", extra="otel")
    if provider is None:
        provider = tracer_provider_from_environment()
        if isinstance(api.get_tracer_provider(), api.ProxyTracerProvider):
            api.set_tracer_provider(provider)  # the application's own spans go there too
    HOOKS.tracing = Tracing(provider)
    return HOOKS.tracing


def disable_tracing() -> Tracing | None:
    """Stop tracing in this process; returns the tracing that was on (to flush it)."""
    tracing, HOOKS.tracing = HOOKS.tracing, None
    return tracing

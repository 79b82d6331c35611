"""Traces of a frame's way through rxyomo, exported over OTLP/HTTP to a real receiver:
source write, zipper route, function handle, zipper route, sink handle, one trace, each
span the child of the one before, as YoMo links its spans."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devtools.otlp import OtlpReceiver, spans_by_name
from rxyomo import Context, Sink, Source, StreamFunction, Zipper, parse_workflow
from rxyomo.observe import HOOKS, MissingExtra, Tracing, read_environment
from rxyomo.observe._extras import require
from rxyomo.protocol.metadata import SPAN_ID, TRACE_ID
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from tests.extras import needs
from tests.waiting import eventually

pytestmark = needs("opentelemetry.sdk", "opentelemetry.proto")

WORKFLOW = "name: europe\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: upper\n  - name: log\n"


async def _zipper(transport: Any, started: list[Any]) -> str:
    """A started zipper of WORKFLOW; its address."""
    zipper = Zipper(parse_workflow(WORKFLOW), transport)
    await zipper.start()
    started.append(zipper)
    return f"127.0.0.1:{zipper.address[1]}"


async def _chain(transport: Any, started: list[Any]) -> tuple[Source, list[dict[str, str]]]:
    """A zipper, a function answering 0x10 with 0x11, and a sink of 0x11 keeping the
    metadata it saw; returns the connected source and the sink's metadata."""
    address = await _zipper(transport, started)
    seen: list[dict[str, str]] = []

    def upper(ctx: Context) -> None:
        ctx.write(0x11, ctx.data.upper())

    def log(ctx: Context) -> None:
        seen.append(dict(ctx.metadata))

    for client in (
        StreamFunction("upper", observe=[0x10], handler=upper, zipper=address, transport=transport),
        Sink("log", observe=[0x11], handler=log, zipper=address, transport=transport),
    ):
        await client.connect()
        started.append(client)
    source = Source("camera", zipper=address, transport=transport)
    await source.connect()
    started.append(source)
    return source, seen


async def test_one_trace_follows_a_frame_from_the_source_to_the_sink(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any]
) -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    source, seen = await _chain(transport, started)
    await source.write(0x10, b"hello")
    await eventually(lambda: seen, "the answer at the sink")
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: sum(s.name == "europe" for s in got) >= 2
    )
    trace_id = seen[0][TRACE_ID]
    named = spans_by_name(spans, trace_id)
    (write,) = named["camera"]
    first_route, second_route = sorted(named["europe"], key=lambda s: s.attributes["rxyomo.tag"])
    (handle,) = named["upper"]
    (consume,) = named["log"]
    # Each hop is the child of the hop before; the sink saw the last hop's span id.
    assert write.parent_span_id == ""
    assert first_route.parent_span_id == write.span_id
    assert handle.parent_span_id == first_route.span_id
    assert second_route.parent_span_id == handle.span_id
    assert consume.parent_span_id == second_route.span_id
    assert seen[0][SPAN_ID] == consume.span_id
    assert [write.kind, first_route.kind, handle.kind, consume.kind] == [
        "PRODUCER",
        "INTERNAL",
        "CONSUMER",
        "CONSUMER",
    ]
    assert {s.service for s in spans} == {"rxyomo-test"}
    assert write.attributes["rxyomo.tag"] == 0x10
    assert write.attributes["rxyomo.size"] == 5
    assert write.attributes["rxyomo.tid"] == source.last_tid
    assert first_route.attributes["rxyomo.sender"] == "camera"
    assert first_route.attributes["rxyomo.destinations"] == 1
    # YoMo's own attributes on a function's span.
    assert handle.attributes["sfn_handler_type"] == "async_handler"
    assert handle.attributes["recv_data_tag"] == 0x10
    assert handle.attributes["recv_data_len"] == 5
    assert consume.attributes["recv_data_tag"] == 0x11
    assert all(span.path == "/v1/traces" for span in spans)


async def test_an_unsampled_frame_carries_no_trace_and_makes_no_span(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    from rxyomo.observe import disable_tracing, enable_tracing
    from rxyomo.observe.tracing import tracer_provider_from_environment

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    provider = tracer_provider_from_environment()
    enable_tracing(provider)
    try:
        source, seen = await _chain(MemoryTransport(registry=MemoryRegistry()), started)
        await source.write(0x10, b"quiet")
        await eventually(lambda: seen, "the answer at the sink")
        provider.force_flush()
    finally:
        disable_tracing()
        provider.shutdown()
    assert TRACE_ID not in seen[0]
    assert SPAN_ID not in seen[0]
    assert receiver.span_count == 0


async def test_a_handler_that_fails_marks_its_span_failed(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any]
) -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    address = await _zipper(transport, started)

    def upper(data: bytes) -> None:
        raise ValueError("no")

    function = StreamFunction(
        "upper", observe=[0x10], handler=upper, zipper=address, transport=transport
    )
    await function.connect()
    started.append(function)
    source = Source("camera", zipper=address, transport=transport)
    await source.connect()
    started.append(source)
    await source.write(0x10, b"x")
    await eventually(lambda: function.errors == 1, "the failed call")
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: any(s.name == "upper" for s in got)
    )
    (handle,) = [s for s in spans if s.name == "upper"]
    assert handle.status_code == 2  # STATUS_CODE_ERROR


async def test_the_user_s_current_span_is_the_parent_of_a_write(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any]
) -> None:
    source, seen = await _chain(MemoryTransport(registry=MemoryRegistry()), started)
    tracer = tracing.provider.get_tracer("app")
    with tracer.start_as_current_span("request") as outer:
        await source.write(0x10, b"hi")
    await eventually(lambda: seen, "the answer at the sink")
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: any(s.name == "log" for s in got)
    )
    (write,) = [s for s in spans if s.name == "camera"]
    assert write.parent_span_id == f"{outer.get_span_context().span_id:016x}"
    assert write.trace_id == f"{outer.get_span_context().trace_id:032x}"


def test_without_an_endpoint_nothing_is_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(HOOKS, "environment_read", False)
    read_environment()
    assert HOOKS.tracing is None


def test_a_missing_extra_is_named_in_one_line() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("rxyomo_no_such_module", feature="tracing", extra="otel")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("tracing needs the 'otel' extra: pip install ")
    assert message.endswith("[otel]' (missing module: rxyomo_no_such_module)")


def test_a_source_samples_new_traces_at_the_configured_ratio(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rxyomo.observe import Tracing as TracingType
    from rxyomo.observe.tracing import tracer_provider_from_environment

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    provider = tracer_provider_from_environment()
    tracing = TracingType(provider)
    sampled = []
    for _ in range(2000):
        meta: dict[str, str] = {}
        span = tracing.source("camera", 0x10, 1, meta)
        if span is not None:
            span.end()
            sampled.append(meta)
        else:
            assert meta == {}  # an unsampled write carries no trace
    provider.force_flush()
    provider.shutdown()
    assert 400 <= len(sampled) <= 600
    # The SDK's own rule on each trace id: its low 64 bits under the ratio's bound.
    bound = round(0.25 * (1 << 64))
    assert all(int(m[TRACE_ID], 16) & ((1 << 64) - 1) < bound for m in sampled)
    assert receiver.span_count == len(sampled)


async def test_an_rx_pipeline_s_answers_carry_the_trace_on(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any]
) -> None:
    from rxyomo.protocol.metadata import TID
    from rxyomo.rx import Encoded, RxStream

    transport = MemoryTransport(registry=MemoryRegistry())
    address = await _zipper(transport, started)
    seen: list[dict[str, str]] = []

    def upper(stream: RxStream[bytes]) -> RxStream[Encoded]:
        return stream.raw_bytes().map(bytes.upper).encode(0x11)

    function = StreamFunction("upper", observe=[0x10], zipper=address, transport=transport)
    function.pipe(upper)

    def log(ctx: Context) -> None:
        seen.append(dict(ctx.metadata))

    sink = Sink("log", observe=[0x11], handler=log, zipper=address, transport=transport)
    source = Source("camera", zipper=address, transport=transport)
    for client in (function, sink, source):
        await client.connect()
        started.append(client)
    await source.write(0x10, b"hello", metadata={"user": "u1"})
    await eventually(lambda: seen, "the pipeline's answer at the sink")
    # The answer carries its frame's metadata on, as a handler's does.
    assert seen[0]["user"] == "u1"
    assert seen[0][TID] == source.last_tid
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: sum(s.name == "europe" for s in got) >= 2
    )
    named = spans_by_name(spans, seen[0][TRACE_ID])
    first_route, second_route = sorted(named["europe"], key=lambda s: s.attributes["rxyomo.tag"])
    (handle,) = named["upper"]
    assert handle.attributes["sfn_handler_type"] == "pipe_handler"
    assert handle.parent_span_id == first_route.span_id
    assert second_route.parent_span_id == handle.span_id

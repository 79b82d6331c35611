"""Functions the zipper serves itself are observed as connected ones are: a traced frame's
way goes through a span of the function's call (the child of the zipper's route, the parent
of the route of its answer), a failed call marks its span failed, and the calls' times and
errors are the zipper's function metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from devtools.otlp import OtlpReceiver, spans_by_name
from rxyomo import Context, Sink, Source, Zipper, load_workflow
from rxyomo.functions import VERSION_KEY
from rxyomo.observe import Tracing
from rxyomo.protocol.metadata import SPAN_ID, TRACE_ID
from rxyomo.transport import Transport, format_address
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.transport.quic import QuicTransport
from tests.extras import needs
from tests.functions.guests import write_guest
from tests.scraping import scrape, value
from tests.waiting import eventually

pytest.importorskip("wasmtime")

SERVED = """\
name: edge
host: 127.0.0.1
port: 0
{extra}functions:
  - name: echo
    wasm: guest.wat
    observe: [0x10]
    export: echo
    reply: 0x11
  - name: crash
    wasm: guest.wat
    observe: [0x12]
    export: crash
    reply: 0x13
  - name: log
"""


async def _edge(
    tmp_path: Path, transport: Transport, started: list[Any], extra: str = ""
) -> tuple[Zipper, Source, list[dict[str, str]]]:
    """A zipper serving ``echo`` (0x10 -> 0x11) and ``crash`` (traps on 0x12), a sink of
    0x11 keeping the metadata it saw, and a connected source."""
    write_guest(tmp_path / "guest.wat", "v1:")
    path = tmp_path / "workflow.yaml"
    path.write_text(SERVED.format(extra=extra))
    zipper = Zipper(load_workflow(path), transport)
    await zipper.start()
    started.append(zipper)
    address = format_address(zipper.address)
    seen: list[dict[str, str]] = []

    def log(ctx: Context) -> None:
        seen.append(dict(ctx.metadata))

    sink = Sink("log", observe=[0x11], handler=log, zipper=address, transport=transport)
    await sink.connect()
    started.append(sink)
    source = Source("camera", zipper=address, transport=transport)
    await source.connect()
    started.append(source)
    return zipper, source, seen


@needs("opentelemetry.sdk", "opentelemetry.proto")
async def test_a_served_function_s_call_is_a_span_of_the_frame_s_trace(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any], tmp_path: Path
) -> None:
    _, source, seen = await _edge(tmp_path, MemoryTransport(registry=MemoryRegistry()), started)
    await source.write(0x10, b"hello")
    await eventually(lambda: seen, "the answer at the sink")
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: sum(s.name == "edge" for s in got) >= 2
    )
    named = spans_by_name(spans, seen[0][TRACE_ID])
    (write,) = named["camera"]
    first_route, second_route = sorted(named["edge"], key=lambda s: s.attributes["rxyomo.tag"])
    (call,) = named["echo"]
    (consume,) = named["log"]
    assert first_route.parent_span_id == write.span_id
    assert call.parent_span_id == first_route.span_id
    assert second_route.parent_span_id == call.span_id
    assert consume.parent_span_id == second_route.span_id
    assert seen[0][SPAN_ID] == consume.span_id
    assert call.kind == "CONSUMER"
    assert call.attributes["recv_data_tag"] == 0x10
    assert call.attributes["recv_data_len"] == 5
    assert call.status_code == 0
    assert VERSION_KEY in seen[0]


@needs("opentelemetry.sdk", "opentelemetry.proto")
async def test_a_served_function_s_failed_call_marks_its_span_failed(
    tracing: Tracing, receiver: OtlpReceiver, started: list[Any], tmp_path: Path
) -> None:
    zipper, source, _ = await _edge(tmp_path, MemoryTransport(registry=MemoryRegistry()), started)
    await source.write(0x12, b"boom")
    await eventually(
        lambda: zipper.snapshot()["functions"]["crash"]["frames"] == 1, "the failed call"
    )
    tracing.flush()
    spans = await asyncio.to_thread(
        receiver.wait_for, lambda got: any(s.name == "crash" for s in got)
    )
    (call,) = [s for s in spans if s.name == "crash"]
    assert call.status_code == 2  # STATUS_CODE_ERROR


@needs("prometheus_client", "aiohttp")
@pytest.mark.network
async def test_served_functions_calls_and_errors_are_the_zipper_s_metrics(
    quic: QuicTransport, started: list[Any], tmp_path: Path
) -> None:
    zipper, source, seen = await _edge(tmp_path, quic, started, extra="metrics: 127.0.0.1:0\n")
    for index in range(20):
        await source.write(0x10, b"%d" % index)
    for _ in range(2):
        await source.write(0x12, b"boom")
    await eventually(lambda: len(seen) == 20, "every answer at the sink", timeout=20)
    await eventually(
        lambda: zipper.snapshot()["functions"]["crash"]["frames"] == 2, "the failed calls"
    )
    (server,) = zipper.observe_servers
    samples = await asyncio.to_thread(scrape, server.url + "metrics")
    calls = "rxyomo_function_calls_seconds_count"
    errors = "rxyomo_function_errors_total"
    assert value(samples, calls, function="echo", tag="0x10") == 20
    assert value(samples, errors, function="echo", tag="0x10") == 0
    assert value(samples, calls, function="crash", tag="0x12") == 2
    assert value(samples, errors, function="crash", tag="0x12") == 2
    # Routed to and answered like a connected stream function.
    sent = value(
        samples, "rxyomo_zipper_frames_sent_total", kind="function", client="echo", tag="0x10"
    )
    assert sent == 20

"""One OpenTelemetry trace across YoMo and rxyomo processes: it starts in a YoMo (Go)
source of the harness, which traces its writes with YoMo's pkg/trace and exports them
over OTLP/HTTP, crosses rxyomo's zipper, a YoMo stream function and the zipper again,
and ends in an rxyomo sink; every exporter sends to one real receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.harness import Event, HarnessGroup, HarnessProcess, event
from devtools.otlp import OtlpReceiver, ReceivedSpan
from devtools.processes import free_udp_port
from rxyomo.client import Context, Sink
from rxyomo.observe import Tracing, disable_tracing, enable_tracing
from rxyomo.observe.tracing import tracer_provider_from_environment
from rxyomo.protocol.metadata import SPAN_ID, TID, TRACE_ID
from rxyomo.transport.certs import dev_certificates, dev_client_tls
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper import Zipper, parse_workflow
from tests.extras import needs
from tests.waiting import eventually

pytestmark = [pytest.mark.network, needs("opentelemetry.sdk", "opentelemetry.proto")]

TIMEOUT = 30.0
FRAMES = 3


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def tracing(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Tracing]:
    # The Go processes inherit these too: YoMo reads the same variable.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "rxyomo-interop")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("RXYOMO_CONFIG_DIR", str(tmp_path / "config"))
    dev_certificates()
    provider = tracer_provider_from_environment()
    try:
        yield enable_tracing(provider)
    finally:
        disable_tracing()
        provider.shutdown()


async def until(proc: HarnessProcess, kind: str, **fields: object) -> Event:
    return await asyncio.to_thread(proc.wait_for, event(kind, **fields), TIMEOUT)


async def test_a_trace_from_a_yomo_source_ends_in_an_rxyomo_sink(
    tracing: Tracing, receiver: OtlpReceiver, yomo_processes: HarnessGroup
) -> None:
    port = free_udp_port()
    workflow = parse_workflow(
        f"name: rx-zipper\nhost: 127.0.0.1\nport: {port}\n"
        "functions:\n  - name: yomo-echo\n  - name: rx-sink\n"
    )
    zipper = Zipper(workflow, QuicTransport())
    await zipper.start()
    address = f"127.0.0.1:{port}"
    seen: dict[str, dict[str, str]] = {}

    def keep(ctx: Context) -> None:
        seen[ctx.tid] = dict(ctx.metadata)

    sink = Sink("rx-sink", observe=[0x11], handler=keep, zipper=address, tls=dev_client_tls())
    try:
        await sink.connect()
        echo = yomo_processes.start(
            [
                *("sfn", "--zipper", address, "--name", "yomo-echo", "--observe", "0x10"),
                *("--reply", "0x11", "--meta-keys", f"{TRACE_ID},{SPAN_ID}"),
            ],
            name="yomo echo",
        )
        await until(echo, "connected")
        source = yomo_processes.start(
            [
                *("traced-source", "--zipper", address, "--name", "yomo-camera"),
                *("--tag", "0x10", "--count", str(FRAMES)),
            ],
            name="yomo traced source",
        )
        await until(source, "done", written=FRAMES)
        await eventually(lambda: len(seen) == FRAMES, "every answer at the sink", TIMEOUT)
        tracing.flush()
        spans = await asyncio.to_thread(
            receiver.wait_for,
            lambda got: (
                sum(s.name == "rx-sink" for s in got) == FRAMES
                and sum(s.service == "yomo" for s in got) >= FRAMES
            ),
            TIMEOUT,
        )
    finally:
        await sink.close()
        await zipper.close()

    for written in source.events("traced"):
        trace_id = written["trace_id"]
        mine = [s for s in spans if s.trace_id == trace_id]
        by_id = {s.span_id: s for s in mine}
        # The root: YoMo's span of the write, exported by the Go source.
        (root,) = [s for s in mine if s.service == "yomo"]
        assert (root.name, root.span_id, root.parent_span_id) == (
            "yomo-camera",
            written["span_id"],
            "",
        )
        assert root.attributes["seq"] == written["seq"]
        # The end: the rxyomo sink's span, on the frame the YoMo function answered with.
        (end,) = [s for s in mine if s.name == "rx-sink"]
        assert seen[written["tid"]][TRACE_ID] == trace_id
        assert seen[written["tid"]][TID] == written["tid"]
        chain = _ancestry(end, by_id)
        names = [s.name for s in chain]
        # rxyomo's zipper routed the frame in and the answer back. YoMo v1.22.3's stream
        # function records no span of its handler even with the endpoint set (its
        # DisableOtelTrace option is inverted: a no-op tracer by default), but its answer
        # keeps the trace ids it got, so the trace goes on through it.
        assert names == ["rx-sink", "rx-zipper", "rx-zipper", "yomo-camera"]
        assert not [s for s in spans if s.name == "yomo-echo"]
        first_route = chain[-2]
        assert first_route.attributes["rxyomo.sender"] == "yomo-camera"
        at_echo = next(e for e in echo.events("frame") if e["tid"] == written["tid"])
        assert at_echo["meta"] == {TRACE_ID: trace_id, SPAN_ID: first_route.span_id}


def _ancestry(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    """``span`` and its parents up to the root of its trace."""
    chain = [span]
    while chain[-1].parent_span_id:
        chain.append(by_id[chain[-1].parent_span_id])
    return chain

"""The seed's two canonical pipelines (YoMo's noise example: its flow and its sink), fed as
the runtime feeds them: one payload per Data frame, timers on the stream's scheduler."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import y3
from reactivex.testing import TestScheduler

from rxyomo.rx import Encoded, ErrorReporter, ItemError, RxStream

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "noise" / "app.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("noise_example_app_rx", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


# The pipelines under test are the example's own, not copies of them.
app = _load_example()
NOISE_KEY = app.NOISE_KEY
NoiseData = app.NoiseData
Flow = app.Flow
Sink = app.MockDB


def run(handler, frames, scheduler, reporter):
    """Wire ``handler`` as the runtime does and feed ``frames`` ((time, payload) pairs)."""
    source, feeder = RxStream.from_source(scheduler=scheduler, reporter=reporter)
    out: list[tuple[float, object]] = []
    ended: list[str] = []
    handler(source).for_each(
        lambda item: out.append((scheduler.clock, item)),
        lambda error: ended.append(f"error {error}"),
        lambda: ended.append("completed"),
    )
    for at, payload in frames:
        scheduler.schedule_absolute(at, lambda *_, p=payload: feeder.feed(p))
    last = max(at for at, _ in frames) + 1.5
    scheduler.schedule_absolute(last, lambda *_: feeder.complete())
    scheduler.start()
    return out, ended


def noise_frame(noise: float, source: str = "sensor-1") -> bytes:
    reading = NoiseData(noise=noise, time=1_700_000_000_000, source=source)
    return y3.Codec(NOISE_KEY).marshal(reading)


@pytest.fixture
def item_errors():
    reporter = ErrorReporter("noise")
    seen: list[ItemError] = []
    reporter.add_handler(seen.append)
    return reporter, seen


def test_the_flow_debounces_decodes_alerts_averages_and_encodes(item_errors):
    reporter, seen = item_errors
    flow = Flow()
    frames = [
        (1.00, noise_frame(100)),  # superseded within 50 ms: debounced away
        (1.02, noise_frame(150)),
        (2.00, noise_frame(170)),  # 17.0 >= 16: an alert
        (2.50, b"\x81\x03\x10\x01"),  # a broken frame: reported, the flow goes on
        (3.50, noise_frame(120)),
    ]
    out, ended = run(flow.handler, frames, TestScheduler(), reporter)

    assert [pytest.approx(at) for at, _ in out] == [1.07, 2.05, 3.55]
    assert [item.tag for _, item in out] == [0x11, 0x11, 0x11]
    decoded = [y3.Codec(0x11).unmarshal(item.payload, y3.Kind.FLOAT32) for _, item in out]
    assert decoded == pytest.approx([15.0, 17.0, 12.0])
    assert flow.peeks == pytest.approx([15.0, 17.0, 12.0])
    assert flow.alerts == pytest.approx([17.0])
    # Checks every second from subscription (t=0; the first, at 1, finds nothing), and once
    # more at the end (t=5).
    assert flow.averages == pytest.approx([15.0, 16.0, 44 / 3, 44 / 3])
    assert ended == ["completed"]
    assert [e.operator for e in seen] == ["subscribe"]


def test_the_sink_keeps_the_latest_value_of_each_period(item_errors):
    reporter, seen = item_errors
    sink = Sink()
    flow_output = [
        (0.01, Encoded(0x11, y3.Codec(0x11).marshal(15.0, type_=y3.Kind.FLOAT32))),
        (0.05, Encoded(0x11, y3.Codec(0x11).marshal(17.0, type_=y3.Kind.FLOAT32))),
        (0.25, Encoded(0x11, y3.Codec(0x11).marshal(12.0, type_=y3.Kind.FLOAT32))),
    ]
    frames = [(at, item.payload) for at, item in flow_output]
    out, ended = run(sink.handler, frames, TestScheduler(), reporter)

    assert sink.stored == pytest.approx([17.0, 12.0])
    assert [pytest.approx(at) for at, _ in out] == [0.1, 0.3]
    assert [item for _, item in out] == pytest.approx([17.0, 12.0])  # the sink's end items
    assert ended == ["completed"]
    assert seen == []


def test_the_flow_feeds_the_sink(item_errors):
    reporter, _ = item_errors
    flow, sink = Flow(), Sink()
    frames = [(1.0 + i, noise_frame(100 + 10 * i)) for i in range(4)]
    flow_out, _ = run(flow.handler, frames, TestScheduler(), reporter)
    sink_out, ended = run(
        sink.handler, [(at, item.payload) for at, item in flow_out], TestScheduler(), reporter
    )
    assert sink.stored == pytest.approx([10.0, 11.0, 12.0, 13.0])
    assert len(sink_out) == 4
    assert ended == ["completed"]

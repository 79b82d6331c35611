"""YoMo's noise example end to end over the in-memory transport: the seed's two
canonical pipelines (the flow and the sink) running as real stream functions."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rxyomo import Sink, Source, StreamFunction, Zipper, load_workflow
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from tests.waiting import eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "noise"


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("noise_example_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


async def test_noise_flow_and_sink_over_the_runtime() -> None:
    app = load_app()
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(load_workflow(EXAMPLE / "workflow.yaml"), transport)
    await zipper.start()
    address = "{}:{}".format(*zipper.address)

    flow, db = app.Flow(), app.MockDB()
    function = StreamFunction("Noise", observe=[app.NOISE_KEY], zipper=address, transport=transport)
    function.pipe(flow.handler)
    sink = Sink("MockDB", observe=[app.PEEK_KEY], zipper=address, transport=transport)
    sink.pipe(db.handler)
    source = Source("noise-source", zipper=address, transport=transport)
    for client in (function, sink, source):
        await client.connect()

    readings = [120.0, 175.0, 90.0, 160.0, 30.0]
    for value in readings:
        await source.write(app.NOISE_KEY, app.encode_reading(app.NoiseData(value, 0, "s1")))
        await asyncio.sleep(0.12)  # scenario: readings further apart than the 50 ms debounce
    await function.close()  # handles what it received and flushes the window
    expected = [v / 10 for v in readings]
    # The sink stores the last value of each 100 ms audit period: the last reading's too.
    await eventually(
        lambda: bool(db.stored) and db.stored[-1] == pytest.approx(expected[-1]), "the last value"
    )
    await sink.close()
    await source.close()
    await zipper.close()

    assert flow.peeks == pytest.approx(expected)
    assert flow.alerts == pytest.approx([17.5, 16.0])
    assert flow.averages
    assert flow.averages[-1] == pytest.approx(sum(expected) / len(expected))
    # The sink keeps the latest value of each 100 ms, so it may skip some; order holds.
    assert db.stored
    assert db.stored[-1] == pytest.approx(expected[-1])
    positions = [
        next(i for i, e in enumerate(expected) if e == pytest.approx(v)) for v in db.stored
    ]
    assert positions == sorted(positions)

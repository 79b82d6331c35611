"""run_handler: a handler's pipeline wired as the runtime runs it."""

from __future__ import annotations

import pytest
import y3

from rxyomo.rx import Encoded, ErrorReporter, RxStream, run_handler

FRAME = y3.Codec(0x10).marshal(21, type_=y3.Kind.INT32)


def double(stream: RxStream[bytes]) -> RxStream[Encoded]:
    return (
        stream.subscribe(0x10)
        .on_observe(lambda p: y3.decode_primitive_packet(p)[0].to_int32())
        .map(lambda v: v * 2)
        .encode(0x11, type_=y3.Kind.INT32)
    )


def test_encoded_items_are_written_as_frames():
    frames: list[tuple[int, bytes]] = []
    ended: list[str] = []
    feeder, _ = run_handler(
        double,
        lambda tag, payload: frames.append((tag, payload)),
        on_completed=lambda: ended.append("done"),
    )
    feeder.feed(FRAME)
    feeder.complete()
    assert frames == [(0x11, y3.Codec(0x11).marshal(42, type_=y3.Kind.INT32))]
    assert ended == ["done"]


def test_a_sinks_values_go_to_consume():
    values: list[object] = []

    def as_int(packet: bytes) -> int:
        return y3.decode_primitive_packet(packet)[0].to_int32()

    feeder, _ = run_handler(
        lambda s: s.subscribe(0x10).on_observe(as_int),
        lambda tag, payload: pytest.fail("a sink writes nothing"),
        consume=values.append,
    )
    feeder.feed(FRAME)
    assert values == [21]


def test_values_that_are_not_encoded_without_a_consumer_are_reported():
    reporter = ErrorReporter()
    reports: list[object] = []
    reporter.add_handler(lambda r: reports.append(r.item))
    feeder, _ = run_handler(lambda s: s.map(len), lambda tag, payload: None, reporter=reporter)
    feeder.feed(b"abc")
    assert reports == [3]


def test_a_failure_reaches_on_error():
    failures: list[Exception] = []
    feeder, _ = run_handler(double, lambda tag, payload: None, on_error=failures.append)
    broken = ConnectionError("gone")
    feeder.error(broken)
    assert failures == [broken]


def test_dispose_stops_the_pipeline():
    frames: list[tuple[int, bytes]] = []
    feeder, subscription = run_handler(double, lambda tag, payload: frames.append((tag, payload)))
    subscription.dispose()
    feeder.feed(FRAME)
    assert frames == []


def test_a_handler_must_return_a_stream():
    with pytest.raises(TypeError):
        run_handler(lambda s: None, lambda tag, payload: None)  # type: ignore[arg-type,return-value]

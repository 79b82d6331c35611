"""How the runtime feeds a stream: from_source, the feeder, the scheduler it picks."""

from __future__ import annotations

import asyncio

import pytest
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from rxyomo.rx import ErrorReporter, RxStream, StreamClosedError


def collect(stream):
    seen: list[object] = []
    stream.for_each(seen.append, lambda e: seen.append(("error", e)), lambda: seen.append("end"))
    return seen


def test_the_feeder_pushes_payloads_and_ends_the_stream():
    stream, feeder = RxStream.from_source()
    seen = collect(stream)
    feeder.feed(b"\x81\x00")
    feeder.feed(bytearray(b"\x01"))
    feeder.feed(memoryview(b"\x02"))
    feeder.complete()
    assert seen == [b"\x81\x00", b"\x01", b"\x02", "end"]
    assert all(type(item) is bytes for item in seen[:3])
    assert feeder.closed


def test_the_feeder_ends_the_stream_with_an_error():
    stream, feeder = RxStream.from_source()
    seen = collect(stream)
    failure = ConnectionResetError("peer")
    feeder.error(failure)
    assert seen == [("error", failure)]


def test_the_feeder_refuses_what_is_not_bytes_and_anything_after_the_end():
    _, feeder = RxStream.from_source()
    with pytest.raises(TypeError):
        feeder.feed("text")  # type: ignore[arg-type]
    feeder.complete()
    with pytest.raises(StreamClosedError):
        feeder.feed(b"late")
    with pytest.raises(StreamClosedError):
        feeder.complete()
    with pytest.raises(StreamClosedError):
        feeder.error(OSError())


def test_feeder_error_needs_an_exception():
    _, feeder = RxStream.from_source()
    with pytest.raises(TypeError):
        feeder.error("bad")  # type: ignore[arg-type]


def test_a_source_is_hot_and_shared_by_its_subscribers():
    stream, feeder = RxStream.from_source()
    first = collect(stream)
    feeder.feed(b"1")
    second = collect(stream.map(bytes.decode))
    feeder.feed(b"2")
    assert first == [b"1", b"2"]
    assert second == ["2"]


async def test_a_stream_made_on_a_running_loop_sets_its_timers_there():
    stream, _ = RxStream.from_source()
    assert isinstance(stream.scheduler, AsyncIOScheduler)
    assert stream.loop is asyncio.get_running_loop()


def test_without_a_loop_there_is_no_default_scheduler():
    stream, _ = RxStream.from_source()
    assert stream.scheduler is None
    assert stream.loop is None


def test_a_given_loop_or_scheduler_is_kept_through_the_pipeline():
    loop = asyncio.new_event_loop()
    try:
        stream, _ = RxStream.from_source(loop=loop)
        derived = stream.map(bytes.upper).debounce(50)
        assert derived.loop is loop
        assert derived.scheduler is stream.scheduler
    finally:
        loop.close()
    scheduler = TestScheduler()
    reporter = ErrorReporter("f")
    stream, _ = RxStream.from_source(scheduler=scheduler, reporter=reporter)
    assert stream.filter(bool).scheduler is scheduler
    assert stream.filter(bool).reporter is reporter


async def test_time_operators_run_on_the_loop_without_hopping_items():
    stream, feeder = RxStream.from_source()
    loop = asyncio.get_running_loop()
    passed_inline: list[bool] = []
    feeding = False

    def mark(item: bytes) -> bytes:
        passed_inline.append(feeding)  # True: the item went through inside feed()
        return item

    done = asyncio.Event()
    seen: list[object] = []
    stream.map(mark).buffer_with_time(20).for_each(seen.append, on_completed=done.set)
    feeding = True
    feeder.feed(b"a")
    feeder.feed(b"b")
    feeding = False
    loop.call_later(0.05, feeder.complete)
    await asyncio.wait_for(done.wait(), 5.0)
    assert passed_inline == [True, True]
    assert seen == [[b"a", b"b"]]


async def test_the_timers_of_rxyomos_own_operators_run_on_the_loop():
    stream, feeder = RxStream.from_source()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    seen: list[object] = []
    windows: list[list[bytes]] = []
    (
        stream.sliding_window_with_time(1000, 10, windows.append)
        .audit_time(10)
        .for_each(seen.append, on_completed=done.set)
    )
    feeder.feed(b"a")
    feeder.feed(b"b")  # both inside one callback: always in the same period
    loop.call_later(0.05, feeder.complete)
    await asyncio.wait_for(done.wait(), 5.0)
    assert seen == [b"b"]
    assert windows
    assert all(window == [b"a", b"b"] for window in windows)


def test_rxstream_wraps_only_observables():
    with pytest.raises(TypeError):
        RxStream([1, 2])  # type: ignore[arg-type]

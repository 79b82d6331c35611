"""Running an RxStream: for_each, run, send, and the coroutine forms of Go's blocking calls."""

from __future__ import annotations

import asyncio

import pytest
from reactivex.notification import OnCompleted, OnError, OnNext

from rxyomo.rx import RxStream


def test_for_each_delivers_items_and_the_end():
    seen: list[object] = []
    RxStream.from_iterable([1, 2]).for_each(seen.append, seen.append, lambda: seen.append("end"))
    assert seen == [1, 2, "end"]


def test_run_without_an_error_handler_logs_the_failure(caplog):
    stream, feeder = RxStream.from_source()
    stream.run()
    feeder.error(ConnectionError("gone"))
    assert "the stream failed" in caplog.text


def test_connect_starts_the_pipeline_for_its_effects():
    seen: list[bytes] = []
    stream, feeder = RxStream.from_source()
    stream.do_on_next(seen.append).connect()
    feeder.feed(b"x")
    assert seen == [b"x"]


def test_dispose_stops_the_pipeline():
    seen: list[bytes] = []
    stream, feeder = RxStream.from_source()
    subscription = stream.for_each(seen.append)
    feeder.feed(b"1")
    subscription.dispose()
    feeder.feed(b"2")
    assert seen == [b"1"]


def test_send_puts_notifications_in_a_queue():
    queue: asyncio.Queue[object] = asyncio.Queue()
    RxStream.from_iterable(["a"]).send(queue)
    first, last = queue.get_nowait(), queue.get_nowait()
    assert isinstance(first, OnNext)
    assert first.value == "a"
    assert isinstance(last, OnCompleted)


def test_send_puts_the_failure_too():
    queue: asyncio.Queue[object] = asyncio.Queue()
    stream, feeder = RxStream.from_source()
    stream.send(queue)
    feeder.error(EOFError("eof"))
    note = queue.get_nowait()
    assert isinstance(note, OnError)
    assert isinstance(note.exception, EOFError)


async def test_to_slice_collects_what_the_loop_feeds():
    stream, feeder = RxStream.from_source()
    loop = asyncio.get_running_loop()
    for i, payload in enumerate([b"a", b"b"]):
        loop.call_later(0.001 * (i + 1), feeder.feed, payload)
    loop.call_later(0.005, feeder.complete)
    assert await stream.map(bytes.upper).to_slice() == [b"A", b"B"]


async def test_to_slice_raises_the_failure():
    stream, feeder = RxStream.from_source()
    asyncio.get_running_loop().call_soon(feeder.error, TimeoutError("late"))
    with pytest.raises(TimeoutError):
        await stream.to_slice()


async def test_errors_lists_item_errors_then_the_failure():
    stream, feeder = RxStream.from_source()
    loop = asyncio.get_running_loop()
    loop.call_soon(feeder.feed, b"")
    loop.call_soon(feeder.feed, b"\x01")
    loop.call_soon(feeder.error, EOFError("eof"))
    found = await stream.map(lambda b: b[0]).errors()
    assert [type(e) for e in found] == [IndexError, EOFError]


async def test_error_returns_the_first_error_or_none():
    assert await RxStream.from_iterable([1, 0, 2]).map(lambda x: 1 // x).error() is not None
    assert await RxStream.from_iterable([1, 2]).map(lambda x: 1 // x).error() is None


async def test_error_stops_at_the_first_item_error_of_an_endless_stream():
    stream, feeder = RxStream.from_source()
    # Later than the task below starts: the source is hot.
    asyncio.get_running_loop().call_later(0.01, feeder.feed, b"")
    found = await asyncio.wait_for(stream.map(lambda b: b[0]).error(), 5.0)
    assert isinstance(found, IndexError)

from __future__ import annotations

from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


def test_raw_bytes_passes_payloads_as_bytes(marbles):
    lookup = {"a": b"\x81\x00", "b": bytearray(b"\x01"), "c": memoryview(b"\x02"), "d": "text"}
    xs = marbles.hot("-a-b-c-d-|", lookup)
    results = marbles.start(lambda: xs.pipe(yops.raw_bytes(reporter=marbles.reporter)))
    assert results == [
        on_next(201, b"\x81\x00"),
        on_next(203, b"\x01"),
        on_next(205, b"\x02"),
        on_completed(209),
    ]
    assert all(type(r.value.value) is bytes for r in results[:3])
    reported = marbles.errors_of("raw_bytes")
    assert reported == [("text", "raw_bytes expects a bytes-like item, got str")]

from __future__ import annotations

import y3
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)

INT_456 = y3.Codec(0x10).marshal(456, type_=y3.Kind.INT32)  # 81 04 10 02 83 48
OTHER_KEY = y3.Codec(0x12).marshal("x")


def test_subscribe_emits_the_whole_child_packet_of_the_key(marbles):
    xs = marbles.hot("-a-b-|", {"a": INT_456, "b": OTHER_KEY})
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10)))
    assert results == [on_next(201, bytes.fromhex("10028348")), on_completed(205)]
    assert type(results[0].value.value) is bytes


def test_subscribe_takes_the_first_match_of_each_root_packet(marbles):
    first = y3.Codec(0x10).marshal(1, type_=y3.Kind.INT32, signals={0x02: "s"})
    both = first + y3.Codec(0x10).marshal(2, type_=y3.Kind.INT32)
    xs = marbles.hot("-a-|", {"a": both})
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10)))
    assert results == [
        on_next(201, bytes.fromhex("100101")),
        on_next(201, bytes.fromhex("100102")),
        on_completed(203),
    ]


def test_a_payload_ending_inside_a_packet_is_reported_and_does_not_swallow_the_next(marbles):
    xs = marbles.hot("-a-b-|", {"a": INT_456[:4], "b": INT_456})
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10, reporter=marbles.reporter)))
    assert results == [on_next(203, bytes.fromhex("10028348")), on_completed(205)]
    assert [item for item, _ in marbles.errors_of("subscribe")] == [INT_456[:4]]


def test_with_split_packets_a_packet_may_span_payloads(marbles):
    two_roots = INT_456 + y3.Codec(0x10).marshal(7, type_=y3.Kind.INT32)
    lookup = {"a": two_roots[:3], "b": two_roots[3:9], "c": two_roots[9:]}
    xs = marbles.hot("-a-b-c-|", lookup)
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10, split_packets=True)))
    assert results == [
        on_next(203, bytes.fromhex("10028348")),
        on_next(205, bytes.fromhex("100107")),
        on_completed(207),
    ]


def test_a_value_that_looks_like_the_key_is_not_matched(marbles):
    tricky = y3.Codec(0x11).marshal(bytes([0x10, 0x01, 0x05]))
    xs = marbles.hot("-a-|", {"a": tricky})
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10)))
    assert results == [on_completed(203)]


def test_a_bad_payload_is_reported_and_the_next_one_read_afresh(marbles):
    lookup = {"a": b"\x81\x7f\x10", "b": INT_456, "c": "not bytes"}
    xs = marbles.hot("-a-b-c-|", lookup)
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10, reporter=marbles.reporter)))
    assert results == [on_next(203, bytes.fromhex("10028348")), on_completed(207)]
    assert [item for item, _ in marbles.errors_of("subscribe")] == [b"\x81\x7f\x10", "not bytes"]


def test_a_stream_ending_inside_a_packet_is_reported_then_completes(marbles):
    xs = marbles.hot("-a-|", {"a": INT_456[:4]})
    results = marbles.start(
        lambda: xs.pipe(yops.subscribe(0x10, split_packets=True, reporter=marbles.reporter))
    )
    assert results == [on_completed(203)]
    assert len(marbles.errors_of("subscribe")) == 1


def test_a_failure_is_passed_on(marbles):
    xs = marbles.hot("-a-#", {"a": INT_456}, error=EOFError("closed"))
    results = marbles.start(lambda: xs.pipe(yops.subscribe(0x10)))
    assert results == [on_next(201, bytes.fromhex("10028348")), on_error(203, EOFError("closed"))]


def test_a_key_outside_the_y3_range_is_refused():
    import pytest

    with pytest.raises(y3.Y3Error):
        yops.subscribe(0x40)

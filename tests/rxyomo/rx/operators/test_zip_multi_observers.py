from __future__ import annotations

import pytest
import y3
from reactivex.testing import ReactiveTest

from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def as_int(packet: bytes) -> int:
    return y3.decode_primitive_packet(packet)[0].to_int32()


def as_str(packet: bytes) -> str:
    return y3.decode_primitive_packet(packet)[0].to_str()


def frames(**values):
    codecs = {"n": (0x10, y3.Kind.INT32), "s": (0x11, None)}
    out = {}
    for name, value in values.items():
        key, kind = codecs[name[0]]
        out[name] = y3.Codec(key).marshal(value, type_=kind)
    return out


def test_values_of_the_keys_are_zipped_in_the_order_of_the_observers(marbles):
    lookup = frames(n1=1, s1="one", s2="two", n2=2)
    xs = marbles.hot("-n1-s1-s2-n2-|", lookup)
    results = marbles.start(
        lambda: xs.pipe(yops.zip_multi_observers([(0x11, as_str), (0x10, as_int)], tuple))
    )
    assert results == [on_next(204, ("one", 1)), on_next(210, ("two", 2)), on_completed(213)]


def test_failing_decodes_and_zips_are_reported_and_skipped(marbles):
    def picky_zip(items):
        if items[0] == 2:
            raise ValueError("no twos")
        return items

    lookup = frames(n1=1, n2=2, n3=3, s1="a", s2="b")
    lookup["bad"] = y3.Codec(0x10).marshal(b"")  # no bytes: not an int32
    xs = marbles.hot("-n1-s1-n2-s2-bad-n3-|", lookup)
    results = marbles.start(
        lambda: xs.pipe(
            yops.zip_multi_observers(
                [(0x10, as_int), (0x11, as_str)], picky_zip, reporter=marbles.reporter
            )
        )
    )
    assert results == [on_next(204, [1, "a"]), on_completed(220)]
    reported = marbles.errors_of("zip_multi_observers")
    assert [item for item, _ in reported] == [[2, "b"], lookup["bad"][2:]]


def test_a_failure_is_passed_on(marbles):
    xs = marbles.hot("-#", error=OSError("o"))
    observers = [(0x10, as_int), (0x11, as_str)]
    results = marbles.start(lambda: xs.pipe(yops.zip_multi_observers(observers, list)))
    assert results == [on_error(201, OSError("o"))]


@pytest.mark.parametrize("observers", [[], [(0x10, as_int)], [(0x10, as_int), (0x10, as_str)]])
def test_at_least_two_distinct_keys_are_needed(observers):
    with pytest.raises(ValueError, match=r"needs at least two|got a key twice"):
        yops.zip_multi_observers(observers, list)

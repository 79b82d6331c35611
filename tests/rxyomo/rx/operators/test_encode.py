from __future__ import annotations

import dataclasses

import pytest
import y3
from reactivex.testing import ReactiveTest

from rxyomo.rx import Encoded
from rxyomo.rx import operators as yops

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_encode_marshals_each_item_under_the_key_as_go_did(marbles):
    xs = marbles.hot("-a-|", {"a": 456})
    results = marbles.start(lambda: xs.pipe(yops.encode(0x10, type_=y3.Kind.INT32)))
    # NewCodec(0x10).Marshal(int32(456)), without signals.
    assert results == [
        on_next(201, Encoded(0x10, bytes.fromhex("8104 10028348"))),
        on_completed(203),
    ]


def test_encoded_items_decode_back(marbles):
    @dataclasses.dataclass
    class Noise:
        noise: float = y3.y3_field(0x11)
        time: int = y3.y3_field(0x12)

    reading = Noise(noise=40.5, time=1700000000)
    xs = marbles.hot("-a-|", {"a": reading})
    results = marbles.start(lambda: xs.pipe(yops.encode(0x30)))
    encoded = results[0].value.value
    assert encoded.tag == 0x30
    assert y3.Codec(0x30).unmarshal(encoded.payload, Noise) == reading


def test_the_dialect_can_be_chosen(marbles):
    xs = marbles.hot("-a-|", {"a": 255})
    results = marbles.start(
        lambda: xs.pipe(yops.encode(0x10, dialect=y3.Dialect.V1, type_=y3.Kind.INT32))
    )
    assert results[0].value.value.payload == y3.Codec(0x10, y3.Dialect.V1).marshal(
        255, type_=y3.Kind.INT32
    )


def test_an_item_the_codec_cannot_write_is_reported_and_dropped(marbles):
    xs = marbles.hot("-a-b-|", {"a": object(), "b": "ok"})
    results = marbles.start(lambda: xs.pipe(yops.encode(0x11, reporter=marbles.reporter)))
    assert results == [on_next(203, Encoded(0x11, y3.Codec(0x11).marshal("ok"))), on_completed(205)]
    assert len(marbles.errors_of("encode")) == 1


def test_a_failure_is_passed_on(marbles):
    xs = marbles.hot("-#", error=OSError("o"))
    results = marbles.start(lambda: xs.pipe(yops.encode(0x11)))
    assert results == [on_error(201, OSError("o"))]


def test_encoded_is_a_frozen_value():
    item = Encoded(0x11, b"\x81\x00")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.tag = 0x12  # type: ignore[misc]
    assert item == Encoded(0x11, b"\x81\x00")


def test_a_key_outside_the_user_keys_is_refused():
    with pytest.raises(y3.Y3Error):
        yops.encode(0x05)

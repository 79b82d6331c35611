"""YoMo's noise example: the data, the flow's pipeline and the sink's pipeline.

The source emits noise readings under Y3 key 0x10; the flow debounces them,
decodes, prints peaks and alerts, averages a 10 s sliding window every second,
and encodes each value under 0x11; the sink keeps the latest value of every
100 ms and stores it.
"""

from __future__ import annotations

import dataclasses
import logging

import y3

from rxyomo.rx import Encoded, RxStream

NOISE_KEY = 0x10
PEEK_KEY = 0x11
THRESHOLD_SINGLE = 16.0
THRESHOLD_AVERAGE = 13.0

log = logging.getLogger("noise")


@dataclasses.dataclass
class NoiseData:
    """One reading, with Y3 keys as the Go example's struct tags."""

    noise: float = y3.y3_field(0x11, kind=y3.Kind.FLOAT32)
    time: int = y3.y3_field(0x12)
    source: str = y3.y3_field(0x13)


def encode_reading(reading: NoiseData) -> bytes:
    """The payload a source writes."""
    return y3.Codec(NOISE_KEY).marshal(reading)


class Flow:
    """The flow's state: what it saw, for printing and for tests."""

    def __init__(self) -> None:
        self.peeks: list[float] = []
        self.alerts: list[float] = []
        self.averages: list[float] = []

    @staticmethod
    def decode(packet: bytes) -> NoiseData:
        reading = y3.Codec(NOISE_KEY).unmarshal(packet, NoiseData)
        return dataclasses.replace(reading, noise=reading.noise / 10)

    def compute_peek(self, value: NoiseData) -> float:
        self.peeks.append(value.noise)
        if value.noise >= THRESHOLD_SINGLE:
            self.alerts.append(value.noise)
            log.warning(
                "❗ noise %.1f dB from %s passes %.0f", value.noise, value.source, THRESHOLD_SINGLE
            )
        return value.noise

    def sliding_avg(self, values: list[float]) -> None:
        average = sum(values) / len(values)
        self.averages.append(average)
        if average >= THRESHOLD_AVERAGE:
            log.warning(
                "❗❗ average noise %.1f dB over the last 10 s passes %.0f",
                average,
                THRESHOLD_AVERAGE,
            )

    def handler(self, stream: RxStream[bytes]) -> RxStream[Encoded]:
        return (
            stream.subscribe(NOISE_KEY)
            .debounce(50)
            .on_observe(self.decode)
            .map(self.compute_peek)
            .sliding_window_with_time(10_000, 1_000, self.sliding_avg)
            .encode(PEEK_KEY, type_=y3.Kind.FLOAT32)
        )


class MockDB:
    """The sink's state: the values it stored."""

    def __init__(self) -> None:
        self.stored: list[float] = []

    def store(self, value: float) -> float:
        self.stored.append(value)
        log.info("stored %.1f", value)
        return value

    def handler(self, stream: RxStream[bytes]) -> RxStream[float]:
        return (
            stream.subscribe(PEEK_KEY)
            .on_observe(lambda packet: y3.decode_primitive_packet(packet)[0].to_float32())
            .audit_time(100)
            .map(self.store)
        )

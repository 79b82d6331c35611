"""Items per second through ``subscribe -> on_observe -> map -> encode``.

Three ways to do the same work on the same payloads, measured in one run:

- ``rxstream``: ``RxStream.from_source()`` fed by its ``StreamFeeder``, as the runtime
  feeds a stream function, with YoMo's continue-on-error operators;
- ``reactivex``: the bare reactivex pipeline (a ``Subject``, the key observer in an
  ``ops.flat_map`` since a payload may hold any number of matches, then ``ops.map`` stages)
  calling the same Y3 functions;
- ``reactivex_map``: the same with the key observer in an ``ops.map`` instead, assuming
  one match per payload: the fastest bare pipeline, and the stricter baseline;
- ``loop``: a plain Python loop calling them.

Two workloads: ``float32`` (a noise value, the seed's flow; little work per item, so the
pipeline's own cost shows) and ``struct`` (the noise example's three-field record decoded
into a dataclass and re-encoded). The runs of the variants are interleaved and the median
of each is kept; ratios are taken between medians of this run only.

    .venv/bin/python -m benches.bench_rx [--quick]

Writes ``benches/results/rx.json`` (and ``rx.png`` when matplotlib is there) and prints a
table. Bounded: a fixed number of items and rounds, and a time budget per workload.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reactivex
import y3
from reactivex import operators as ops
from reactivex.subject import Subject

from benches._bench import RESULTS, interleaved_medians, pyplot, save_figure, write_report
from rxyomo.rx import Encoded, RxStream

IN_KEY, OUT_KEY = 0x10, 0x11
TARGET = 0.7  # RxStream's items/s over bare reactivex's, at least


@dataclasses.dataclass
class Noise:
    noise: float = y3.y3_field(0x11, kind=y3.Kind.FLOAT32)
    time: int = y3.y3_field(0x12)
    source: str = y3.y3_field(0x13)


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    payload: bytes
    decode: Callable[[bytes], Any]
    compute: Callable[[Any], Any]
    type_: object


def _float32_workload() -> Workload:
    def decode(packet: bytes) -> float:
        return y3.decode_primitive_packet(packet)[0].to_float32()

    return Workload(
        "float32",
        y3.Codec(IN_KEY).marshal(42.5, type_=y3.Kind.FLOAT32),
        decode,
        lambda value: value / 10,
        y3.Kind.FLOAT32,
    )


def _struct_workload() -> Workload:
    codec = y3.Codec(IN_KEY)

    def decode(packet: bytes) -> Noise:
        return codec.unmarshal(packet, Noise)

    def compute(value: Noise) -> Noise:
        return dataclasses.replace(value, noise=value.noise / 10)

    reading = Noise(noise=142.5, time=1_700_000_000_000, source="sensor-17")
    return Workload("struct", codec.marshal(reading), decode, compute, None)


def run_rxstream(work: Workload, payloads: list[bytes]) -> float:
    source, feeder = RxStream.from_source()
    out: list[Encoded] = []
    (
        source.subscribe(IN_KEY)
        .on_observe(work.decode)
        .map(work.compute)
        .encode(OUT_KEY, type_=work.type_)
        .for_each(out.append)
    )
    rate = _items_per_s(feeder.feed, feeder.complete, payloads)
    assert len(out) == len(payloads)
    assert isinstance(out[-1], Encoded)
    return rate


def _items_per_s(
    on_next: Callable[[bytes], object], on_completed: Callable[[], object], payloads: list[bytes]
) -> float:
    """Items per second through a pipeline fed by ``on_next``, completion included."""
    start = time.perf_counter()
    for payload in payloads:
        on_next(payload)
    on_completed()
    return len(payloads) / (time.perf_counter() - start)


def _run_bare(
    work: Workload,
    payloads: list[bytes],
    observe: Callable[[y3.KeyObserver], Callable[[Any], Any]],
) -> float:
    """Bare reactivex, the key observer's stage made by ``observe``, the rest as RxStream's."""
    subject: Subject[bytes] = Subject()
    codec = y3.Codec(OUT_KEY)
    out: list[Encoded] = []
    subject.pipe(
        observe(y3.KeyObserver(IN_KEY)),
        ops.map(work.decode),
        ops.map(work.compute),
        ops.map(lambda value: Encoded(OUT_KEY, codec.marshal(value, type_=work.type_))),
    ).subscribe(out.append)
    rate = _items_per_s(subject.on_next, subject.on_completed, payloads)
    assert len(out) == len(payloads)
    return rate


def _every_match(observer: y3.KeyObserver) -> Callable[[Any], Any]:
    return ops.flat_map(lambda payload: [bytes(found.packet) for found in observer.feed(payload)])


def _first_match(observer: y3.KeyObserver) -> Callable[[Any], Any]:
    return ops.map(lambda payload: bytes(observer.feed(payload)[0].packet))


def run_reactivex(work: Workload, payloads: list[bytes]) -> float:
    return _run_bare(work, payloads, _every_match)


def run_reactivex_map(work: Workload, payloads: list[bytes]) -> float:
    """The same, with the key observer in an ``ops.map`` (one match per payload assumed)."""
    return _run_bare(work, payloads, _first_match)


def run_loop(work: Workload, payloads: list[bytes]) -> float:
    observer = y3.KeyObserver(IN_KEY)
    codec = y3.Codec(OUT_KEY)
    out: list[Encoded] = []
    start = time.perf_counter()
    for payload in payloads:
        for found in observer.feed(payload):
            value = work.compute(work.decode(bytes(found.packet)))
            out.append(Encoded(OUT_KEY, codec.marshal(value, type_=work.type_)))
    elapsed = time.perf_counter() - start
    assert len(out) == len(payloads)
    return len(payloads) / elapsed


VARIANTS: dict[str, Callable[[Workload, list[bytes]], float]] = {
    "rxstream": run_rxstream,
    "reactivex": run_reactivex,
    "reactivex_map": run_reactivex_map,
    "loop": run_loop,
}


def measure(work: Workload, items: int, rounds: int, budget: float) -> dict[str, Any]:
    payloads = [work.payload] * items
    for run in VARIANTS.values():  # warm-up, and a check that all do the same work
        run(work, payloads[: max(1, items // 10)])
    medians, rates = interleaved_medians(
        {name: functools.partial(run, work, payloads) for name, run in VARIANTS.items()},
        rounds,
        budget=budget,
    )
    return {
        "workload": work.name,
        "payload_bytes": len(work.payload),
        "items": items,
        "rounds": len(rates["rxstream"]),
        "items_per_s": medians,
        "samples": rates,
        "rxstream_vs_reactivex": medians["rxstream"] / medians["reactivex"],
        "rxstream_vs_reactivex_map": medians["rxstream"] / medians["reactivex_map"],
        "rxstream_vs_loop": medians["rxstream"] / medians["loop"],
    }


def _plot(results: list[dict[str, Any]], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6))
    for ax, result in zip(axes if len(results) > 1 else [axes], results, strict=True):
        names = list(result["items_per_s"])
        values = [result["items_per_s"][n] / 1000 for n in names]
        ax.bar(names, values, color=["#c44e52", "#4c72b0", "#8172b2", "#55a868"])
        ax.set_title(f"{result['workload']} ({result['payload_bytes']} B payloads)")
        ax.set_ylabel("thousand items/s (median)")
        ax.tick_params(axis="x", labelrotation=15)
    fig.suptitle("subscribe -> on_observe -> map -> encode")
    save_figure(fig, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer items and rounds")
    parser.add_argument("--items", type=int, help="items per round")
    parser.add_argument("--rounds", type=int, help="rounds per variant")
    args = parser.parse_args(argv)
    items = args.items or (5_000 if args.quick else 20_000)
    rounds = args.rounds or (3 if args.quick else 7)
    budget = 10.0 if args.quick else 60.0

    results = [
        measure(work, items, rounds, budget) for work in (_float32_workload(), _struct_workload())
    ]
    worst = min(min(r["rxstream_vs_reactivex"], r["rxstream_vs_reactivex_map"]) for r in results)
    report = {
        "bench": "rx",
        "python": platform.python_version(),
        "reactivex": reactivex.__version__,
        "machine": platform.machine(),
        "target_rxstream_vs_reactivex": TARGET,
        "results": results,
        "worst_rxstream_vs_reactivex": worst,
    }
    write_report("rx.json", report)
    plotted = _plot(results, RESULTS / "rx.png")

    print(
        f"{'workload':<9} {'rxstream':>10} {'reactivex':>10} {'rx (map)':>10} {'loop':>10}"
        f"  {'rxs/rx':>7} {'rxs/rx(map)':>11} {'rxs/loop':>8}   (items/s, medians)"
    )
    for r in results:
        rate = r["items_per_s"]
        print(
            f"{r['workload']:<9} {rate['rxstream']:>10,.0f} {rate['reactivex']:>10,.0f}"
            f" {rate['reactivex_map']:>10,.0f} {rate['loop']:>10,.0f}"
            f"  {r['rxstream_vs_reactivex']:>7.2f} {r['rxstream_vs_reactivex_map']:>11.2f}"
            f" {r['rxstream_vs_loop']:>8.2f}"
        )
    print(
        f"\nRxStream vs bare reactivex, worst workload and baseline: {worst:.2f}"
        f" (target >= {TARGET})"
    )
    print(f"wrote {RESULTS / 'rx.json'}" + (f" and {RESULTS / 'rx.png'}" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

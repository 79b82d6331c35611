"""The Y3 codec in Python, against the baselines its claims are made against.

1. ``observe``: YoMo's own Y3 claim, re-measured. Extract one key's value from a root packet of
   63 keys (and 32, 16, 3) with the streaming ``KeyObserver`` (plus decoding the matched value)
   versus ``json.loads`` plus a lookup on the same data. The key is the first, the middle or
   the last one; the headline ratio is their mean. (The Go implementation claimed 11.5x on
   average; the target here is at least 2x for 63 keys.)
2. ``payload``: marshal and decode a 40 KB and a 2 MB bytes value, versus a plain ``bytes``
   copy of the same size. "decode" returns a zero-copy view of the value; "decode to bytes"
   hands out a copy (``Codec.unmarshal``); the frame rows do the same for a ``DataFrame``.
   Target: decoding at least half as fast as the copy (no per-byte Python work).
3. ``small``: an int32, a float32 and a short string, marshalled and decoded per second,
   versus msgpack (a C extension; the ratio shows what pure Python costs).

Each case is timed in rounds interleaved with its baseline; the median round is kept and every
ratio compares medians of this run only.

    .venv/bin/python -m benches.bench_y3 [--quick]

Writes ``benches/results/y3.json`` (and ``y3.png`` when matplotlib is there) and prints a
table. Bounded: about 30 s by default, a few seconds with ``--quick``.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import y3
from y3 import Codec, Kind

from benches._bench import RESULTS, interleaved_medians, pyplot, save_figure, write_report
from rxyomo.protocol.frames import DataFrame, decode_frame, encode_frame

KEY = 0x10
OBSERVE_TARGET = 2.0  # Y3 over json, 63 keys, mean over key positions
DECODE_TARGET = 0.5  # decode speed over a bytes copy


def per_call(fn: Callable[[], object], seconds: float) -> float:
    """Seconds per call of ``fn``, over a loop that runs for about ``seconds``."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4 or n >= 1 << 22:
            break
        n *= 2
    n = max(1, int(n * seconds / max(elapsed, 1e-9)))
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def compare(
    cases: dict[str, Callable[[], object]], rounds: int, seconds: float
) -> dict[str, float]:
    """Median seconds per call of each case, the cases' rounds interleaved."""
    timed = {name: functools.partial(per_call, fn, seconds) for name, fn in cases.items()}
    return interleaved_medians(timed, rounds)[0]


def observe_row(
    packet: bytes, document: bytes, key: int, expected: object, rounds: int, seconds: float
) -> dict[str, Any]:
    """Time extracting ``key``'s value both ways; return the row."""
    observer = y3.KeyObserver(key)
    name = f"k{key:02d}"
    to_value: Callable[[y3.PrimitivePacket], object] = (
        y3.PrimitivePacket.to_int64 if isinstance(expected, int) else y3.PrimitivePacket.to_str
    )

    def with_y3() -> object:
        found = observer.feed(packet)[0].packet
        return to_value(y3.decode_primitive_packet(found)[0])

    def with_json() -> object:
        return json.loads(document)[name]

    assert with_y3() == expected == with_json()
    times = compare({"y3": with_y3, "json": with_json}, rounds, seconds)
    return {
        "y3_bytes": len(packet),
        "json_bytes": len(document),
        "y3_per_s": 1 / times["y3"],
        "json_per_s": 1 / times["json"],
        "ratio": times["json"] / times["y3"],
    }


def observe_bench(rounds: int, seconds: float) -> list[dict[str, Any]]:
    rows = []
    for count in (63, 32, 16, 3):
        keys = list(range(1, count + 1))  # every key a root child can have, 0x01 up
        # The same data for both codecs: alternating ints and short strings.
        values: list[int | str] = [k * 7919 if k % 2 else f"value-{k}" for k in keys]
        children = []
        for k, v in zip(keys, values, strict=True):
            kind = Kind.INT64 if isinstance(v, int) else Kind.STR
            children.append(y3.encode_primitive_packet(k, y3.encode_value(kind, v)))
        packet = y3.encode_node_packet(0x01, children)
        document = json.dumps({f"k{k:02d}": v for k, v in zip(keys, values, strict=True)}).encode()
        for position, key in (("first", keys[0]), ("middle", keys[count // 2]), ("last", keys[-1])):
            row = observe_row(packet, document, key, values[key - 1], rounds, seconds)
            rows.append({"keys": count, "position": position, **row})
    return rows


def payload_rows(label: str, size: int, rounds: int, seconds: float) -> list[dict[str, Any]]:
    codec = Codec(KEY)
    payload = bytes(range(256)) * (size // 256)
    source = bytearray(payload)
    wire = codec.marshal(payload)
    frame = DataFrame(tag=0x33, payload=payload)
    frame_wire = encode_frame(frame)

    def decode_view() -> memoryview:
        return y3.decode_node_packet(wire)[0].children[-1].raw

    assert bytes(decode_view()) == payload == codec.unmarshal(wire, bytes)
    assert decode_frame(frame_wire) == frame
    cases: dict[str, Callable[[], object]] = {
        "bytes copy": lambda: bytes(source),
        "marshal": lambda: codec.marshal(payload),
        "decode (view)": decode_view,
        "decode to bytes": lambda: codec.unmarshal(wire, bytes),
        "encode_frame": lambda: encode_frame(frame),
        "decode_frame": lambda: decode_frame(frame_wire),
    }
    times = compare(cases, rounds, seconds)
    return [
        {
            "size": label,
            "case": name,
            "mb_per_s": size / per / 1e6,
            "vs_copy": times["bytes copy"] / per,
        }
        for name, per in times.items()
    ]


def payload_bench(rounds: int, seconds: float) -> list[dict[str, Any]]:
    return [
        row
        for label, size in (("40 KB", 40 * 1024), ("2 MB", 2 * 1024 * 1024))
        for row in payload_rows(label, size, rounds, seconds)
    ]


def small_rows(
    label: str, value: object, kind: Kind, accessor: str, rounds: int, seconds: float
) -> list[dict[str, Any]]:
    codec = Codec(KEY)
    wire = codec.marshal(value, type_=kind)
    packet = y3.encode_primitive_packet(KEY, y3.encode_value(kind, value))
    packed = msgpack.packb(value)
    assert codec.unmarshal(wire, kind) == value == msgpack.unpackb(packed)
    assert getattr(y3.decode_primitive_packet(packet)[0], accessor)() == value
    cases: dict[str, Callable[[], object]] = {
        "msgpack packb": lambda: msgpack.packb(value),
        "msgpack unpackb": lambda: msgpack.unpackb(packed),
        "Codec.marshal": lambda: codec.marshal(value, type_=kind),
        "Codec.unmarshal": lambda: codec.unmarshal(wire, kind),
        "encode packet": lambda: y3.encode_primitive_packet(KEY, y3.encode_value(kind, value)),
        "decode packet": lambda: getattr(y3.decode_primitive_packet(packet)[0], accessor)(),
    }
    times = compare(cases, rounds, seconds)
    rows = []
    for name, per in times.items():
        decoding = "decode" in name or "unpack" in name or "unmarshal" in name
        baseline = times["msgpack unpackb" if decoding else "msgpack packb"]
        rows.append({"value": label, "case": name, "per_s": 1 / per, "vs_msgpack": baseline / per})
    return rows


def small_bench(rounds: int, seconds: float) -> list[dict[str, Any]]:
    return [
        row
        for label, value, kind, accessor in (
            ("int32", 456, Kind.INT32, "to_int32"),
            ("float32", 0.25, Kind.FLOAT32, "to_float32"),
            ("string", "yomo", Kind.STR, "to_str"),
        )
        for row in small_rows(label, value, kind, accessor, rounds, seconds)
    ]


def plot(observe: list[dict[str, Any]], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for position in ("first", "middle", "last"):
        rows = [r for r in observe if r["position"] == position]
        ax.plot([r["keys"] for r in rows], [r["ratio"] for r in rows], marker="o", label=position)
    ax.axhline(OBSERVE_TARGET, color="grey", linestyle="--", label="target (63 keys)")
    ax.set_xlabel("keys in the packet")
    ax.set_ylabel("Y3 observer speed / json.loads speed")
    ax.set_title("Extracting one key: Y3 KeyObserver vs json")
    ax.legend()
    save_figure(fig, path)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    args = parser.parse_args()
    rounds, seconds = (3, 0.01) if args.quick else (5, 0.05)
    started = time.perf_counter()
    observe = observe_bench(rounds, seconds)
    payload = payload_bench(rounds, seconds)
    small = small_bench(rounds, seconds)
    mean63 = statistics.mean(r["ratio"] for r in observe if r["keys"] == 63)

    def vs_copy(case: str) -> dict[str, float]:
        return {r["size"]: r["vs_copy"] for r in payload if r["case"] == case}

    view_vs_copy = vs_copy("decode (view)")
    summary = {
        "observe_63_keys_mean_ratio": mean63,
        "observe_target": OBSERVE_TARGET,
        "observe_target_met": mean63 >= OBSERVE_TARGET,
        # The target is about per-byte work: the zero-copy decode against the copy. Decodes that
        # hand out a copy are listed too; at 40 KB their fixed cost is of the copy's order.
        "decode_view_vs_copy": view_vs_copy,
        "decode_to_bytes_vs_copy": vs_copy("decode to bytes"),
        "decode_frame_vs_copy": vs_copy("decode_frame"),
        "decode_target": DECODE_TARGET,
        "decode_target_met": min(view_vs_copy.values()) >= DECODE_TARGET,
    }
    result = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "quick": args.quick,
        "rounds": rounds,
        "seconds_per_sample": seconds,
        "elapsed_s": time.perf_counter() - started,
        "summary": summary,
        "observe": observe,
        "payload": payload,
        "small": small,
    }
    write_report("y3.json", result)
    plotted = plot(observe, RESULTS / "y3.png")

    print("Extract one key: Y3 KeyObserver (+ value decode) vs json.loads + lookup")
    print(f"{'keys':>5} {'key':>7} {'y3/s':>11} {'json/s':>11} {'ratio':>7}")
    for r in observe:
        print(
            f"{r['keys']:>5} {r['position']:>7} {r['y3_per_s']:>11,.0f} "
            f"{r['json_per_s']:>11,.0f} {r['ratio']:>6.1f}x"
        )
    print(f"63 keys, mean over positions: {mean63:.1f}x (target {OBSERVE_TARGET}x)\n")
    print("Bytes payloads vs a plain bytes copy")
    print(f"{'size':>6} {'case':<16} {'MB/s':>10} {'vs copy':>8}")
    for r in payload:
        print(f"{r['size']:>6} {r['case']:<16} {r['mb_per_s']:>10,.0f} {r['vs_copy']:>7.2f}x")
    views = ", ".join(f"{size} {ratio:.2f}x" for size, ratio in view_vs_copy.items())
    print(f"zero-copy decode vs copy: {views} (target {DECODE_TARGET}x)\n")
    print("Small values vs msgpack")
    print(f"{'value':<8} {'case':<16} {'per s':>11} {'vs msgpack':>10}")
    for r in small:
        print(f"{r['value']:<8} {r['case']:<16} {r['per_s']:>11,.0f} {r['vs_msgpack']:>9.2f}x")
    written = "y3.json" + (" and y3.png" if plotted else "")
    print(f"\nwrote benches/results/{written} in {result['elapsed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The tables of ``docs/benchmarks.md``, one section per bench's JSON (``benches.report``).

Each section is read from the keys its bench writes; a section whose keys have changed says
so instead of failing the whole report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Lines = list[str]
#: What a table shows for a figure the bench did not write, and after a ratio.
NONE, TIMES = "\N{EN DASH}", "\N{MULTIPLICATION SIGN}"
#: A cell that holds a figure (``1,234``, ``0.42`` and the sign, ``0.3 / 0.6``), or none.
_FIGURE = re.compile(rf"^({NONE}|[\d,.]+{TIMES}?( / [\d,.]+)?)$")


@dataclass(frozen=True)
class Section:
    """How one bench's results read: a title, what is measured against what, the tables."""

    title: str
    command: str
    about: str
    render: Callable[[Mapping[str, Any]], Lines]


def num(value: Any, digits: int = 0) -> str:
    """``value`` with thousands separators, :data:`NONE` when there is none."""
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return NONE
    return f"{value:,.{digits}f}"


def times(value: Any, digits: int = 2) -> str:
    """A ratio: the figure and :data:`TIMES`."""
    text = num(value, digits)
    return text if text == NONE else f"{text}{TIMES}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Lines:
    """A Markdown table: columns of figures right-aligned, the others left-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    align = [
        "---:" if index and cells and all(_FIGURE.match(row[index]) for row in cells) else ":---"
        for index in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return [*lines, ""]


def _round_trip(result: Mapping[str, Any]) -> str:
    return f"{num(result['rtt_p50_ms'], 2)} / {num(result['rtt_p99_ms'], 2)}"


def _met(met: Any) -> str:
    return "met" if met else "**missed**"


def y3(data: Mapping[str, Any]) -> Lines:
    observe, payload, small = data["observe"], data["payload"], data["small"]
    positions = ("first", "middle", "last")
    rows = []
    for keys in sorted({r["keys"] for r in observe}, reverse=True):
        ratio = {r["position"]: r["ratio"] for r in observe if r["keys"] == keys}
        mean = sum(ratio.values()) / len(ratio)
        rows.append([keys, *(times(ratio.get(p)) for p in positions), times(mean)])
    lines = ["Extracting one key, Y3 `KeyObserver` against `json.loads` + lookup:", ""]
    lines += table(["keys in the packet", "first key", "middle key", "last key", "mean"], rows)
    sizes = list(dict.fromkeys(r["size"] for r in payload))
    cases = [c for c in dict.fromkeys(r["case"] for r in payload) if c != "bytes copy"]
    vs_copy = {(r["case"], r["size"]): r["vs_copy"] for r in payload}
    lines += ["Bytes values against a plain `bytes` copy of the same size:", ""]
    lines += table(
        ["case", *(f"{s} vs copy" for s in sizes)],
        ([c, *(times(vs_copy.get((c, s))) for s in sizes)] for c in cases),
    )
    values = list(dict.fromkeys(r["value"] for r in small))
    small_cases = [c for c in dict.fromkeys(r["case"] for r in small) if "msgpack" not in c]
    vs_msgpack = {(r["case"], r["value"]): r["vs_msgpack"] for r in small}
    lines += ["Small values against msgpack (C):", ""]
    lines += table(
        ["case", *values],
        ([c, *(times(vs_msgpack.get((c, v))) for v in values)] for c in small_cases),
    )
    summary = data["summary"]
    lines += [
        f"Targets: 63 keys, mean {times(summary['observe_63_keys_mean_ratio'])} against "
        f"{times(summary['observe_target'], 1)} ({_met(summary['observe_target_met'])}); "
        f"zero-copy decode at least {times(summary['decode_target'], 1)} a copy "
        f"({_met(summary['decode_target_met'])}).",
        "",
    ]
    return lines


def rx(data: Mapping[str, Any]) -> Lines:
    rows = []
    for r in data["results"]:
        rate = r["items_per_s"]
        rows.append(
            [
                r["workload"],
                r["payload_bytes"],
                num(rate["rxstream"]),
                num(rate["reactivex"]),
                num(rate["reactivex_map"]),
                num(rate["loop"]),
                times(r["rxstream_vs_reactivex"]),
                times(r["rxstream_vs_reactivex_map"]),
                times(r["rxstream_vs_loop"]),
            ]
        )
    headers = ["workload", "payload B", "RxStream items/s", "reactivex", "reactivex (map)"]
    headers += ["loop", "RxStream / reactivex", "/ reactivex (map)", "/ loop"]
    lines = table(headers, rows)
    worst, target = data["worst_rxstream_vs_reactivex"], data["target_rxstream_vs_reactivex"]
    met = _met(worst >= target)
    lines += [f"Worst RxStream / reactivex: {times(worst)} (target {times(target, 1)}: {met}).", ""]
    return lines


def wasm(data: Mapping[str, Any]) -> Lines:
    round_trip = data["roundtrip_us"]
    lines = ["One bindgen call of an echo export (µs a call, medians):", ""]
    lines += table(
        ["payload", "naive wasmtime-py", "wasm_host (wasmtime)", "speed-up"],
        (
            [
                label,
                num(t["naive wasmtime-py"], 1),
                num(t["wasmtime"], 1),
                times(t["naive wasmtime-py"] / t["wasmtime"]),
            ]
            for label, t in round_trip.items()
        ),
    )
    rates = data["classify"]["images_per_s"]
    lines += ["Image classification (images/s, medians):", ""]
    lines += table(["way", "images/s"], ([name, num(rate, 1)] for name, rate in rates.items()))
    lines += table(
        ["ratio", "value", "target"],
        (
            [name, times(r["value"]), times(r["target"], 1) if "target" in r else NONE]
            for name, r in data["ratios"].items()
        ),
    )
    engines = data.get("engines_py310", {})
    if "skipped" in engines:
        lines += [f"wasmer on Python 3.10: skipped ({engines['skipped']}).", ""]
    return lines


def transport(data: Mapping[str, Any]) -> Lines:
    results = data["results"]
    by = {(r["name"], r["payload_size"]): r for r in results}
    payloads = sorted({r["payload_size"] for r in results})
    small, large = payloads[0], payloads[-1]
    usual, tuned = by[("aioquic-usual", small)], by[("aioquic-tuned", small)]
    rows = []
    for name in dict.fromkeys(r["name"] for r in results):
        one, big = by[(name, small)], by[(name, large)]
        rows.append(
            [
                name,
                num(one["messages_per_s"]),
                times(one["messages_per_s"] / usual["messages_per_s"]),
                times(one["messages_per_s"] / tuned["messages_per_s"]),
                _round_trip(one),
                num(big["mb_per_s"], 1),
            ]
        )
    kib, big_kib = small // 1024, large // 1024
    lines = table(
        [
            "stack",
            f"{kib} KiB msg/s",
            f"{TIMES} usual",
            f"{TIMES} tuned",
            "p50 / p99 ms",
            f"{big_kib} KiB MB/s",
        ],
        rows,
    )
    lines += ["A reader ten times slower than its sender:", ""]
    lines += table(
        ["stack", "sent MB", "sender RSS growth MB", "receiver RSS growth MB"],
        (
            [
                s["stack"],
                num(s["total_mb"], 1),
                num(s["sender_rss_growth_mb"], 1),
                num(s["receiver_rss_growth_mb"], 1),
            ]
            for s in data["slow_consumer"]
        ),
    )
    return lines


def runtime(data: Mapping[str, Any]) -> Lines:
    rows = data["results"]
    by = {(r["name"], r["payload_size"]): r for r in rows}
    payloads = sorted({r["payload_size"] for r in rows})
    small, large = payloads[0], payloads[-1]
    lines = table(
        ["path", f"{small // 1024} KiB msg/s", f"{large // 1024} KiB MB/s", "p50 / p99 ms"],
        (
            [
                name,
                num(by[name, small]["messages_per_s"]),
                num(by[name, large]["mb_per_s"], 1),
                _round_trip(by[name, small]),
            ]
            for name in dict.fromkeys(r["name"] for r in rows)
        ),
    )
    lines += table(["ratio", "value"], ([k, times(v)] for k, v in data["ratios"].items()))
    memory = data["memory"]
    lines += [
        f"A function about ten times slower than its source: {num(memory['offered_mb'])} MB "
        f"offered, the zipper's peak RSS {num(memory['zipper_peak_rss_mb'], 1)} MB.",
        "",
    ]
    return lines


def pipeline(data: Mapping[str, Any]) -> Lines:
    direct = data["direct"][0]
    lines = [
        f"Direct reference (the model called from Python): {num(direct['frames_per_s'], 1)} "
        f"frames/s, p50 {num(direct['low_load_p50_ms'], 2)} ms at low load.",
        "",
    ]
    lines += table(
        ["pipeline", "frames/s vs direct", "p50 added at low load ms", "overhead p50 ms", "runs"],
        (
            [
                name,
                times(r["frames_per_s_ratio"]),
                num(r["added_latency_p50_ms"], 2),
                num(r["overhead_p50_ms"], 2),
                r["runs"],
            ]
            for name, r in data["ratios"].items()
        ),
    )
    first: dict[str, Mapping[str, Any]] = {}
    for run in data["pipelines"]:
        first.setdefault(run["name"], run)
    cpu_rows = [
        [name, ", ".join(f"{part} {num(ms, 2)}" for part, ms in cpu.items())]
        for name, run in first.items()
        if (cpu := run.get("settings", {}).get("cpu_ms_per_frame"))
    ]
    if cpu_rows:
        lines += ["CPU a frame at full load, per process (ms; first run of each):", ""]
        lines += table(["pipeline", "CPU ms a frame"], cpu_rows)
    lines += [f"- {target}: {_met(met)}" for target, met in data["targets"].items()]
    return [*lines, ""]


def functions(data: Mapping[str, Any]) -> Lines:
    lines: Lines = []
    density = data.get("density")
    if density:
        lines += table(
            ["density, 100 distinct functions", "MB"],
            [
                ["RSS of the empty host", num(density["empty_host_rss_mb"], 1)],
                ["RSS with 100 loaded", num(density["loaded_rss_mb"], 1)],
                ["RSS with 100 idle after one frame each", num(density["idle_rss_mb"], 1)],
                ["an idle function above the empty host", num(density["per_function_idle_mb"], 2)],
            ],
        )
        lines += [
            f"Loading a function: {num(density['load_ms_per_function_compiling'], 1)} ms "
            f"compiling, {num(density['load_ms_per_function_cached'], 1)} ms from the module "
            "cache.",
            "",
        ]
    reload = data.get("reload")
    if reload:
        lines += table(
            ["first frame of a new version after the change", "p50 ms", "max ms", "changes"],
            (
                [how, num(row["p50_ms"], 1), num(row["max_ms"], 1), row["changes"]]
                for how, row in reload.items()
            ),
        )
    isolation = data.get("isolation")
    if isolation:
        lines += table(
            [
                "healthy function",
                "frames/s beside hostile ones / alone",
                "beside well-behaved ones / alone",
            ],
            (
                [kind, times(row["ratio"]), times(row["well_behaved_ratio"])]
                for kind, row in isolation.items()
                if "ratio" in row
            ),
        )
    lines += [f"- {target}: {_met(met)}" for target, met in data.get("targets", {}).items()]
    return [*lines, ""]


def yomo(data: Mapping[str, Any]) -> Lines:
    medians = data["medians"]
    base = medians["yomo"]["msgs_per_s"]
    lines = table(
        ["zipper", "frames/s delivered", f"{TIMES} YoMo", "zipper CPU µs a frame", "peak RSS MB"],
        (
            [
                name,
                num(m["msgs_per_s"]),
                times(m["msgs_per_s"] / base),
                num(m["zipper_cpu_us_per_frame"], 1),
                num(m["zipper_peak_rss_mb"], 1),
            ]
            for name, m in medians.items()
        ),
    )
    settings = data["settings"]
    lines += [
        f"{settings['size']} B frames for {num(settings['seconds'])} s a round, "
        f"{settings['rounds']} rounds; every figure a median.",
        "",
    ]
    return lines


def reliability(data: Mapping[str, Any]) -> Lines:
    fuzz, impaired, latency = data["fuzz"], data["impaired"], data["latency"]
    slow, churn, crash = data["slow_sink"], data["churn"], data["crash"]
    lossy, clean = impaired["delay_50ms_loss_5pct"], impaired["baseline"]
    rss = churn["rss_after_each_round_mb"]
    return table(
        ["measurement", "figure", "baseline", "ratio"],
        [
            [
                "fuzzed cases at a zipper over QUIC",
                f"{num(fuzz['cases_sent'])} in {num(fuzz['seconds'], 1)} s, "
                f"{len(fuzz['mismatches'])} mismatches, {fuzz['internal_errors']} internal errors",
                NONE,
                NONE,
            ],
            [
                "frames/s through relays, 50 ms delay, 5 % loss",
                num(lossy["frames_per_second"]),
                f"{num(clean['frames_per_second'])} unimpaired",
                times(impaired["ratio"], 3),
            ],
            [
                f"write-to-delivery p99, {latency['load']['clients']} clients",
                f"{num(latency['load']['p99_ms'], 1)} ms",
                f"{num(latency['baseline']['p99_ms'], 1)} ms, one source and sink",
                times(latency["p99_ratio"]),
            ],
            [
                f"zipper peak RSS, slow sink, {slow['slow']['offered_mb']} MB offered",
                f"{num(slow['slow']['peak_rss_mb'], 1)} MB",
                f"{num(slow['baseline']['peak_rss_mb'], 1)} MB, a sink that keeps up",
                times(slow["peak_rss_ratio"]),
            ],
            [
                f"zipper RSS after {churn['rounds']} rounds of {churn['clients_per_round']} "
                "clients",
                f"{num(rss[0], 1)} MB after the first, {num(rss[-1], 1)} MB after the last",
                f"{num(churn['baseline_rss_mb'], 1)} MB, one sink",
                NONE,
            ],
            [
                "clients back after a zipper's SIGKILL and restart",
                f"{num(crash['median_seconds'], 2)} s (median of {crash['repeats']})",
                NONE,
                NONE,
            ],
        ],
    )


def soak(data: Mapping[str, Any]) -> Lines:
    lines = [
        f"{num(data['minutes'], 1)} minutes, seed {data['seed']}, receipts "
        f"{'on' if data['receipts'] else 'off'}: {_met(data['ok'])}.",
        "",
    ]
    lines += table(
        [
            "written",
            "delivered",
            "dropped, named by sources",
            "unknown to sources",
            "missing, uncounted",
            "duplicates",
            "out of order",
        ],
        [
            [
                num(data["written"]),
                num(data["delivered"]),
                num(data["dropped_by_sources"]),
                num(data["unknown_to_sources"]),
                num(data["uncounted_died_with_a_zipper"]),
                num(data["duplicates"]),
                num(data["out_of_order"]),
            ]
        ],
    )
    return lines


def generic(data: Mapping[str, Any]) -> Lines:
    """A bench this report does not know: its ratios, when it has them."""
    ratios = data.get("ratios")
    if not isinstance(ratios, Mapping) or not ratios:
        return ["No table for this bench yet: see its JSON.", ""]
    return table(
        ["ratio", "value"],
        ([k, times(v["value"] if isinstance(v, Mapping) else v)] for k, v in ratios.items()),
    )


#: The known benches, by the name of their JSON, in the order of the report.
SECTIONS: dict[str, Section] = {
    "y3": Section(
        "Y3 codec",
        "python -m benches.bench_y3",
        "Y3 against `json.loads`, a `bytes` copy and msgpack, on the same data.",
        y3,
    ),
    "rx": Section(
        "RxStream",
        "python -m benches.bench_rx",
        "`subscribe → on_observe → map → encode` through `RxStream` against the same "
        "pipeline in bare reactivex and in a plain loop.",
        rx,
    ),
    "wasm": Section(
        "WebAssembly host",
        "python -m benches.bench_wasm",
        "wasm_host's bindgen calls against naive wasmtime-py, and image classification "
        "through the guest against the same model called from Python.",
        wasm,
    ),
    "transport": Section(
        "Transports, point to point",
        "python -m benches.bench_transport",
        "rxyomo's QUIC and TLS-over-TCP transports against aioquic used the usual way "
        "(StreamReader/Writer) and a tuned aioquic loop, on loopback.",
        transport,
    ),
    "runtime": Section(
        "Source → zipper → stream function",
        "python -m benches.bench_runtime",
        "Three processes through the zipper against one-hop aioquic baselines.",
        runtime,
    ),
    "pipeline": Section(
        "The image-recognition pipeline",
        "PYTHONPATH=examples/image_recognition python -m benches.bench_pipeline",
        "The example's processes against the model called directly, and against a floor: "
        "the same processes joined by bare asyncio TCP, no framework.",
        pipeline,
    ),
    "pipeline-served": Section(
        "The guest served by the zipper",
        "PYTHONPATH=examples/image_recognition python -m benches.bench_pipeline "
        "--only served-quic,served-tcp,floor-served --repeat 3 --name pipeline-served",
        "The image-recognition guest served as it is by the zipper (raw JPEGs in, sentences "
        "out: source → zipper → sink), over QUIC and TLS on TCP, against the model called "
        "directly and the served form's floor (the bench and one classifying process over "
        "plain TCP). The overhead is a frame's latency less the function's call-time p50 "
        "from its stats.",
        pipeline,
    ),
    "functions": Section(
        "The function host",
        "python -m benches.bench_functions",
        "Many functions in one host: memory per idle function, how soon a changed module "
        "serves, and a healthy function's throughput beside hostile ones (an endless loop, a "
        "memory blow-up, a trap on every call) against alone, with a control of "
        "well-behaved neighbours offered the same traffic.",
        functions,
    ),
    "yomo": Section(
        "Beside YoMo's zipper",
        "python -m benches.bench_yomo",
        "YoMo v1.22.3's Go source and stream function through YoMo's zipper and rxyomo's.",
        yomo,
    ),
    "reliability": Section(
        "Reliability",
        "python -m benches.bench_reliability",
        "Fuzzing, an impaired network, load, a slow sink, churn and crashes, each beside a "
        "baseline of the same run.",
        reliability,
    ),
    "soak": Section(
        "Soak",
        "python -m benches.soak",
        "Sources and sinks behind lossy relays while zippers are killed and links cut; "
        "every missing frame must be named by its source.",
        soak,
    ),
}

"""``python -m benches.report`` turns the benches' JSON into docs/benchmarks.md: checked on
small hand-made results (the tables' contents, not any timing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benches import report
from benches._bench import command, host
from benches._sections import TIMES

HOST = {
    "cpu": "Test CPU 9000",
    "cores": 8,
    "usable_cores": 2,
    "machine": "x86_64",
    "system": "Linux-test",
    "python": "3.11.7",
    "libraries": {"aioquic": "1.7.2", "msgpack": "1.2.4"},
    "load_average": [0.5, 0.4, 0.3],
}


def _observe(keys: int, ratios: tuple[float, float, float]) -> list[dict[str, Any]]:
    return [
        {"keys": keys, "position": position, "ratio": ratio}
        for position, ratio in zip(("first", "middle", "last"), ratios, strict=True)
    ]


Y3: dict[str, Any] = {
    "quick": False,
    "command": "python -m benches.bench_y3",
    "host": HOST,
    "commit": "0123456789ab",
    "date": "2026-01-02T03:04:05+00:00",
    "summary": {
        "observe_63_keys_mean_ratio": 2.3,
        "observe_target": 2.0,
        "observe_target_met": True,
        "decode_target": 0.5,
        "decode_target_met": False,
    },
    "observe": _observe(63, (3.2, 2.2, 1.5)) + _observe(3, (0.7, 0.7, 0.7)),
    "payload": [
        {"size": "40 KB", "case": "bytes copy", "vs_copy": 1.0},
        {"size": "40 KB", "case": "decode (view)", "vs_copy": 0.5},
        {"size": "2 MB", "case": "bytes copy", "vs_copy": 1.0},
        {"size": "2 MB", "case": "decode (view)", "vs_copy": 1.03},
    ],
    "small": [
        {"value": "int32", "case": "msgpack packb", "vs_msgpack": 1.0},
        {"value": "int32", "case": "Codec.marshal", "vs_msgpack": 0.11},
    ],
}


def _result(name: str, payload: int, msgs: float, mb: float) -> dict[str, Any]:
    return {
        "name": name,
        "payload_size": payload,
        "messages_per_s": msgs,
        "mb_per_s": mb,
        "rtt_p50_ms": 0.3,
        "rtt_p99_ms": 0.6,
    }


TRANSPORT: dict[str, Any] = {
    "quick": True,
    "python": "3.11.7",
    "cpus": 2,
    "results": [
        _result("aioquic-usual", 1024, 10_000, 10.0),
        _result("aioquic-tuned", 1024, 20_000, 20.0),
        _result("rxyomo-quic", 1024, 30_000, 30.0),
        _result("aioquic-usual", 40960, 400, 16.0),
        _result("aioquic-tuned", 40960, 700, 28.0),
        _result("rxyomo-quic", 40960, 800, 32.5),
    ],
    "slow_consumer": [
        {
            "stack": "rxyomo-quic",
            "total_mb": 40.0,
            "sender_rss_growth_mb": 11.0,
            "receiver_rss_growth_mb": 2.0,
        }
    ],
}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "y3.json").write_text(json.dumps(Y3))
    (folder / "y3.png").write_bytes(b"\x89PNG")
    (folder / "transport.json").write_text(json.dumps(TRANSPORT))
    (folder / "mystery.json").write_text(json.dumps({"ratios": {"a over b": 1.5}}))
    (folder / "yomo.json").write_text(json.dumps({"medians": {}}))  # keys it lacks
    (folder / "broken.json").write_text("{not json")
    return folder


def _generate(results: Path, tmp_path: Path) -> str:
    output = tmp_path / "docs" / "benchmarks.md"
    assert report.main(["--results", str(results), "--output", str(output)]) == 0
    # The ratios' sign as plain x, for readable assertions.
    return output.read_text().replace(TIMES, "x")


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_y3_section_has_its_ratios_host_command_and_plot(results: Path, tmp_path: Path) -> None:
    y3 = _section(_generate(results, tmp_path), "Y3 codec")
    assert "- Command: `python -m benches.bench_y3`" in y3
    assert (
        "- Host: Test CPU 9000, 8 cores (2 usable), Linux-test, Python 3.11.7, load average "
        "0.5 / 0.4 / 0.3 (1 / 5 / 15 min) at the end; aioquic 1.7.2, msgpack 1.2.4"
    ) in y3
    assert "- Results: from y3.json, commit 0123456789ab, 2026-01-02T03:04:05+00:00" in y3
    assert "- Plot: [y3.png](../results/y3.png)" in y3
    assert "| 63 | 3.20x | 2.20x | 1.50x | 2.30x |" in y3
    assert "| 3 | 0.70x | 0.70x | 0.70x | 0.70x |" in y3
    assert "|:---|---:|---:|---:|---:|" in y3  # figures to the right
    assert "| decode (view) | 0.50x | 1.03x |" in y3
    assert "bytes copy |" not in y3  # the baseline itself is no row
    assert "| Codec.marshal | 0.11x |" in y3
    assert "mean 2.30x against 2.0x (met)" in y3
    assert "(**missed**)" in y3


def test_the_transport_ratios_are_against_both_baselines(results: Path, tmp_path: Path) -> None:
    section = _section(_generate(results, tmp_path), "Transports, point to point")
    assert "| stack | 1 KiB msg/s | x usual | x tuned | p50 / p99 ms | 40 KiB MB/s |" in section
    assert "| aioquic-usual | 10,000 | 1.00x | 0.50x | 0.30 / 0.60 | 16.0 |" in section
    assert "| rxyomo-quic | 30,000 | 3.00x | 1.50x | 0.30 / 0.60 | 32.5 |" in section
    assert "| rxyomo-quic | 40.0 | 11.0 | 2.0 |" in section
    # An older result without a host block, nor a command: said so, with the usual command.
    assert "- Host: not recorded (Python 3.11.7, 2 cores)" in section
    assert (
        "- Command: `python -m benches.bench_transport --quick` (its options were not recorded)"
    ) in section
    assert "- A quick run (`--quick`)" in section
    assert "Plot:" not in section  # none was written


def test_unknown_and_unreadable_results_do_not_stop_the_report(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _generate(results, tmp_path)
    assert "skipping broken.json" in capsys.readouterr().err
    assert "| a over b | 1.50x |" in _section(text, "mystery")
    assert "*The figures could not be read (KeyError: 'yomo')" in _section(
        text, "Beside YoMo's zipper"
    )
    # The known benches come in the report's order, the others after them.
    order = [line for line in text.splitlines() if line.startswith("## ")]
    assert order == [
        "## Y3 codec",
        "## Transports, point to point",
        "## Beside YoMo's zipper",
        "## mystery",
    ]
    index = text.split("\n## ", 1)[0]
    assert "| Y3 codec | `python -m benches.bench_y3` | 2026-01-02T03:04:05+00:00 |" in index
    assert "|:---|:---|:---|" in index  # no figures: all to the left


def test_without_results_it_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "benchmarks.md"
    assert report.main(["--results", str(tmp_path), "--output", str(output)]) == 1
    assert "no results" in capsys.readouterr().err
    assert not output.exists()


def test_every_result_says_where_it_comes_from() -> None:
    about = host()
    assert {"cpu", "cores", "python", "libraries"} <= set(about)
    assert about["cores"] >= 1
    assert command("PYTHONPATH=x").startswith("PYTHONPATH=x python ")


FUNCTIONS: dict[str, Any] = {
    "bench": "functions",
    "quick": False,
    "host": HOST,
    "density": {
        "functions": 100,
        "empty_host_rss_mb": 79.0,
        "loaded_rss_mb": 85.0,
        "idle_rss_mb": 91.0,
        "per_function_loaded_mb": 0.06,
        "per_function_idle_mb": 0.12,
        "threads": 200,
        "load_ms_per_function_compiling": 9.8,
        "load_ms_per_function_cached": 4.7,
    },
    "reload": {"watcher": {"changes": 20, "p50_ms": 25.9, "max_ms": 37.5, "all_ms": [25.9]}},
    "isolation": {
        "echo": {"ratio": 0.95, "well_behaved_ratio": 0.72},
        "image": {"skipped": "the model is not installed"},
    },
    "targets": {"idle function RSS 0.12 MB <= 2.0 MB": True},
}


def test_the_function_host_section_reads_density_reload_and_isolation(
    results: Path, tmp_path: Path
) -> None:
    (results / "functions.json").write_text(json.dumps(FUNCTIONS))
    section = _section(_generate(results, tmp_path), "The function host")
    assert "| an idle function above the empty host | 0.12 |" in section
    assert "9.8 ms compiling, 4.7 ms from the module cache" in section
    assert "| watcher | 25.9 | 37.5 | 20 |" in section
    assert "| echo | 0.95x | 0.72x |" in section
    assert "| image |" not in section  # skipped: no row
    assert "- idle function RSS 0.12 MB <= 2.0 MB: met" in section

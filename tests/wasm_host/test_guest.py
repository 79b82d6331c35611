"""The Rust image-recognition guest, unmodified, on real photos, on every engine."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wasm_host import (
    ImageHost,
    InterpreterPool,
    TensorFlowLiteHost,
    TrapCause,
    WasiConfig,
    WasmFunction,
    WasmTrap,
)
from wasm_host.host._resize import resize_like_wasmedge
from wasm_host.host.interpreters import interpreter_class

from .conftest import GUEST_WASM

# Top-1 labels of EfficientNet-Lite0 with WasmEdge's resize, for scikit-image's photos.
EXPECTED = {
    "chelsea.png": "Egyptian cat",
    "coffee.png": "espresso",
    "motorcycle_left.png": "moped",
    "rocket.jpg": "drilling platform",
}
SENTENCE = re.compile(r"^It (is very likely|is likely|could be) a <a href='[^']*'>([^<]*)</a>")


def _label(sentence: str) -> str:
    found = SENTENCE.match(sentence)
    assert found is not None, sentence
    return found.group(2)


@pytest.fixture
def pool() -> InterpreterPool:
    return InterpreterPool()


@pytest.fixture
def infer(engine_name: str, model_dir: Path, pool: InterpreterPool) -> WasmFunction:
    return WasmFunction(
        GUEST_WASM,
        "infer",
        engine=engine_name,
        text=True,
        wasi=WasiConfig(preopens={"/model": str(model_dir)}),
        host_modules=[TensorFlowLiteHost(pool), ImageHost()],
    )


def test_the_committed_guest_is_small() -> None:
    assert GUEST_WASM.stat().st_size <= 1_000_000


def test_photos_get_their_expected_labels(
    infer: WasmFunction, photos: Path, pool: InterpreterPool
) -> None:
    for name, label in EXPECTED.items():
        result = infer((photos / name).read_bytes())
        assert isinstance(result, str)
        assert _label(result) == label, name
    # The guest made a session per call; the host built one interpreter for all of them.
    assert (pool.created, pool.reused) == (1, len(EXPECTED) - 1)


def test_labels_match_the_model_run_directly_from_python(
    infer: WasmFunction, photos: Path, model_dir: Path
) -> None:
    model = (model_dir / "efficientnet_lite0.tflite").read_bytes()
    labels = zipfile.ZipFile(io.BytesIO(model)).read("labels_without_background.txt")
    interpreter_type = interpreter_class()
    assert interpreter_type is not None
    interpreter = interpreter_type(model_content=model, num_threads=2)
    interpreter.allocate_tensors()
    for name in ("chelsea.png", "rocket.jpg"):
        with Image.open(photos / name) as photo:
            pixels = resize_like_wasmedge(np.asarray(photo.convert("RGB")), 224, 224)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], pixels[None])
        interpreter.invoke()
        scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
        direct = labels.decode().splitlines()[int(scores.argmax())]
        result = infer((photos / name).read_bytes())
        assert isinstance(result, str)
        assert _label(result) == direct


def test_labels_can_come_from_a_file_named_in_the_environment(
    engine_name: str, model_dir: Path, photos: Path, tmp_path: Path
) -> None:
    # A copy: the sandbox does not follow symbolic links out of a preopened directory.
    shutil.copyfile(model_dir / "efficientnet_lite0.tflite", tmp_path / "model.tflite")
    (tmp_path / "labels.txt").write_text("\n".join(f"class {i}" for i in range(1000)))
    infer = WasmFunction(
        GUEST_WASM,
        "infer",
        engine=engine_name,
        text=True,
        wasi=WasiConfig(
            preopens={"/m": str(tmp_path)},
            env={"INFER_MODEL": "/m/model.tflite", "INFER_LABELS": "/m/labels.txt"},
        ),
    )
    result = infer((photos / "coffee.png").read_bytes())
    assert isinstance(result, str)
    assert _label(result) == "class 967"  # espresso's index


def test_a_bad_image_traps_with_the_guests_message_and_the_next_image_runs(
    infer: WasmFunction, photos: Path
) -> None:
    with pytest.raises(WasmTrap) as trapped:
        infer(b"GIF89a, not something the host decodes")
    assert trapped.value.cause is TrapCause.GUEST_TRAP
    assert "neither a JPEG nor a PNG" in str(trapped.value)
    result = infer((photos / "coffee.png").read_bytes())
    assert isinstance(result, str)
    assert _label(result) == "espresso"
    assert infer.stats.instances == 2


def test_a_missing_model_is_reported(engine_name: str, photos: Path) -> None:
    infer = WasmFunction(GUEST_WASM, "infer", engine=engine_name, text=True)
    with pytest.raises(WasmTrap, match="cannot read the model"):
        infer((photos / "coffee.png").read_bytes())

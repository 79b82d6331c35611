"""WASI-NN (``wasi_ephemeral_nn``) on ai-edge-litert: the classifier built with
wasmedge-wasi-nn and with the older wasi-nn crate, on real photos, and calls with bad
arguments, on every engine."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from wasm_host import (
    CompiledModule,
    ImageHost,
    InterpreterPool,
    NnErrno,
    TensorTypes,
    TrapCause,
    WasiConfig,
    WasiNnHost,
    WasmTrap,
    YomoFunction,
    instantiate,
)

from .test_guest import EXPECTED, _label

LABEL, FAILED = 0x11, 0x12


def _classifier(
    path: Path, engine_name: str, model_dir: Path, nn: WasiNnHost, **env: str
) -> YomoFunction:
    return YomoFunction(
        path,
        engine=engine_name,
        wasi=WasiConfig(preopens={"/model": str(model_dir)}, env=env),
        host_modules=[nn, ImageHost()],
    )


@pytest.mark.parametrize("build", ["wasinn_current", "wasinn_legacy"])
def test_photos_get_their_labels_through_wasi_nn(
    built_guest: Callable[[str], Path],
    engine_name: str,
    model_dir: Path,
    photos: Path,
    build: str,
) -> None:
    pool = InterpreterPool()
    function = _classifier(built_guest(build), engine_name, model_dir, WasiNnHost(pool=pool))
    assert function.observed == (0x10,)
    for name, label in EXPECTED.items():
        [(tag, sentence)] = function((photos / name).read_bytes())
        assert tag == LABEL, sentence
        assert _label(sentence.decode()) == label
    # One model, one interpreter, kept by the instance's execution context.
    assert pool.created == 1
    [(tag, reason)] = function(b"GIF89a")
    assert (tag, reason) == (FAILED, b"the input is neither a JPEG nor a PNG image")


def test_a_preloaded_model_is_loaded_by_name(
    built_guest: Callable[[str], Path],
    engine_name: str,
    model_dir: Path,
    photos: Path,
    tmp_path: Path,
) -> None:
    # The guest still reads the labels from the model file; the graph comes by name.
    shutil.copyfile(model_dir / "efficientnet_lite0.tflite", tmp_path / "model.tflite")
    nn = WasiNnHost({"lite0": tmp_path / "model.tflite"})
    function = _classifier(
        built_guest("wasinn_current"), engine_name, model_dir, nn, INFER_GRAPH="lite0"
    )
    [(tag, sentence)] = function((photos / "coffee.png").read_bytes())
    assert tag == LABEL
    assert _label(sentence.decode()) == "espresso"
    unknown = _classifier(
        built_guest("wasinn_current"), engine_name, model_dir, nn, INFER_GRAPH="missing"
    )
    [(tag, reason)] = unknown((photos / "coffee.png").read_bytes())
    assert tag == FAILED
    assert b"NOT_FOUND" in reason.upper().replace(b" ", b"_") or b"8" in reason


def test_the_type_table_matters_and_auto_picks_the_guests(
    built_guest: Callable[[str], Path], engine_name: str, model_dir: Path, photos: Path
) -> None:
    image = (photos / "chelsea.png").read_bytes()
    legacy = built_guest("wasinn_legacy")
    # wasi-nn 0.4 says U8 with code 2, which the newer table reads as F64.
    wrong = _classifier(legacy, engine_name, model_dir, WasiNnHost(tensor_types="current"))
    [(tag, _reason)] = wrong(image)
    assert tag == FAILED
    right = _classifier(legacy, engine_name, model_dir, WasiNnHost(tensor_types="legacy"))
    assert right(image)[0][0] == LABEL
    assert WasiNnHost().types_for({"load", "set_input"}) is TensorTypes.AUTO
    assert WasiNnHost().types_for({"load_by_name", "load"}) is TensorTypes.CURRENT


@pytest.mark.parametrize(
    ("export", "errno"),
    [
        ("onnx", NnErrno.INVALID_ENCODING),
        ("gpu", NnErrno.INVALID_ARGUMENT),
        ("not_a_model", NnErrno.INVALID_ARGUMENT),
        ("unknown_graph", NnErrno.INVALID_ARGUMENT),
    ],
)
def test_refusals_use_wasi_nns_error_codes(
    load_fixture: Callable[[str], CompiledModule], export: str, errno: int
) -> None:
    linked = instantiate(load_fixture("wasi_nn_hostile"))
    try:
        assert linked.instance.caller(export)() == errno
    finally:
        linked.close()


@pytest.mark.parametrize("export", ["builders_past_memory", "huge_tensor"])
def test_pointers_past_memory_trap(
    load_fixture: Callable[[str], CompiledModule], export: str
) -> None:
    linked = instantiate(load_fixture("wasi_nn_hostile"))
    try:
        with pytest.raises(WasmTrap) as trapped:
            linked.instance.caller(export)()
        assert trapped.value.cause is TrapCause.BAD_POINTER
    finally:
        linked.close()

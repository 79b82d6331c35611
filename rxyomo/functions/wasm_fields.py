"""The fields of a WebAssembly function that depend on how it is called.

A module of YoMo's stream-function ABI is a whole stream function: it names the tags it
observes and writes its own answers, each on its own tag, so it is given no export and no
reply tag (and ``observe`` only to say the same tags again, which loading checks). A
wasm-bindgen or wasmedge-bindgen module is an export called with each payload: it needs
the export and the tags. ``nn_preload`` names the models WASI-NN's ``load_by_name``
finds, as WasmEdge's ``--nn-preload`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from rxyomo.functions.wasm_names import follows_yomo_abi

__all__ = ["calling_problem", "parse_nn_preload"]

_YOMO = "the module follows YoMo's stream-function ABI"
#: WASI-NN's graph encodings as WasmEdge's --nn-preload names them.
_NN_ENCODINGS = {
    "openvino",
    "onnx",
    "tensorflow",
    "pytorch",
    "tensorflowlite",
    "ggml",
    "autodetect",
}
#: Those WASI-NN here runs (on TensorFlow-Lite).
_NN_SERVED = {"tensorflowlite", "autodetect"}


def calling_problem(
    path: Path, export: object, observe: tuple[int, ...], reply: int | None
) -> tuple[str, str] | None:
    """``(field, message)`` when ``export``, ``observe`` and ``reply`` do not fit the
    way the module at ``path`` is called; ``None`` when they do."""
    if follows_yomo_abi(path):
        if export is not None:
            return "export", f"{_YOMO}: yomo_handler takes each frame, so it is given no export"
        if reply is not None:
            return "reply", (
                f"{_YOMO}: it writes its own answers, each on its own tag, so it is given "
                "no reply tag"
            )
        return None
    if not isinstance(export, str) or not export:
        return "export", (
            "a WebAssembly function needs the export to call (infer), unless it follows "
            "YoMo's stream-function ABI (this module exports no yomo_handler)"
        )
    if not observe:
        return "observe", "a WebAssembly function needs the tags it observes"
    return None


def _entry(item: object) -> tuple[object, str]:
    if not isinstance(item, str):
        raise ValueError(f"expected NAME:PATH, got {item!r}")
    parts = item.split(":")
    if len(parts) >= 4 and parts[1].lower() in _NN_ENCODINGS:
        # WasmEdge's NAME:ENCODING:TARGET:PATH; where a graph runs is the host's choice.
        if parts[1].lower() not in _NN_SERVED:
            raise ValueError(f"{parts[0]}: only TensorFlow-Lite models are served, not {parts[1]}")
        return parts[0], ":".join(parts[3:])
    name, found, path = item.partition(":")
    if not found:
        raise ValueError(f"expected NAME:PATH, got {item!r}")
    return name, path


def parse_nn_preload(value: object, base: Path) -> dict[str, Path]:
    """Model names to files (relative to ``base``) from a mapping, or a list of
    ``NAME:PATH`` or ``NAME:ENCODING:TARGET:PATH``; :class:`ValueError` names what is
    wrong."""
    pairs: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, (list, tuple)):
        pairs = [_entry(item) for item in value]
    else:
        raise ValueError(f"expected a mapping of name to model file, got {value!r}")
    models: dict[str, Path] = {}
    for name, path in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a model's name is a non-empty string, got {name!r}")
        if not isinstance(path, (str, Path)) or not str(path):
            raise ValueError(f"{name}: expected a model file, got {path!r}")
        if name in models:
            raise ValueError(f"{name}: named twice")
        model = Path(path).expanduser()
        model = (base / model if not model.is_absolute() else model).resolve()
        if not model.is_file():
            raise ValueError(f"{name}: {model} is not a file")
        models[name] = model
    return models

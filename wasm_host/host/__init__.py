"""WasmEdge-compatible host modules, written once against :mod:`wasm_host.engine`.

- :class:`TensorFlowLiteHost`: ``wasmedge_tensorflowlite`` on ai-edge-litert (or
  tflite-runtime).
- :class:`ImageHost`: ``wasmedge_image``, decoding with Pillow and resizing like WasmEdge.
- :class:`TensorFlowHost`: ``wasmedge_tensorflow``, only where TensorFlow is installed.
"""

from __future__ import annotations

from ._base import HostContext, HostModule
from .image import ImageHost
from .interpreters import InterpreterPool
from .tensorflow import TensorFlowHost
from .tensorflowlite import TensorFlowLiteHost

__all__ = [
    "HostContext",
    "HostModule",
    "ImageHost",
    "InterpreterPool",
    "TensorFlowHost",
    "TensorFlowLiteHost",
    "default_host_modules",
]


def default_host_modules(pool: InterpreterPool | None = None) -> list[HostModule]:
    """One of each host module; TFLite interpreters come from ``pool`` (shared by default)."""
    return [TensorFlowLiteHost(pool), ImageHost(), TensorFlowHost()]

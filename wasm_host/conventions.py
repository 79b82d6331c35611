"""Which calling convention a module follows, read off its imports and exports.

- :attr:`Convention.YOMO`: YoMo's wasm stream-function ABI (imports ``env.yomo_*``, exports
  ``yomo_handler``): a whole stream function, driven by :class:`wasm_host.YomoCaller` or
  :class:`wasm_host.YomoFunction`.
- :attr:`Convention.WASMEDGE_BINDGEN`: the ``wasmedge-bindgen`` crates (exports
  ``allocate`` / ``deallocate``), driven by :class:`wasm_host.WasmedgeBindgenCaller`.
- :attr:`Convention.WASM_BINDGEN`: wasm-bindgen as WasmEdge's ``ExecuteBindgen`` drives it
  (exports ``__wbindgen_malloc``), driven by :class:`wasm_host.BindgenCaller`.

The two bindgen conventions map one export call to one answer, and :class:`WasmFunction`
runs either. WASI-NN is no calling convention but a host module (``wasi_ephemeral_nn``)
that a module of any of them may import.
"""

from __future__ import annotations

from enum import Enum

from .bindgen import BindgenAbi
from .engine import CompiledModule
from .errors import BindgenError, ConventionError
from .wasmedge_bindgen import WasmedgeBindgenAbi
from .yomo_abi import YomoAbi

__all__ = ["Convention", "describe_convention", "detect_convention"]


class Convention(str, Enum):
    """A calling convention of WebAssembly functions."""

    YOMO = "yomo"
    WASMEDGE_BINDGEN = "wasmedge-bindgen"
    WASM_BINDGEN = "wasm-bindgen"


def detect_convention(module: CompiledModule) -> Convention:
    """The convention ``module`` follows; :class:`ConventionError` naming what is missing
    when it follows none."""
    reasons = []
    for convention, detect in (
        (Convention.YOMO, YomoAbi.detect),
        (Convention.WASMEDGE_BINDGEN, WasmedgeBindgenAbi.detect),
        (Convention.WASM_BINDGEN, BindgenAbi.detect),
    ):
        try:
            detect(module)
        except (ConventionError, BindgenError) as exc:
            reasons.append(f"{convention.value}: {exc}")
            continue
        return convention
    raise ConventionError("no known calling convention (" + "; ".join(reasons) + ")")


def describe_convention(module: CompiledModule) -> str:
    """One line naming the convention and its details, for ``inspect``."""
    convention = detect_convention(module)
    if convention is Convention.YOMO:
        return YomoAbi.detect(module).describe()
    if convention is Convention.WASMEDGE_BINDGEN:
        abi = WasmedgeBindgenAbi.detect(module)
        return f"wasmedge-bindgen, results by {abi.form.value}: {', '.join(abi.functions)}"
    return "wasm-bindgen"

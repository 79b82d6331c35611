"""Hosts WebAssembly stream functions with WasmEdge-compatible host functions.

A Rust function such as ``#[wasm_bindgen] pub fn infer(image_data: &[u8]) -> String`` that
classifies images through WasmEdge's TensorFlow-Lite and image extensions runs unmodified::

    from wasm_host import WasiConfig, WasmFunction

    infer = WasmFunction("guest.wasm", "infer", text=True,
                         wasi=WasiConfig(preopens={"/model": "models/"}))
    print(infer(open("cat.jpg", "rb").read()))

Modules of YoMo's stream-function ABI (:class:`YomoFunction`), of wasmedge-bindgen
(:class:`WasmedgeBindgenCaller`, and :class:`WasmFunction` for one export) and WASI-NN guests
(:class:`WasiNnHost`) run too; :func:`detect_convention` tells which a module follows.

Engines: wasmtime (default; fuel, deadlines and memory limits for untrusted code) and
wasmer with cranelift (Python 3.10 only), behind one interface (:mod:`wasm_host.engine`).
"""

from __future__ import annotations

from _rxyomo_extras import needs_extra

# Without the 'wasm' extra (numpy, Pillow, wasmtime) ``python -m wasm_host`` says which extra
# to install instead of a traceback; an importer gets the same words as an ImportError.
with needs_extra("wasm", "wasm_host", __name__):
    from .bindgen import BindgenAbi, BindgenCaller, CallPlan, ReturnKind, SliceForm
    from .cache import ModuleCache, default_cache_dir, load_module
    from .conventions import Convention, describe_convention, detect_convention
    from .engine import (
        CompiledModule,
        Engine,
        ExportSpec,
        ExternKind,
        FuncType,
        GuestMemory,
        HostFunction,
        ImportSpec,
        Limits,
        ValType,
        WasiConfig,
        WasmInstance,
    )
    from .engines import available_engines, get_engine
    from .errors import (
        BindgenError,
        ConfigurationError,
        ConventionError,
        EngineUnavailable,
        GuestError,
        LinkError,
        ModuleError,
        TrapCause,
        UnsupportedLimit,
        WasmHostError,
        WasmTrap,
    )
    from .function import FunctionStats, WasmFunction, YomoFunction
    from .host import (
        HostContext,
        HostModule,
        ImageHost,
        InterpreterPool,
        NnErrno,
        TensorFlowHost,
        TensorFlowLiteHost,
        TensorTypes,
        WasiNnHost,
        default_host_modules,
    )
    from .host.yomo import Answer, YomoHost
    from .linker import LinkedInstance, instantiate
    from .rx import WasmOutcome, wasm_map
    from .wasmedge_bindgen import (
        ResultType,
        WasmedgeBindgenAbi,
        WasmedgeBindgenCaller,
        WasmedgeBindgenForm,
    )
    from .yomo_abi import YomoAbi, YomoCaller, YomoGeneration

__all__ = [
    "Answer",
    "BindgenAbi",
    "BindgenCaller",
    "BindgenError",
    "CallPlan",
    "CompiledModule",
    "ConfigurationError",
    "Convention",
    "ConventionError",
    "Engine",
    "EngineUnavailable",
    "ExportSpec",
    "ExternKind",
    "FuncType",
    "FunctionStats",
    "GuestError",
    "GuestMemory",
    "HostContext",
    "HostFunction",
    "HostModule",
    "ImageHost",
    "ImportSpec",
    "InterpreterPool",
    "Limits",
    "LinkError",
    "LinkedInstance",
    "ModuleCache",
    "ModuleError",
    "NnErrno",
    "ResultType",
    "ReturnKind",
    "SliceForm",
    "TensorFlowHost",
    "TensorFlowLiteHost",
    "TensorTypes",
    "TrapCause",
    "UnsupportedLimit",
    "ValType",
    "WasiConfig",
    "WasiNnHost",
    "WasmFunction",
    "WasmHostError",
    "WasmInstance",
    "WasmOutcome",
    "WasmTrap",
    "WasmedgeBindgenAbi",
    "WasmedgeBindgenCaller",
    "WasmedgeBindgenForm",
    "YomoAbi",
    "YomoCaller",
    "YomoFunction",
    "YomoGeneration",
    "YomoHost",
    "available_engines",
    "default_cache_dir",
    "default_host_modules",
    "describe_convention",
    "detect_convention",
    "get_engine",
    "instantiate",
    "load_module",
    "wasm_map",
]

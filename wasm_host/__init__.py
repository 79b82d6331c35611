"""Hosts WebAssembly stream functions with WasmEdge-compatible host functions.

A Rust function such as ``#[wasm_bindgen] pub fn infer(image_data: &[u8]) -> String`` that
classifies images through WasmEdge's TensorFlow-Lite and image extensions runs unmodified::

    from wasm_host import WasiConfig, WasmFunction

    infer = WasmFunction("guest.wasm", "infer", text=True,
                         wasi=WasiConfig(preopens={"/model": "models/"}))
    print(infer(open("cat.jpg", "rb").read()))

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
        EngineUnavailable,
        LinkError,
        ModuleError,
        TrapCause,
        UnsupportedLimit,
        WasmHostError,
        WasmTrap,
    )
    from .function import FunctionStats, WasmFunction
    from .host import (
        HostContext,
        HostModule,
        ImageHost,
        InterpreterPool,
        TensorFlowHost,
        TensorFlowLiteHost,
        default_host_modules,
    )
    from .linker import LinkedInstance, instantiate
    from .rx import WasmOutcome, wasm_map

__all__ = [
    "BindgenAbi",
    "BindgenCaller",
    "BindgenError",
    "CallPlan",
    "CompiledModule",
    "ConfigurationError",
    "Engine",
    "EngineUnavailable",
    "ExportSpec",
    "ExternKind",
    "FuncType",
    "FunctionStats",
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
    "ReturnKind",
    "SliceForm",
    "TensorFlowHost",
    "TensorFlowLiteHost",
    "TrapCause",
    "UnsupportedLimit",
    "ValType",
    "WasiConfig",
    "WasmFunction",
    "WasmHostError",
    "WasmInstance",
    "WasmOutcome",
    "WasmTrap",
    "available_engines",
    "default_cache_dir",
    "default_host_modules",
    "get_engine",
    "instantiate",
    "load_module",
    "wasm_map",
]

"""What every served WebAssembly convention shares: detection, limits, host modules, and
how wasm_host's errors become load refusals and call faults.

A module follows one of three conventions, told apart by its imports and exports
(``wasm_host.detect_convention``): YoMo's stream-function ABI (served by
:mod:`rxyomo.functions.yomo_version`), wasmedge-bindgen
(:mod:`rxyomo.functions.wasmedge_version`) or wasm-bindgen
(:mod:`rxyomo.functions.wasm_version`). Each is loaded into a
:class:`~rxyomo.functions.version.FunctionVersion`, so that the runner's limits, stats,
quarantine, versions and hot reload are the same for all. Any of them may import WASI-NN
(``wasi_ephemeral_nn``), which every instance is given, with the function's preloaded
models.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from rxyomo.functions.frames import HANDLER_ERROR, INSTANCE_FAILED, Fault
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import LoadError
from wasm_host import (
    CompiledModule,
    ConfigurationError,
    Convention,
    ConventionError,
    ExternKind,
    GuestError,
    HostModule,
    ImageHost,
    Limits,
    LinkError,
    TensorFlowHost,
    TensorFlowLiteHost,
    WasiConfig,
    WasiNnHost,
    WasmedgeBindgenAbi,
    WasmedgeBindgenForm,
    WasmHostError,
    WasmTrap,
    YomoAbi,
    detect_convention,
)

__all__ = [
    "call_fault",
    "convention_of",
    "describe_convention",
    "find_export",
    "host_modules",
    "starting",
    "wasi_config",
    "wasm_limits",
]

#: Exports that are the convention's machinery, not functions to serve.
_MACHINERY = ("__wbindgen", "_initialize", "__heap_base", "__data_end", "allocate", "deallocate")


def wasm_limits(config: FunctionConfig) -> Limits:
    """The function's limits as the engine takes them."""
    return Limits(
        fuel=config.limits.fuel,
        timeout=config.limits.timeout,
        max_memory=config.limits.memory,
    )


def wasi_config(config: FunctionConfig) -> WasiConfig:
    """The guest's environment and preopened folders."""
    return WasiConfig(
        env=dict(config.env),
        preopens={guest: str(host) for guest, host in config.dirs.items()},
        program_name=config.name,
    )


def host_modules(config: FunctionConfig) -> list[HostModule]:
    """WasmEdge's host modules and WASI-NN, with the function's preloaded models; one
    list for every instance of a version (each instance binds state of its own)."""
    models = {name: str(path) for name, path in config.nn_preload.items()}
    return [TensorFlowLiteHost(), ImageHost(), TensorFlowHost(), WasiNnHost(models)]


def convention_of(config: FunctionConfig, module: CompiledModule) -> Convention:
    """The convention ``module`` follows; :class:`LoadError` saying what each lacks when
    it follows none."""
    try:
        return detect_convention(module)
    except ConventionError as exc:
        raise LoadError(config.name, f"the module follows {exc}") from exc


def describe_convention(convention: Convention, module: CompiledModule) -> str:
    """The convention in words, for ``rxyomo run`` and the logs."""
    if convention is Convention.YOMO:
        generation = YomoAbi.detect(module).generation.value
        words = f"a YoMo stream function ({generation} generation)"
    elif convention is Convention.WASMEDGE_BINDGEN:
        form = WasmedgeBindgenAbi.detect(module).form
        if form is WasmedgeBindgenForm.IMPORTS:
            words = "a wasmedge-bindgen export (0.1: results through return_result)"
        else:
            words = "a wasmedge-bindgen export (results in a returned record)"
    else:
        words = "a wasm-bindgen export"
    if module.imports_module(WasiNnHost.name):
        words += ", on WASI-NN"
    return words


def find_export(config: FunctionConfig, module: CompiledModule, callable_: Sequence[str]) -> str:
    """The configured export, checked to be one of ``callable_`` (the functions the
    convention can call); :class:`LoadError` naming what the module has instead."""
    name, export = config.name, config.export
    if export is None:
        raise LoadError(name, "a WebAssembly function needs the export to call (infer)")
    functions = sorted(
        e.name
        for e in module.exports
        if e.kind is ExternKind.FUNC and not e.name.startswith(_MACHINERY)
    )
    found = module.export(export)
    if found is None:
        listed = ", ".join(functions) or "none"
        raise LoadError(name, f"the module lacks the export {export!r} (its functions: {listed})")
    if found.kind is not ExternKind.FUNC or found.type is None:
        raise LoadError(name, f"the export {export!r} is a {found.kind.value}, not a function")
    if export not in callable_:
        listed = ", ".join(sorted(callable_)) or "none"
        raise LoadError(
            name,
            f"the export {export!r} has the wrong signature {found.type} for the "
            f"convention (its functions that have the right one: {listed})",
        )
    return export


@contextlib.contextmanager
def starting(name: str) -> Iterator[None]:
    """Turns what making a trial instance raises into a :class:`LoadError` for ``name``:
    anything that would fail every frame is refused before the first."""
    try:
        yield
    except LinkError as exc:
        raise LoadError(name, f"the module cannot be linked: {exc}") from exc
    except ConfigurationError as exc:
        raise LoadError(name, str(exc)) from exc
    except WasmTrap as exc:
        raise LoadError(name, f"the module traps as it starts: {exc}") from exc
    except GuestError as exc:
        raise LoadError(name, f"the module failed to start: {exc}") from exc
    except WasmHostError as exc:
        raise LoadError(name, f"the module cannot be instantiated: {exc}") from exc


def call_fault(exc: WasmHostError) -> Fault:
    """The fault a call that raised ``exc`` ends with: a trap keeps its cause (and costs
    the instance); a guest's own error is the handler's, as a Python handler's exception."""
    if isinstance(exc, WasmTrap):
        return Fault(exc.cause.value, exc.detail)
    if isinstance(exc, GuestError):
        return Fault(HANDLER_ERROR, str(exc), costly=False)
    return Fault(INSTANCE_FAILED, str(exc))  # a closed instance, an unexpected calling error

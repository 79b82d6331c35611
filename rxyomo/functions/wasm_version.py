"""A WebAssembly function, loaded by the convention it follows; here, a wasm-bindgen
export called with each frame's payload.

Loading checks everything a call would trip over, so that a bad module is refused at
once, by name, rather than failing on every frame: the bytes must validate and follow a
known convention (YoMo's stream-function ABI and wasmedge-bindgen are served by
:mod:`~rxyomo.functions.yomo_version` and :mod:`~rxyomo.functions.wasmedge_version`), the
export must exist with a signature that takes bytes (and returns bytes when the function
replies), and every import must be provided (WASI, the WasmEdge host modules, WASI-NN). A
trial instance proves the rest (memory within the limit, preopened folders, the start
function).

Each instance lives in a store of its own with the function's limits; a call that traps
or runs over a limit discards it, and the next call gets a fresh one.
"""

from __future__ import annotations

from rxyomo.functions.conventions import (
    call_fault,
    convention_of,
    describe_convention,
    host_modules,
    starting,
    wasi_config,
    wasm_limits,
)
from rxyomo.functions.frames import BAD_ANSWER, INSTANCE_FAILED, Answer, Fault, Frame
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import FunctionVersion, Instance, LoadError
from rxyomo.functions.wasmedge_version import load_wasmedge_bindgen
from rxyomo.functions.yomo_version import load_yomo
from wasm_host import (
    BindgenAbi,
    BindgenCaller,
    BindgenError,
    CompiledModule,
    Convention,
    ExternKind,
    HostModule,
    Limits,
    LinkedInstance,
    ModuleError,
    ReturnKind,
    WasiConfig,
    WasmHostError,
    get_engine,
    instantiate,
    load_module,
)
from wasm_host.bindgen import CallPlan, plan_call

__all__ = ["WasmInstance", "WasmVersion", "load_wasm"]


def load_wasm(config: FunctionConfig, data: bytes) -> FunctionVersion:
    """The checked version of ``config``'s module from its bytes ``data``, for the
    convention the module follows; raises :class:`LoadError` saying what is wrong."""
    name = config.name
    limits = wasm_limits(config)
    try:
        engine = get_engine(fuel=limits.fuel is not None)
    except WasmHostError as exc:
        raise LoadError(name, f"no WebAssembly engine: {exc}") from exc
    if limits.interrupts and not engine.supports_interruption:
        raise LoadError(
            name,
            f"the {engine.name} engine cannot enforce timeout_ms or fuel; use wasmtime",
        )
    try:
        module = load_module(engine, data)
    except ModuleError as exc:
        raise LoadError(name, f"the module does not validate: {exc}") from exc
    convention = convention_of(config, module)
    wasi, hosts = wasi_config(config), host_modules(config)
    if convention is Convention.YOMO:
        return load_yomo(config, module, wasi, limits, hosts)
    if convention is Convention.WASMEDGE_BINDGEN:
        return load_wasmedge_bindgen(config, module, wasi, limits, hosts)
    plan = _check_export(config, module)
    version = WasmVersion(config, module, plan, wasi, limits, hosts)
    version.trial()
    return version


def _check_export(config: FunctionConfig, module: CompiledModule) -> CallPlan:
    name, export = config.name, config.export
    if export is None:
        raise LoadError(name, "a WebAssembly function needs the export to call (infer)")
    found = module.export(export)
    if found is None:
        exported = sorted(
            e.name
            for e in module.exports
            if e.kind is ExternKind.FUNC and not e.name.startswith(("__wbindgen", "_initialize"))
        )
        listed = ", ".join(exported) or "none"
        raise LoadError(name, f"the module lacks the export {export!r} (its functions: {listed})")
    if found.kind is not ExternKind.FUNC or found.type is None:
        raise LoadError(name, f"the export {export!r} is a {found.kind.value}, not a function")
    try:
        abi = BindgenAbi.detect(module)
    except BindgenError as exc:
        raise LoadError(name, f"{exc}; a served export takes its payload as bytes") from exc
    try:
        plan = plan_call(abi, export, found.type, [True])
    except BindgenError as exc:
        raise LoadError(
            name, f"the export {export!r} has the wrong signature {found.type}: {exc}"
        ) from exc
    if config.reply is not None and plan.returns is not ReturnKind.ARRAY:
        raise LoadError(
            name,
            f"the export {export!r} returns {plan.returns.value}, but a function with a "
            "reply tag must return bytes (a String or Vec<u8>)",
        )
    return plan


class WasmVersion(FunctionVersion):
    """A compiled, checked module and how its export is called."""

    def __init__(
        self,
        config: FunctionConfig,
        module: CompiledModule,
        plan: CallPlan,
        wasi: WasiConfig,
        limits: Limits,
        host_modules: list[HostModule],
    ) -> None:
        super().__init__(config, module.digest, config.observe)
        self.convention = describe_convention(Convention.WASM_BINDGEN, module)
        self.module = module
        self.plan = plan
        self.wasi = wasi
        self.limits = limits
        self.host_modules = host_modules

    def trial(self) -> None:
        """Makes one instance and drops it: raises :class:`LoadError` for anything that
        would fail every frame (an unprovided import, memory over the limit, ...)."""
        with starting(self.name):
            linked = self._link()
        linked.close()

    def instantiate(self) -> Instance:
        try:
            return WasmInstance(self, self._link())
        except WasmHostError as exc:
            raise Fault(INSTANCE_FAILED, str(exc)) from exc

    def _link(self) -> LinkedInstance:
        linked = instantiate(
            self.module, wasi=self.wasi, limits=self.limits, host_modules=self.host_modules
        )
        try:
            # Detects the allocator and checks there is a memory, once per instance.
            BindgenCaller(linked.instance)
        except BaseException:
            linked.close()
            raise
        return linked


class WasmInstance(Instance):
    """One store, one instance, one caller."""

    def __init__(self, version: WasmVersion, linked: LinkedInstance) -> None:
        self._linked = linked
        self._caller = BindgenCaller(linked.instance)
        self._export = version.config.export or ""
        self._returns = version.plan.returns
        self._reply = version.config.reply

    def call(self, frame: Frame) -> list[Answer]:
        try:
            result = self._caller.call(self._export, frame.data, returns=self._returns)
        except WasmHostError as exc:
            raise call_fault(exc) from exc
        if self._reply is None:
            return []
        if not isinstance(result, bytes):
            raise Fault(BAD_ANSWER, f"the export returned {type(result).__name__}, not bytes")
        return [Answer(self._reply, result)]

    def memory(self) -> int | None:
        try:
            return self._linked.instance.memory.size()
        except WasmHostError:
            return None

    def close(self) -> None:
        self._linked.close()

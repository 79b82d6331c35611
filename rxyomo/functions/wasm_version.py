"""A WebAssembly function: a wasm-bindgen export called with each frame's payload.

Loading checks everything a call would trip over, so that a bad module is refused at
once, by name, rather than failing on every frame: the bytes must validate, the export
must exist with a signature that takes bytes (and returns bytes when the function
replies), and every import must be provided (WASI, the WasmEdge host modules). A trial
instance proves the rest (memory within the limit, preopened folders, the start function).

Each instance lives in a store of its own with the function's limits; a call that traps
or runs over a limit discards it, and the next call gets a fresh one.
"""

from __future__ import annotations

from rxyomo.functions.frames import BAD_ANSWER, INSTANCE_FAILED, Answer, Fault, Frame
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import FunctionVersion, Instance, LoadError
from wasm_host import (
    BindgenAbi,
    BindgenCaller,
    BindgenError,
    CompiledModule,
    ConfigurationError,
    ExternKind,
    HostModule,
    Limits,
    LinkedInstance,
    LinkError,
    ModuleError,
    ReturnKind,
    WasiConfig,
    WasmHostError,
    WasmTrap,
    default_host_modules,
    get_engine,
    instantiate,
    load_module,
)
from wasm_host.bindgen import CallPlan, plan_call

__all__ = ["WasmInstance", "WasmVersion", "load_wasm"]


def load_wasm(config: FunctionConfig, data: bytes) -> WasmVersion:
    """The checked version of ``config``'s module from its bytes ``data``; raises
    :class:`LoadError` saying what is wrong."""
    name = config.name
    limits = Limits(
        fuel=config.limits.fuel,
        timeout=config.limits.timeout,
        max_memory=config.limits.memory,
    )
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
    plan = _check_export(config, module)
    wasi = WasiConfig(
        env=dict(config.env),
        preopens={guest: str(host) for guest, host in config.dirs.items()},
        program_name=name,
    )
    version = WasmVersion(config, module, plan, wasi, limits, default_host_modules())
    version.trial()
    return version


def _check_export(config: FunctionConfig, module: CompiledModule) -> CallPlan:
    name, export = config.name, config.export
    assert export is not None  # the config requires one for wasm
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
        self.module = module
        self.plan = plan
        self.wasi = wasi
        self.limits = limits
        self.host_modules = host_modules

    def trial(self) -> None:
        """Makes one instance and drops it: raises :class:`LoadError` for anything that
        would fail every frame (an unprovided import, memory over the limit, ...)."""
        try:
            linked = self._link()
        except LinkError as exc:
            raise LoadError(self.name, f"the module cannot be linked: {exc}") from exc
        except ConfigurationError as exc:
            raise LoadError(self.name, str(exc)) from exc
        except WasmTrap as exc:
            raise LoadError(self.name, f"the module traps as it starts: {exc}") from exc
        except WasmHostError as exc:
            raise LoadError(self.name, f"the module cannot be instantiated: {exc}") from exc
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
        except WasmTrap as trap:
            raise Fault(trap.cause.value, trap.detail) from trap
        except WasmHostError as exc:  # a closed instance, an unexpected calling error
            raise Fault(INSTANCE_FAILED, str(exc)) from exc
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

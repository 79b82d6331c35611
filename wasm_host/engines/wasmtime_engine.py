"""The wasmtime engine: the default, and the one for untrusted code.

wasmtime can interrupt a running call (fuel, epoch deadlines) and bound linear memory.
Calls in both directions go through wasmtime's "unchecked" C entry points with signatures
resolved once per export or import, instead of ``Func.__call__``, which rebuilds type
information on every call; ctypes releases the GIL while wasm runs.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import importlib.metadata
import math
import struct
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import wasmtime
from wasmtime import _ffi as ffi

from ..engine import (
    UNSIGNED_MASKS,
    CompiledModule,
    Engine,
    ExportCaller,
    ExportSpec,
    ExternKind,
    FuncType,
    HostFunction,
    ImportSpec,
    Limits,
    ValType,
    WasiConfig,
    WasmInstance,
)
from ..errors import LinkError, ModuleError, TrapCause, UnsupportedLimit, WasmTrap
from ._output import with_last_words
from ._wasmtime_host import CLOSED, StoreState, WasmtimeMemory, host_func
from ._wasmtime_wasi import CapturedStream, wasi_config

__all__ = ["WasmtimeEngine"]

# "No deadline" / "no fuel limit": far beyond any run's length.
_FOREVER_TICKS = 1 << 40
_UNLIMITED_FUEL = 1 << 62
_PAGE = 65536

_call_unchecked = ffi.dll["wasmtime_func_call_unchecked"]
_call_unchecked.restype = ctypes.c_void_p
_call_unchecked.argtypes = [
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
]


def _valtype(valtype: wasmtime.ValType) -> ValType:
    return ValType(str(valtype))


def _functype(ty: wasmtime.FuncType) -> FuncType:
    return FuncType(tuple(map(_valtype, ty.params)), tuple(map(_valtype, ty.results)))


def _kind_and_type(ty: Any) -> tuple[ExternKind, FuncType | None]:
    if isinstance(ty, wasmtime.FuncType):
        return ExternKind.FUNC, _functype(ty)
    if isinstance(ty, wasmtime.MemoryType):
        return ExternKind.MEMORY, None
    if isinstance(ty, wasmtime.TableType):
        return ExternKind.TABLE, None
    return ExternKind.GLOBAL, None


class _WasmtimeModule(CompiledModule):
    def __init__(self, engine: WasmtimeEngine, native: wasmtime.Module, digest: str) -> None:
        imports = [
            ImportSpec(i.module, i.name or "", *_kind_and_type(i.type)) for i in native.imports
        ]
        exports = [ExportSpec(e.name, *_kind_and_type(e.type)) for e in native.exports]
        super().__init__(engine, digest, imports, exports)
        self.native = native
        _LIVE_MODULES.add(self)


class _EpochTicker:
    """Advances an engine's epoch every ``tick`` seconds, from the first deadline on."""

    def __init__(self, engine: wasmtime.Engine, tick: float) -> None:
        self.tick = tick
        self._engine = engine
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="wasmtime-epoch", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            with self._lock:
                if self._stopped:
                    return
                self._engine.increment_epoch()


_LIVE_INSTANCES: weakref.WeakSet[WasmtimeInstance] = weakref.WeakSet()


_LIVE_MODULES: weakref.WeakSet[_WasmtimeModule] = weakref.WeakSet()


@atexit.register
def _close_live_instances() -> None:
    # Freed later, during interpreter teardown, wasmtime-py's finalizers would find their
    # bindings gone; nothing runs wasm after exit handlers.
    for instance in list(_LIVE_INSTANCES):
        instance.close()
    for module in list(_LIVE_MODULES):
        module.native.close()


class WasmtimeInstance(WasmInstance):
    """An instance in its own wasmtime store."""

    def __init__(
        self,
        engine: WasmtimeEngine,
        module: _WasmtimeModule,
        store: wasmtime.Store,
        state: StoreState,
        native: wasmtime.Instance,
        limits: Limits,
        streams: Sequence[CapturedStream],
    ) -> None:
        super().__init__(module, limits)
        self._streams = streams
        self._stderr = streams[1].logger if streams else None
        self._engine = engine
        _LIVE_INSTANCES.add(self)
        self._state = state
        exports = native.exports(store)
        self._exports: dict[str, Any] = {name: exports[name] for name in exports}
        self._memory: WasmtimeMemory | None = None
        for item in self._exports.values():
            if isinstance(item, wasmtime.Memory):
                self._memory = WasmtimeMemory(state, item)
                break
        self._ticks: int | None = None
        if limits.timeout is not None:
            self._ticks = math.ceil(limits.timeout / engine.epoch_tick) + 1

    def begin_call(self) -> None:
        store = self._state.open_store()
        if self._stderr is not None:
            self._stderr.take_first_line()
        if self.limits.fuel is not None:
            store.set_fuel(self.limits.fuel)
        if self._ticks is not None:
            store.set_epoch_deadline(self._ticks)

    def close(self) -> None:
        # Dropping the store now, not whenever the last reference goes: wasmtime's WASI
        # output callbacks must not outlive the interpreter.
        self._drain()
        for stream in self._streams:
            stream.logger.flush()
            stream.close()
        self._streams = ()
        self._exports = {}
        self._memory = None
        self._state.store = None
        self._state.generation += 1  # expire cached memory spans

    def _drain(self) -> None:
        for stream in self._streams:
            stream.drain()

    def end_call(self) -> None:
        self._drain()
        for stream in self._streams:
            stream.logger.flush()
        super().end_call()

    def caller(self, name: str) -> ExportCaller:
        ty = self.module.function_type(name)
        item = self._exports.get(name)
        if ty is None or not isinstance(item, wasmtime.Func):
            raise LinkError(f"the module exports no function {name!r}")
        if any(v not in _RAW_FIELDS for v in ty.params + ty.results):
            raise LinkError(f"{name} has type {ty}, which this host cannot call")
        # Everything the C call needs is resolved now, as plain addresses, and arguments and
        # results go through one precompiled struct each: per call that is one pack, one C
        # call and one unpack (measured.md: Func.__call__ rebuilds type information instead).
        size = max(len(ty.params), len(ty.results), 1)
        raw = (ffi.wasmtime_val_raw_t * size)()
        view = memoryview((ctypes.c_ubyte * ctypes.sizeof(raw)).from_buffer(raw))
        pack = struct.Struct("<" + "".join(_PACK[p] for p in ty.params)).pack_into
        unpack = struct.Struct("<" + "".join(_UNPACK[r] for r in ty.results)).unpack_from
        results = len(ty.results)
        trap = ctypes.c_void_p()
        call_c = functools.partial(
            _call_unchecked,
            ctypes.cast(self._state.store_context, ctypes.c_void_p).value,
            ctypes.addressof(item._func),
            ctypes.addressof(raw),
            size,
            ctypes.addressof(trap),
        )
        fail = self._failure
        state = self._state
        params = ty.params

        def call(*args: Any) -> Any:
            if state.store is None:  # open_store() inline: this is the per-call path
                raise LinkError(CLOSED)
            try:
                pack(view, 0, *args)
            except struct.error:
                pack(view, 0, *_wrapped(name, params, args))
            state.generation += 1
            error = call_c()
            if error or trap.value:
                trapped, trap.value = trap.value, None
                raise fail(error, trapped)
            if results == 0:
                return None
            if results == 1:
                return unpack(view)[0]
            return unpack(view)

        call.keep_alive = (raw, item)  # type: ignore[attr-defined]
        return call

    def _failure(self, error: Any, trap: Any) -> WasmTrap:
        self._drain()
        pending, self._state.pending = self._state.pending, None
        if pending is not None:
            return WasmTrap.from_host_error(pending)
        if error:
            error = ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t))
            status = ctypes.c_int()
            if ffi.wasmtime_error_exit_status(error, ctypes.byref(status)):
                ffi.wasmtime_error_delete(error)
                return WasmTrap(
                    TrapCause.GUEST_TRAP, f"the guest exited with status {status.value}"
                )
            return WasmTrap(TrapCause.GUEST_TRAP, str(wasmtime.WasmtimeError._from_ptr(error)))
        native = wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(ffi.wasm_trap_t)))
        code = native.trap_code
        message = _trap_summary(native.message)
        if code is wasmtime.TrapCode.OUT_OF_FUEL:
            return WasmTrap(TrapCause.OUT_OF_FUEL, f"used all {self.limits.fuel} units of fuel")
        if code is wasmtime.TrapCode.INTERRUPT:
            return WasmTrap(TrapCause.DEADLINE, f"ran longer than {self.limits.timeout} s")
        limit = self.limits.max_memory
        if limit is not None and self._memory is not None and self._memory.size() + _PAGE > limit:
            # memory.grow returned -1 at the limit and the guest gave up.
            return WasmTrap(
                TrapCause.MEMORY_LIMIT, f"{message} with memory at its {limit}-byte limit"
            )
        return WasmTrap(TrapCause.GUEST_TRAP, with_last_words(message, self._stderr))


def _trap_summary(message: str) -> str:
    """The trap's own words: wasmtime puts them last, after the backtrace."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1].removeprefix("wasm trap: ") if lines else "trap"


_RAW_FIELDS = {ValType.I32: "i32", ValType.I64: "i64", ValType.F32: "f32", ValType.F64: "f64"}
# wasmtime_val_raw_t is 16 bytes, the value little-endian at its start.
_PACK = {ValType.I32: "I12x", ValType.I64: "Q8x", ValType.F32: "f12x", ValType.F64: "d8x"}
_UNPACK = {ValType.I32: "i12x", ValType.I64: "q8x", ValType.F32: "f12x", ValType.F64: "d8x"}


def _wrapped(name: str, params: tuple[ValType, ...], args: tuple[Any, ...]) -> list[Any]:
    """Arguments as the unsigned bit patterns the struct wants (negative ints wrap)."""
    if len(args) != len(params):
        raise TypeError(f"{name} takes {len(params)} arguments, not {len(args)}")
    out: list[Any] = []
    for value, kind in zip(args, params, strict=True):
        mask = UNSIGNED_MASKS.get(kind)
        if mask is not None:
            if not isinstance(value, int):
                raise TypeError(f"{name} takes integers, not {type(value).__name__}")
            value &= mask
        out.append(value)
    return out


@dataclass
class WasmtimeEngine(Engine):
    """wasmtime with epoch interruption always on, and fuel metering when ``fuel`` is set
    (it costs speed, so it is an engine-wide choice)."""

    fuel: bool = False
    epoch_tick: float = 0.01
    name: ClassVar[str] = "wasmtime"
    supports_interruption: ClassVar[bool] = True
    _native: wasmtime.Engine = field(init=False, repr=False)
    _ticker: _EpochTicker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.consume_fuel = self.fuel
        self._native = wasmtime.Engine(config)
        self._ticker = _EpochTicker(self._native, self.epoch_tick)

    @property
    def version(self) -> str:
        return importlib.metadata.version("wasmtime")

    def close(self) -> None:
        self._ticker.stop()
        self._native.close()

    @property
    def fingerprint(self) -> str:
        return f"{self.name}-{self.version}-epoch{'-fuel' if self.fuel else ''}"

    def wat_to_wasm(self, text: str) -> bytes:
        try:
            return bytes(wasmtime.wat2wasm(text))
        except wasmtime.WasmtimeError as exc:
            raise ModuleError(f"invalid WebAssembly text: {exc}") from exc

    def compile(self, wasm: bytes, digest: str) -> CompiledModule:
        try:
            return _WasmtimeModule(self, wasmtime.Module(self._native, wasm), digest)
        except wasmtime.WasmtimeError as exc:
            raise ModuleError(f"invalid WebAssembly module: {exc}") from exc

    def serialize(self, module: CompiledModule) -> bytes:
        assert isinstance(module, _WasmtimeModule)
        return bytes(module.native.serialize())

    def deserialize(self, data: bytes, digest: str) -> CompiledModule:
        try:
            return _WasmtimeModule(self, wasmtime.Module.deserialize(self._native, data), digest)
        except wasmtime.WasmtimeError as exc:
            raise ModuleError(f"cannot load compiled module: {exc}") from exc

    def instantiate(
        self,
        module: CompiledModule,
        functions: Sequence[HostFunction],
        wasi: WasiConfig | None,
        limits: Limits,
    ) -> WasmInstance:
        assert isinstance(module, _WasmtimeModule)
        if limits.fuel is not None and not self.fuel:
            raise UnsupportedLimit("a fuel limit needs WasmtimeEngine(fuel=True)")
        store = wasmtime.Store(self._native)
        context = store._context()
        state = StoreState(store=store, context=context, store_context=context)
        store.set_epoch_deadline(_FOREVER_TICKS)
        if self.fuel:
            store.set_fuel(_UNLIMITED_FUEL)
        if limits.max_memory is not None:
            store.set_limits(memory_size=limits.max_memory)
        if limits.timeout is not None:
            self._ticker.ensure_running()
        linker = wasmtime.Linker(self._native)
        streams: list[CapturedStream] = []
        if wasi is not None:
            store.set_wasi(wasi_config(wasi, streams))
            linker.define_wasi()
        for function in functions:
            linker.define(store, function.module, function.name, host_func(store, state, function))
        try:
            native = linker.instantiate(store, module.native)
        except wasmtime.Trap as exc:
            raise WasmTrap(TrapCause.GUEST_TRAP, f"start function trapped: {exc.message}") from exc
        except wasmtime.WasmtimeError as exc:
            raise LinkError(f"cannot instantiate: {exc}") from exc
        return WasmtimeInstance(self, module, store, state, native, limits, streams)

"""Host functions and guest memory over one wasmtime store.

Host functions are registered with ``wasmtime_func_new_unchecked``: one C trampoline reads
the raw arguments with readers chosen once per signature, instead of wasmtime-py's generic
``Func`` trampoline, which converts every value through ``Val``.
"""

from __future__ import annotations

import ctypes
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from ..engine import U32_MASK, U64_MASK, FuncType, GuestMemory, HostFunction, ValType
from ..errors import LinkError

__all__ = ["CLOSED", "StoreState", "WasmtimeMemory", "host_func"]

#: What a call on a closed instance is told.
CLOSED = "the instance is closed"

# A fresh ctypes function object, so its restype can differ from wasmtime-py's copy.
_memory_data = ffi.dll["wasmtime_memory_data"]
_memory_data.restype = ctypes.c_void_p
_memory_data.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_memory_data_size = ffi.dll["wasmtime_memory_data_size"]
_memory_data_size.restype = ctypes.c_size_t
_memory_data_size.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


@dataclass
class StoreState:
    """One instance's store and what the host-function trampoline shares with it.

    Everything that can touch the store (memory views, export callers) holds this object, so
    the store lives as long as any of them; ``store`` is None once the instance is closed.
    """

    store: wasmtime.Store | None
    context: Any
    store_context: Any
    pending: BaseException | None = None
    # Bumped whenever wasm may run (and so grow memory): cached memory spans expire.
    generation: int = 0

    def open_store(self) -> wasmtime.Store:
        """The store; raises :class:`LinkError` once the instance is closed."""
        if self.store is None:
            raise LinkError(CLOSED)
        return self.store


@dataclass
class _HostEntry:
    call: Callable[..., Any]
    readers: tuple[Callable[[Any], Any], ...]
    result: ValType | None
    # Weak: the store owns this entry (its finalizer removes it), not the other way round.
    state_ref: weakref.ref[StoreState]


_HOST_FUNCTIONS: dict[int, _HostEntry] = {}
_host_ids = itertools.count(1)

_READERS: dict[ValType, Callable[[Any], Any]] = {
    ValType.I32: lambda raw: raw.i32 & U32_MASK,
    ValType.I64: lambda raw: raw.i64 & U64_MASK,
    ValType.F32: lambda raw: raw.f32,
    ValType.F64: lambda raw: raw.f64,
}


@ffi.wasmtime_func_unchecked_callback_t  # type: ignore[untyped-decorator]
def _trampoline(env: int, caller: Any, raw: Any, count: int) -> int:
    entry = _HOST_FUNCTIONS[env]
    state = entry.state_ref()
    if state is None:
        message = b"host function called after its instance was closed"
        return ctypes.cast(ffi.wasmtime_trap_new(message, len(message)), ctypes.c_void_p).value or 0
    state.context = ffi.wasmtime_caller_context(caller)
    state.generation += 1
    try:
        result = entry.call(*[read(raw[i]) for i, read in enumerate(entry.readers)])
        kind = entry.result
        if kind is ValType.I32:
            raw[0].i32 = result
        elif kind is ValType.I64:
            raw[0].i64 = result
        elif kind is ValType.F32:
            raw[0].f32 = result
        elif kind is ValType.F64:
            raw[0].f64 = result
        return 0
    except BaseException as exc:  # re-raised by the caller of the export
        state.pending = exc
        message = f"host function failed: {exc}".encode()
        trap = ffi.wasmtime_trap_new(message, len(message))
        return ctypes.cast(trap, ctypes.c_void_p).value or 0
    finally:
        state.context = state.store_context


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # type: ignore[untyped-decorator]
def _finalize(env: int) -> None:
    _HOST_FUNCTIONS.pop(env, None)


class WasmtimeMemory(GuestMemory):
    def __init__(self, state: StoreState, memory: wasmtime.Memory) -> None:
        self._state = state
        self._memory = ctypes.addressof(memory._memory)
        self._keep = memory
        self._generation = -1
        self._span = (0, 0)

    def span(self) -> tuple[int, int]:
        state = self._state
        if state.generation == self._generation:
            return self._span
        state.open_store()
        context = state.context
        base = _memory_data(context, self._memory) or 0
        self._span = (base, _memory_data_size(context, self._memory))
        self._generation = state.generation
        return self._span


def _wasmtime_functype(ty: FuncType) -> wasmtime.FuncType:
    make = {
        ValType.I32: wasmtime.ValType.i32,
        ValType.I64: wasmtime.ValType.i64,
        ValType.F32: wasmtime.ValType.f32,
        ValType.F64: wasmtime.ValType.f64,
    }
    return wasmtime.FuncType([make[p]() for p in ty.params], [make[r]() for r in ty.results])


def host_func(store: wasmtime.Store, state: StoreState, function: HostFunction) -> wasmtime.Func:
    ty = function.type
    results = ty.results
    if len(results) > 1 or any(p not in _READERS for p in ty.params + results):
        raise LinkError(f"host function {function.module}.{function.name} has type {ty}")
    env = next(_host_ids)
    _HOST_FUNCTIONS[env] = _HostEntry(
        function.call,
        tuple(_READERS[p] for p in ty.params),
        results[0] if results else None,
        weakref.ref(state),
    )
    raw = ffi.wasmtime_func_t()
    native_type = _wasmtime_functype(ty)
    ffi.wasmtime_func_new_unchecked(
        store._context(), native_type.ptr(), _trampoline, env, _finalize, ctypes.byref(raw)
    )
    return wasmtime.Func._from_raw(raw)

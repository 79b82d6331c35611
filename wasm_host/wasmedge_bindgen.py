"""wasmedge-bindgen's calling convention (the ``wasmedge-bindgen`` crates and WasmEdge's
``bindgen.Execute`` host), in both of the forms its macro has generated.

The guest exports ``allocate(size) -> ptr`` and ``deallocate(ptr, size)``. For a call the
host allocates each argument and writes it (a byte vector or string as its bytes, a number
as its little-endian bytes), allocates an array of ``(ptr, count)`` u32 pairs, one per
argument, and calls ``export(pairs_ptr, count)``. The guest owns the arguments afterwards.
Results are ``(data_ptr, type, len)`` i32 triples with the crate's type codes
(:class:`ResultType`), handed back

- by calling the import ``wasmedge-bindgen.return_result(triples_ptr, n)``, or
  ``return_error(msg_ptr, msg_len)`` (the macro of 0.1.x; the export returns nothing), or
- through the export's ``i32`` result: a 9-byte record ``{flag u8, ptr u32, len u32}``,
  ``flag`` 0 for ``n`` triples at ``ptr``, 1 for an error message (0.2 and later).

The macro leaks what it returns (WasmEdge's host never frees it); with ``free_results``
(the default) this caller gives it back through ``deallocate`` once copied, so that a
function called for every frame does not grow its memory without end. Every pointer and
length is bounds-checked, and a result record that makes no sense traps the call.
"""

from __future__ import annotations

import contextlib
import struct
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from .engine import (
    U32_MASK,
    CompiledModule,
    ExternKind,
    FuncType,
    Limits,
    ValType,
    WasiConfig,
    WasmInstance,
)
from .errors import ConventionError, GuestError, TrapCause, WasmTrap
from .host import HostContext, HostModule, default_host_modules
from .linker import LinkedInstance, instantiate
from .wasmedge_values import Argument, Result, ResultType, decode_result, encode_argument

__all__ = [
    "RETURN_MODULE",
    "Recorder",
    "ResultType",
    "WasmedgeBindgenAbi",
    "WasmedgeBindgenCaller",
    "WasmedgeBindgenForm",
]

#: The import module of the 0.1.x macro's result functions.
RETURN_MODULE = "wasmedge-bindgen"
_I32 = ValType.I32
_ALLOCATE = FuncType((_I32,), (_I32,))
_DEALLOCATE = FuncType((_I32, _I32), ())
_RETURN = FuncType((_I32, _I32), ())


class WasmedgeBindgenForm(str, Enum):
    """How the module's exports hand their results back."""

    IMPORTS = "return_result/return_error imports (wasmedge-bindgen 0.1)"
    RETURN_POINTER = "a returned result record (wasmedge-bindgen 0.2 and later)"


@dataclass(frozen=True)
class WasmedgeBindgenAbi:
    """The module's form of the convention, and the exports that follow it."""

    form: WasmedgeBindgenForm
    functions: tuple[str, ...]

    @classmethod
    def detect(cls, module: CompiledModule) -> WasmedgeBindgenAbi:
        """Reads the convention off the module; :class:`ConventionError` if it is not one."""
        if module.function_type("allocate") != _ALLOCATE:
            raise ConventionError("the module exports no allocate(i32) -> i32")
        if module.function_type("deallocate") != _DEALLOCATE:
            raise ConventionError("the module exports no deallocate(i32, i32)")
        imports = module.imports_module(RETURN_MODULE)
        form = WasmedgeBindgenForm.IMPORTS if imports else WasmedgeBindgenForm.RETURN_POINTER
        shape = _RETURN if imports else FuncType((_I32, _I32), (_I32,))
        functions = tuple(
            e.name
            for e in module.exports
            if e.kind is ExternKind.FUNC and e.type == shape and e.name != "deallocate"
        )
        if not functions:
            raise ConventionError(f"no export has the wasmedge-bindgen signature {shape}")
        return cls(form, functions)


class Recorder(HostModule):
    """The ``wasmedge-bindgen`` imports of one instance, and what the guest handed back
    through them during a call: they copy the results out at once (the 0.1 macro points at
    its own stack for numbers)."""

    name = RETURN_MODULE

    def __init__(self) -> None:
        self.results: list[Result] | None = None
        self.error: str | None = None
        # The caller, weakly: the engine keeps host functions as long as the store.
        self.caller: weakref.ref[WasmedgeBindgenCaller] | None = None

    def _live(self) -> WasmedgeBindgenCaller:
        caller = self.caller() if self.caller is not None else None
        if caller is None:
            raise WasmTrap(TrapCause.HOST_ERROR, "no caller drives this instance")
        return caller

    def clear(self) -> None:
        """Forgets the previous call's results."""
        self.results, self.error = None, None

    def signatures(self) -> dict[str, FuncType]:
        return {"return_result": _RETURN, "return_error": _RETURN}

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        return {"return_result": self._return_result, "return_error": self._return_error}

    def _return_result(self, ptr: int, count: int) -> None:
        self.results = self._live()._read_results(ptr, count, False)

    def _return_error(self, ptr: int, length: int) -> None:
        self.error = self._live()._read_error(ptr, length)


class WasmedgeBindgenCaller:
    """Calls a wasmedge-bindgen module's functions with bytes, strings and numbers.

    ``recorder`` is the :class:`Recorder` host module the instance was linked with (unused
    by the 0.2+ form); :meth:`create` instantiates with one. One
    caller belongs to one instance and is not thread-safe; limits are armed once per
    :meth:`call`.
    """

    def __init__(
        self,
        instance: WasmInstance,
        recorder: Recorder | None = None,
        abi: WasmedgeBindgenAbi | None = None,
        *,
        free_results: bool = True,
        max_results: int = 64,
    ) -> None:
        self.instance = instance
        self.abi = abi or WasmedgeBindgenAbi.detect(instance.module)
        self.free_results = free_results
        self.max_results = max_results
        self._memory = instance.memory
        self._allocate = instance.caller("allocate")
        self._deallocate = instance.caller("deallocate")
        self._recorder = recorder if recorder is not None else Recorder()
        self._recorder.caller = weakref.ref(self)
        self._to_free: list[tuple[int, int]] = []
        self.linked: LinkedInstance | None = None
        self._exports: dict[str, Any] = {}
        self._pairs = 0
        self._pair_count = 0

    @classmethod
    def create(
        cls,
        module: CompiledModule,
        *,
        wasi: WasiConfig | None = None,
        limits: Limits | None = None,
        host_modules: Sequence[HostModule] | None = None,
        free_results: bool = True,
    ) -> WasmedgeBindgenCaller:
        """A caller on a new instance of ``module``, linked with the ``wasmedge-bindgen``
        imports and ``host_modules`` (the WasmEdge ones and WASI-NN by default); its
        :attr:`linked` holds the instance and host state to close."""
        abi = WasmedgeBindgenAbi.detect(module)
        recorder = Recorder()
        hosts = list(host_modules) if host_modules is not None else default_host_modules()
        linked = instantiate(module, wasi=wasi, limits=limits, host_modules=[recorder, *hosts])
        try:
            caller = cls(linked.instance, recorder, abi, free_results=free_results)
        except BaseException:
            linked.close()
            raise
        caller.linked = linked
        return caller

    def close(self) -> None:
        """Releases the instance made by :meth:`create`."""
        if self.linked is not None:
            self.linked.close()

    def __del__(self) -> None:
        # An instance made by create() and never closed is released with the caller (see
        # YomoCaller.__del__); one handed in by its owner is the owner's to close.
        with contextlib.suppress(Exception):
            self.close()

    def call(self, export: str, *args: Argument) -> list[Result]:
        """Calls ``export``; returns its results, or raises :class:`GuestError` with the
        message of a guest ``Err``, or :class:`WasmTrap`."""
        if export not in self.abi.functions:
            raise ConventionError(f"{export!r} is not a wasmedge-bindgen function of the module")
        function = self._exports.get(export)
        if function is None:
            function = self._exports[export] = self.instance.caller(export)
        self._check_size(args)
        instance = self.instance
        instance.begin_call()
        try:
            results = self._invoke(function, args)
        except BaseException:
            with contextlib.suppress(Exception):
                instance.end_call()
            raise
        instance.end_call()
        return results

    def call_bytes(self, export: str, payload: bytes | bytearray | memoryview) -> bytes:
        """The first result of ``export(payload)`` as bytes (a string UTF-8 encoded): the
        shape of a function that maps one frame to one answer."""
        results = self.call(export, payload)
        if not results:
            return b""
        first = results[0]
        if isinstance(first, str):
            return first.encode()
        if isinstance(first, np.ndarray):
            return first.tobytes()
        if isinstance(first, bytes):
            return first
        return str(first).encode()

    def _check_size(self, args: Sequence[Argument]) -> None:
        limit = self.instance.limits.max_memory
        if limit is None:
            return
        incoming = sum(len(encode_argument(a)[0]) for a in args)
        if incoming > limit:
            raise WasmTrap(
                TrapCause.MEMORY_LIMIT,
                f"{incoming} bytes of input do not fit the {limit}-byte memory limit",
            )

    def _alloc(self, size: int) -> int:
        return int(self._allocate(size)) & U32_MASK

    def _invoke(self, function: Any, args: Sequence[Argument]) -> list[Result]:
        pairs = self._pair_block(len(args))
        packed = bytearray()
        for arg in args:
            data, count = encode_argument(arg)
            ptr = self._alloc(len(data))
            if data:
                self._memory.write(ptr, data)
            packed += struct.pack("<II", ptr, count)
        if packed:
            self._memory.write(pairs, packed)
        recorder = self._recorder
        recorder.clear()
        self._to_free.clear()
        record = function(pairs, len(args))
        if self.abi.form is WasmedgeBindgenForm.IMPORTS:
            self._free_later()
            if recorder.error is not None:
                raise GuestError(recorder.error)
            if recorder.results is None:
                raise WasmTrap(
                    TrapCause.GUEST_TRAP,
                    "the export returned without return_result or return_error",
                )
            return recorder.results
        at = int(record) & U32_MASK
        flag, ptr, count = struct.unpack("<BII", self._memory.read(at, 9))
        if flag == 1:
            message = self._read_error(ptr, count)
            self._to_free += [(ptr, count), (at, 9)]
            self._free_later()
            raise GuestError(message)
        if flag != 0:
            raise WasmTrap(TrapCause.GUEST_TRAP, f"result record flag {flag} is neither 0 nor 1")
        results = self._read_results(ptr, count, True)
        self._to_free.append((at, 9))
        self._free_later()
        return results

    def _pair_block(self, count: int) -> int:
        """The ``(ptr, count)`` array, allocated once per size and kept (the macro never
        frees it)."""
        if count > self._pair_count:
            self._pairs = self._alloc(8 * max(count, 4))
            self._pair_count = max(count, 4)
        return self._pairs

    def _free_later(self) -> None:
        """Frees what the guest leaked for the results, once the export has returned (not
        from inside its host calls)."""
        leaked, self._to_free = self._to_free, []
        if self.free_results:
            for ptr, size in leaked:
                if size:
                    self._deallocate(ptr, size)

    def _read_error(self, ptr: int, length: int) -> str:
        return self._memory.read(ptr, length).decode("utf-8", "replace")

    def _read_results(self, ptr: int, count: int, owned: bool) -> list[Result]:
        """The ``count`` results at ``ptr``; ``owned`` when the guest leaked them all (0.2+),
        else only the arrays are (0.1.x points at its stack for numbers)."""
        if count > self.max_results:
            raise WasmTrap(TrapCause.OUTPUT_LIMIT, f"{count} results; at most {self.max_results}")
        triples = struct.unpack(f"<{3 * count}I", self._memory.read(ptr, 12 * count))
        results: list[Result] = []
        for index in range(count):
            at, code, length = triples[3 * index : 3 * index + 3]
            data = self._memory.read(at, length)
            results.append(decode_result(index, code, data))
            if owned or code >= ResultType.U8_ARRAY:
                self._to_free.append((at, length))
        if owned:
            self._to_free.append((ptr, 12 * count))
        return results

"""wasm-bindgen's calling convention, as WasmEdge's ``ExecuteBindgen`` drives it.

For an export that returns an array (``String`` or ``Vec<u8>``), one call is:
``ptr = __wbindgen_malloc(len)`` for each byte argument, copy the bytes in, call
``export(retptr, ptr, len, ...)`` with ``retptr = 8``, read the ``(ptr, len)`` pair at
``retptr``, copy the result out and ``__wbindgen_free`` it. The guest owns (and frees) its
inputs. The variants found in the wild are detected from the module's exports and signatures:

- ``__wbindgen_malloc(size, align)`` / ``__wbindgen_free(ptr, size, align)`` (wasm-bindgen
  0.2.87 and later) instead of the one- and two-argument forms;
- slices passed as a pointer to an 8-byte ``{ptr, len}`` struct (one parameter) instead of
  two parameters, which rustc's C ABI does for ``wasm32-wasi``;
- ``i32``, ``i64`` and void returns, several byte arguments, integer arguments;
- ``__wbindgen_add_to_stack_pointer`` (output of the wasm-bindgen CLI) reserves the return
  slot on the shadow stack instead of using address 8;
- a reactor module's ``_initialize`` runs once before the first call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .engine import U32_MASK, CompiledModule, ExportCaller, FuncType, ValType, WasmInstance
from .errors import BindgenError, TrapCause, WasmTrap

__all__ = ["BindgenAbi", "BindgenArg", "BindgenCaller", "CallPlan", "ReturnKind", "SliceForm"]

BindgenArg = bytes | bytearray | memoryview | str | int | float

#: Where WasmEdge's ExecuteBindgen asks the guest to write its ``(ptr, len)`` result.
RETURN_POINTER = 8


class ReturnKind(str, Enum):
    """What an export returns (WasmEdge's ``Bindgen_return_*``)."""

    ARRAY = "array"
    I32 = "i32"
    I64 = "i64"
    VOID = "void"


class SliceForm(str, Enum):
    """How a byte argument is passed."""

    SPLIT = "ptr, len"
    STRUCT = "pointer to {ptr, len}"


@dataclass(frozen=True)
class BindgenAbi:
    """The module-wide facts of its wasm-bindgen ABI."""

    malloc_takes_align: bool
    free_takes_align: bool
    stack_pointer: bool
    initializer: bool
    wasi: bool

    @classmethod
    def detect(cls, module: CompiledModule) -> BindgenAbi:
        """Reads the ABI off the module's exports; :class:`BindgenError` if it has none."""
        malloc = module.function_type("__wbindgen_malloc")
        free = module.function_type("__wbindgen_free")
        if malloc is None or free is None:
            raise BindgenError(
                "the module exports no __wbindgen_malloc/__wbindgen_free: not a wasm-bindgen module"
            )
        if len(malloc.params) not in (1, 2) or malloc.results != (ValType.I32,):
            raise BindgenError(f"unexpected __wbindgen_malloc type {malloc}")
        if len(free.params) not in (2, 3) or free.results:
            raise BindgenError(f"unexpected __wbindgen_free type {free}")
        stack = module.function_type("__wbindgen_add_to_stack_pointer")
        return cls(
            malloc_takes_align=len(malloc.params) == 2,
            free_takes_align=len(free.params) == 3,
            stack_pointer=stack == FuncType((ValType.I32,), (ValType.I32,)),
            initializer=module.function_type("_initialize") == FuncType((), ()),
            wasi=module.imports_module("wasi_snapshot_preview1")
            or module.imports_module("wasi_unstable"),
        )


@dataclass(frozen=True)
class CallPlan:
    """How one export is called with one shape of arguments."""

    returns: ReturnKind
    slices: SliceForm
    params: tuple[ValType, ...]


def _expected(kinds: Sequence[bool], returns: ReturnKind, form: SliceForm) -> int:
    byte_args = sum(kinds)
    per_slice = 2 if form is SliceForm.SPLIT else 1
    return (returns is ReturnKind.ARRAY) + per_slice * byte_args + (len(kinds) - byte_args)


def plan_call(
    abi: BindgenAbi,
    name: str,
    ty: FuncType,
    kinds: Sequence[bool],
    returns: ReturnKind | None = None,
) -> CallPlan:
    """Chooses the convention for calling ``name`` with arguments whose kinds are
    ``kinds`` (True for bytes). Raises :class:`BindgenError` if nothing fits."""
    if ty.results == (ValType.I32,):
        kinds_by_result = [ReturnKind.I32]
    elif ty.results == (ValType.I64,):
        kinds_by_result = [ReturnKind.I64]
    elif not ty.results:
        kinds_by_result = [ReturnKind.ARRAY, ReturnKind.VOID]
    else:
        raise BindgenError(f"{name} returns {ty}, which no bindgen return kind matches")
    candidates = [returns] if returns is not None else kinds_by_result
    # rustc passes slices by pointer only with the C ABI of wasm32-wasi.
    forms = [SliceForm.STRUCT, SliceForm.SPLIT] if abi.wasi else [SliceForm.SPLIT]
    for kind in candidates:
        if kind not in kinds_by_result:
            break
        for form in forms:
            if _expected(kinds, kind, form) == len(ty.params) and _fits(ty, kinds, kind, form):
                return CallPlan(kind, form, ty.params)
    described = ", ".join("bytes" if k else "number" for k in kinds) or "no arguments"
    wanted = f" returning {returns.value}" if returns is not None else ""
    raise BindgenError(f"cannot call {name} {ty}{wanted} with {described}")


def _fits(ty: FuncType, kinds: Sequence[bool], returns: ReturnKind, form: SliceForm) -> bool:
    params = list(ty.params)
    if returns is ReturnKind.ARRAY and params.pop(0) is not ValType.I32:
        return False
    for is_bytes in kinds:
        width = 2 if is_bytes and form is SliceForm.SPLIT else 1
        taken, params = params[:width], params[width:]
        if is_bytes and any(p is not ValType.I32 for p in taken):
            return False
        if not is_bytes and taken[0] not in (ValType.I32, ValType.I64, ValType.F32, ValType.F64):
            return False
    return True


class BindgenCaller:
    """Calls a wasm-bindgen module's exports with bytes, strings and numbers.

    One caller belongs to one instance and is not thread-safe; limits are armed once per
    :meth:`call`, which counts as one item.
    """

    def __init__(self, instance: WasmInstance, abi: BindgenAbi | None = None) -> None:
        self.instance = instance
        self.abi = abi or BindgenAbi.detect(instance.module)
        self._memory = instance.memory
        malloc = instance.caller("__wbindgen_malloc")
        free = instance.caller("__wbindgen_free")
        # The allocator's two signatures (with and without alignment), chosen once; the
        # address comes back unsigned.
        if self.abi.malloc_takes_align:
            self._alloc: Callable[[int, int], int] = lambda size, align: (
                malloc(size, align) & U32_MASK
            )
        else:
            self._alloc = lambda size, _align: malloc(size) & U32_MASK
        if self.abi.free_takes_align:
            self._free: Callable[[int, int], object] = lambda ptr, size: free(ptr, size, 1)
        else:
            self._free = free
        self._stack: ExportCaller | None = None
        if self.abi.stack_pointer:
            self._stack = instance.caller("__wbindgen_add_to_stack_pointer")
        self._exports: dict[str, ExportCaller] = {}
        self._plans: dict[tuple[Any, ...], CallPlan] = {}
        self._slots = 0
        self._slot_count = 0
        self._initialized = not self.abi.initializer

    def plan(
        self, export: str, args: Sequence[BindgenArg], returns: ReturnKind | None = None
    ) -> CallPlan:
        """The convention :meth:`call` will use for these arguments."""
        key = (export, returns, *map(type, args))
        plan = self._plans.get(key)
        if plan is None:
            kinds = tuple(not isinstance(a, (int, float)) for a in args)
            ty = self.instance.module.function_type(export)
            if ty is None:
                raise BindgenError(f"the module exports no function {export!r}")
            plan = plan_call(self.abi, export, ty, kinds, returns)
            self._plans[key] = plan
        return plan

    def call(
        self, export: str, *args: BindgenArg, returns: ReturnKind | None = None
    ) -> bytes | int | float | None:
        """Calls ``export``; returns bytes for an array return, a number, or ``None``.

        Raises :class:`WasmTrap` when the guest traps or a limit runs out, and
        :class:`BindgenError` when the arguments do not fit the export.
        """
        plan = self.plan(export, args, returns)
        limit = self.instance.limits.max_memory
        if limit is not None:
            incoming = sum(len(a) for a in args if isinstance(a, (bytes, bytearray, str)))
            incoming += sum(a.nbytes for a in args if isinstance(a, memoryview))
            if incoming > limit:
                raise WasmTrap(
                    TrapCause.MEMORY_LIMIT,
                    f"{incoming} bytes of input do not fit the {limit}-byte memory limit",
                )
        function = self._exports.get(export)
        if function is None:
            function = self._exports[export] = self.instance.caller(export)
        instance = self.instance
        instance.begin_call()
        try:
            result = self._invoke(function, plan, args)
        except BaseException:
            with contextlib.suppress(Exception):  # the first failure is the one to report
                instance.end_call()
            raise
        instance.end_call()
        return result

    def _invoke(
        self, function: ExportCaller, plan: CallPlan, args: Sequence[BindgenArg]
    ) -> bytes | int | float | None:
        if not self._initialized:
            self.instance.caller("_initialize")()
            self._initialized = True
        params: list[Any] = []
        array = plan.returns is ReturnKind.ARRAY
        retptr = RETURN_POINTER
        if array and self._stack is not None:
            retptr = self._stack(-16) & U32_MASK
        try:
            if array:
                params.append(retptr)
            slot = 0
            for arg in args:
                if isinstance(arg, (int, float)):
                    params.append(arg)
                    continue
                data = arg.encode() if isinstance(arg, str) else arg
                ptr, length = self._copy_in(data)
                if plan.slices is SliceForm.SPLIT:
                    params += (ptr, length)
                else:
                    at = self._slot(slot)
                    self._memory.write_u32_pair(at, ptr, length)
                    params.append(at)
                    slot += 1
            result = function(*params)
            if not array:
                return result  # type: ignore[no-any-return]
            ptr, length = self._memory.read_u32_pair(retptr)
            data = self._memory.read(ptr, length)
            self._free(ptr, length)
            return data
        finally:
            if array and self._stack is not None:
                self._stack(16)

    def _copy_in(self, data: bytes | bytearray | memoryview) -> tuple[int, int]:
        length = memoryview(data).nbytes if not isinstance(data, bytes) else len(data)
        ptr = self._alloc(length, 1)
        if length:
            self._memory.write(ptr, data)
        return ptr, length

    def _slot(self, index: int) -> int:
        """The address of the ``index``-th ``{ptr, len}`` struct, allocated once and kept."""
        if index >= self._slot_count:
            count = max(4, index + 1)
            size = 8 * count
            self._slots = self._alloc(size, 4)
            self._slot_count = count
        return self._slots + 8 * index

"""The engine-neutral interface: compile, instantiate, call, guest memory, limits.

One module per engine (:mod:`wasm_host.engines`) implements it; everything else in the package
(the wasm-bindgen calling convention, the WasmEdge host modules, :class:`WasmFunction`) is
written once against it.
"""

from __future__ import annotations

import ctypes
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from .errors import LinkError, TrapCause, WasmTrap

__all__ = [
    "CompiledModule",
    "Engine",
    "ExportSpec",
    "ExternKind",
    "FuncType",
    "GuestMemory",
    "HostFunction",
    "ImportSpec",
    "Limits",
    "ValType",
    "WasiConfig",
    "WasmInstance",
]


class ValType(str, Enum):
    """A WebAssembly value type."""

    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"
    V128 = "v128"
    FUNCREF = "funcref"
    EXTERNREF = "externref"


# An i32 or i64 read as the unsigned number of the same bits is ``value & mask``: WasmEdge's
# ABI passes pointers, lengths and handles unsigned, while engines hand out signed ints.
U32_MASK = 0xFFFF_FFFF
U64_MASK = 0xFFFF_FFFF_FFFF_FFFF
UNSIGNED_MASKS: Mapping[ValType, int] = {ValType.I32: U32_MASK, ValType.I64: U64_MASK}


@dataclass(frozen=True)
class FuncType:
    """A function signature."""

    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def __str__(self) -> str:
        params = ", ".join(p.value for p in self.params)
        results = ", ".join(r.value for r in self.results)
        return f"({params}) -> ({results})"


class ExternKind(str, Enum):
    """What an import or export is."""

    FUNC = "func"
    MEMORY = "memory"
    TABLE = "table"
    GLOBAL = "global"


@dataclass(frozen=True)
class ImportSpec:
    """One import of a module; ``type`` is set for functions."""

    module: str
    name: str
    kind: ExternKind
    type: FuncType | None = None


@dataclass(frozen=True)
class ExportSpec:
    """One export of a module; ``type`` is set for functions."""

    name: str
    kind: ExternKind
    type: FuncType | None = None


HostCallable = Callable[..., Any]


@dataclass(frozen=True)
class HostFunction:
    """A Python function the guest imports as ``module.name``.

    ``call`` receives i32 and i64 arguments as unsigned Python ints (pointers, lengths and
    handles are unsigned in WasmEdge's ABI) and returns an int, a float or ``None``. Raising
    :class:`WasmTrap` traps the guest's call with that cause.
    """

    module: str
    name: str
    type: FuncType
    call: HostCallable


@dataclass(frozen=True)
class Limits:
    """Per-call limits; ``None`` means unlimited.

    A "call" is one item: a whole :meth:`wasm_host.BindgenCaller.call`, allocation and free
    included. ``fuel`` and ``timeout`` need an engine that can interrupt running code
    (wasmtime); ``max_memory`` bounds the instance's linear memory in bytes.
    """

    fuel: int | None = None
    timeout: float | None = None
    max_memory: int | None = None

    def __post_init__(self) -> None:
        for name in ("fuel", "timeout", "max_memory"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")

    @property
    def interrupts(self) -> bool:
        """Whether enforcing these limits needs interrupting running wasm code."""
        return self.fuel is not None or self.timeout is not None


@dataclass(frozen=True)
class WasiConfig:
    """The WASI environment of an instance.

    ``preopens`` maps a guest path (``/model``) to a host directory. They are read-only
    unless ``writable``. With ``capture_output`` the guest's stdout and stderr go to the
    ``wasm_host.guest`` logger (INFO and WARNING) instead of this process's streams.
    """

    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    preopens: Mapping[str, str] = field(default_factory=dict)
    writable: bool = False
    capture_output: bool = True
    program_name: str = "guest"


class GuestMemory(ABC):
    """A guest's linear memory, every access bounds-checked.

    An out-of-bounds pointer or length raises :class:`WasmTrap` with
    :attr:`TrapCause.BAD_POINTER`: host memory is never read or written through a guest
    pointer that does not fit.
    """

    @abstractmethod
    def span(self) -> tuple[int, int]:
        """The memory's base address and size in bytes, valid until the guest runs again."""

    def size(self) -> int:
        """The memory's current size in bytes."""
        return self.span()[1]

    def address(self, ptr: int, length: int) -> int:
        """The host address of ``length`` guest bytes at ``ptr``, after checking bounds."""
        base, size = self.span()
        if ptr < 0 or length < 0 or ptr + length > size:
            raise WasmTrap(
                TrapCause.BAD_POINTER,
                f"{length} bytes at {ptr:#x} are outside the guest's {size}-byte memory",
            )
        return base + ptr

    def read(self, ptr: int, length: int) -> bytes:
        """A copy of ``length`` bytes at ``ptr``."""
        return ctypes.string_at(self.address(ptr, length), length)

    def view(self, ptr: int, length: int) -> memoryview:
        """A writable view of guest memory, valid only until the guest runs again."""
        address = self.address(ptr, length)
        return memoryview((ctypes.c_ubyte * length).from_address(address)).cast("B")

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        """Copies ``data`` to ``ptr``."""
        if isinstance(data, bytes):
            ctypes.memmove(self.address(ptr, len(data)), data, len(data))
            return
        source = memoryview(data).cast("B")
        self.view(ptr, source.nbytes)[:] = source

    def read_u32_pair(self, ptr: int) -> tuple[int, int]:
        """Two little-endian u32 at ``ptr`` (a wasm-bindgen ``(ptr, len)`` return slot)."""
        first, second = struct.unpack("<II", self.read(ptr, 8))
        return first, second

    def write_u32_pair(self, ptr: int, first: int, second: int) -> None:
        """Writes two little-endian u32 at ``ptr``."""
        self.write(ptr, struct.pack("<II", first, second))


class CompiledModule:
    """A compiled module: its imports and exports (each engine subclasses it to hold its
    native module)."""

    def __init__(
        self,
        engine: Engine,
        digest: str,
        imports: Sequence[ImportSpec],
        exports: Sequence[ExportSpec],
    ) -> None:
        self.engine = engine
        self.digest = digest
        self.imports = tuple(imports)
        self.exports = tuple(exports)
        self._exports_by_name = {export.name: export for export in self.exports}

    def export(self, name: str) -> ExportSpec | None:
        """The export called ``name``, if there is one."""
        return self._exports_by_name.get(name)

    def function_type(self, name: str) -> FuncType | None:
        """The signature of the exported function ``name``, if there is one."""
        export = self._exports_by_name.get(name)
        return export.type if export is not None and export.kind is ExternKind.FUNC else None

    def imports_module(self, module: str) -> bool:
        """Whether anything is imported from the import module ``module``."""
        return any(item.module == module for item in self.imports)


ExportCaller = Callable[..., Any]


class WasmInstance(ABC):
    """One instance of a module in its own store.

    Calls go through :meth:`caller` and are bracketed by :meth:`begin_call` and
    :meth:`end_call`, which arm and check the per-call :class:`Limits`. After a
    :class:`WasmTrap` the instance must be discarded. An engine sets ``_memory`` to the
    guest's first exported memory, if it has one.
    """

    _memory: GuestMemory | None = None

    def __init__(self, module: CompiledModule, limits: Limits) -> None:
        self.module = module
        self.limits = limits

    @property
    def memory(self) -> GuestMemory:
        """The guest's first exported memory (WasmEdge's host functions use memory 0)."""
        if self._memory is None:
            raise LinkError("the module exports no memory")
        return self._memory

    @abstractmethod
    def caller(self, name: str) -> ExportCaller:
        """A fast callable for the exported function ``name``.

        It takes ints (and floats) and returns ``None``, one value, or a tuple; a trap
        raises :class:`WasmTrap`.
        """

    @abstractmethod
    def begin_call(self) -> None:
        """Arms the per-call limits (fuel, deadline) before an item's first call."""

    def end_call(self) -> None:
        """Checks what can only be checked afterwards (memory on engines without limits)."""
        limit = self.limits.max_memory
        if limit is not None:
            size = self.memory.size()
            if size > limit:
                raise WasmTrap(
                    TrapCause.MEMORY_LIMIT, f"memory grew to {size} bytes; the limit is {limit}"
                )

    def close(self) -> None:  # noqa: B027 - optional hook, most engines free on collection
        """Releases the instance's resources early."""


class Engine(ABC):
    """A WebAssembly engine.

    ``name`` identifies the engine (``"wasmtime"``, ``"wasmer"``); ``fingerprint`` changes
    whenever compiled code from another configuration or version would not load.
    """

    name: ClassVar[str]
    supports_interruption: ClassVar[bool]

    @property
    @abstractmethod
    def version(self) -> str:
        """The engine library's version."""

    @property
    def fingerprint(self) -> str:
        """Engine name, version and code-affecting settings, for the module cache's key."""
        return f"{self.name}-{self.version}"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Frees the engine; it must not be used afterwards (called at interpreter exit)."""

    @abstractmethod
    def wat_to_wasm(self, text: str) -> bytes:
        """Converts the WebAssembly text format to a binary module."""

    @abstractmethod
    def compile(self, wasm: bytes, digest: str) -> CompiledModule:
        """Validates and compiles a binary module; raises :class:`ModuleError`."""

    @abstractmethod
    def serialize(self, module: CompiledModule) -> bytes:
        """The engine's native code for ``module``, for the disk cache."""

    @abstractmethod
    def deserialize(self, data: bytes, digest: str) -> CompiledModule:
        """Loads native code written by :meth:`serialize` (trusted input only)."""

    @abstractmethod
    def instantiate(
        self,
        module: CompiledModule,
        functions: Sequence[HostFunction],
        wasi: WasiConfig | None,
        limits: Limits,
    ) -> WasmInstance:
        """A new instance with these host functions and WASI; raises :class:`LinkError`
        for an unresolved import and :class:`UnsupportedLimit` for a limit the engine
        cannot enforce."""

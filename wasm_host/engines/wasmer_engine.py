"""The wasmer engine (cranelift compiler), for trusted code on Python 3.10.

wasmer-python's last release has no wheels for newer Pythons. It cannot interrupt a running
call, so it takes no fuel or time limits; a memory limit is checked after each call. Its
preopened directories are writable by nature: with ``WasiConfig.writable`` off, the host
replaces WASI's mutating calls with ones that fail with ``ENOTCAPABLE``, and ``fd_write``
serves only stdout and stderr (which is also how their output reaches Python logging).
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ..engine import (
    U32_MASK,
    UNSIGNED_MASKS,
    CompiledModule,
    Engine,
    ExportCaller,
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
from ..errors import (
    ConfigurationError,
    EngineUnavailable,
    LinkError,
    ModuleError,
    TrapCause,
    UnsupportedLimit,
    WasmTrap,
)
from ._output import LineLogger, output_loggers, with_last_words

try:
    import wasmer
    import wasmer_compiler_cranelift
except ImportError as exc:  # pragma: no cover - depends on the Python version
    raise EngineUnavailable(
        "wasmer is not installed for this Python: wasmer-python 1.1.0 has wheels only up to "
        "Python 3.10 (pip install 'wasmer==1.1.0' 'wasmer-compiler-cranelift==1.1.0')"
    ) from exc

__all__ = ["WasmerEngine"]

_WASI_ERRNO_BADF = 8
_WASI_ERRNO_NOTCAPABLE = 76
_MUTATING_WASI_CALLS = (
    "fd_allocate",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pwrite",
    "path_create_directory",
    "path_filestat_set_times",
    "path_link",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
)

_VALTYPES = {
    wasmer.Type.I32: ValType.I32,
    wasmer.Type.I64: ValType.I64,
    wasmer.Type.F32: ValType.F32,
    wasmer.Type.F64: ValType.F64,
    wasmer.Type.V128: ValType.V128,
    wasmer.Type.FUNC_REF: ValType.FUNCREF,
    wasmer.Type.EXTERN_REF: ValType.EXTERNREF,
}
_WASMER_TYPES = {value: key for key, value in _VALTYPES.items()}


def _kind_and_type(ty: Any) -> tuple[ExternKind, FuncType | None]:
    if isinstance(ty, wasmer.FunctionType):
        params = tuple(_VALTYPES[p] for p in ty.params)
        return ExternKind.FUNC, FuncType(params, tuple(_VALTYPES[r] for r in ty.results))
    if isinstance(ty, wasmer.MemoryType):
        return ExternKind.MEMORY, None
    if isinstance(ty, wasmer.TableType):
        return ExternKind.TABLE, None
    return ExternKind.GLOBAL, None


class _WasmerModule(CompiledModule):
    def __init__(self, engine: WasmerEngine, native: Any, digest: str) -> None:
        imports = [ImportSpec(i.module, i.name, *_kind_and_type(i.type)) for i in native.imports]
        exports = [ExportSpec(e.name, *_kind_and_type(e.type)) for e in native.exports]
        super().__init__(engine, digest, imports, exports)
        self.native = native


class _WasmerMemory(GuestMemory):
    def __init__(self, memory: Any) -> None:
        self._memory = memory
        self._size = -1
        self._base = 0
        self._view: memoryview | None = None

    def span(self) -> tuple[int, int]:
        size: int = self._memory.data_size
        if size != self._size:
            # The buffer object is only valid for the size it was taken at.
            self._view = memoryview(self._memory.buffer)
            self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._view))
            self._size = size
        return self._base, size


def _unsigned_args(function: HostFunction) -> Callable[..., Any]:
    masks = [UNSIGNED_MASKS.get(p) for p in function.type.params]
    call = function.call
    if all(mask is None for mask in masks):
        return call

    def host(*args: Any) -> Any:
        return call(*[a & m if m is not None else a for a, m in zip(args, masks, strict=True)])

    return host


class WasmerInstance(WasmInstance):
    """An instance on wasmer's shared store."""

    def __init__(
        self,
        module: _WasmerModule,
        native: Any,
        limits: Limits,
        loggers: Sequence[LineLogger],
    ) -> None:
        super().__init__(module, limits)
        self._exports = {name: item for name, item in native.exports}
        self._loggers = loggers
        self._stderr = loggers[1] if len(loggers) > 1 else None
        self._memory: _WasmerMemory | None = None
        for item in self._exports.values():
            if isinstance(item, wasmer.Memory):
                self._memory = _WasmerMemory(item)
                break

    def begin_call(self) -> None:
        if self._stderr is not None:
            self._stderr.take_first_line()

    def end_call(self) -> None:
        for logger in self._loggers:
            logger.flush()
        super().end_call()

    def caller(self, name: str) -> ExportCaller:
        item = self._exports.get(name)
        if not isinstance(item, wasmer.Function):
            raise LinkError(f"the module exports no function {name!r}")
        function = item
        stderr = self._stderr

        def call(*args: Any) -> Any:
            try:
                result = function(*args)
            except WasmTrap:
                raise
            except BaseException as exc:  # wasmer raises RuntimeError; host code anything
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise _trap_of(exc, stderr) from exc
            return tuple(result) if isinstance(result, list) else result

        return call


def _trap_of(exc: BaseException, stderr: LineLogger | None) -> WasmTrap:
    if isinstance(exc, RuntimeError):
        message = str(exc).splitlines()[0] if str(exc) else "trap"
        message = message.removeprefix("RuntimeError: ")
        return WasmTrap(TrapCause.GUEST_TRAP, with_last_words(message, stderr))
    return WasmTrap.from_host_error(exc)


class WasmerEngine(Engine):
    """wasmer 1.x with the cranelift compiler, one store for all instances."""

    name: ClassVar[str] = "wasmer"
    supports_interruption: ClassVar[bool] = False

    def __init__(self) -> None:
        self._store = wasmer.Store(wasmer.engine.Universal(wasmer_compiler_cranelift.Compiler))

    @property
    def version(self) -> str:
        return importlib.metadata.version("wasmer")

    @property
    def fingerprint(self) -> str:
        return f"{self.name}-{self.version}-cranelift"

    def wat_to_wasm(self, text: str) -> bytes:
        try:
            return bytes(wasmer.wat2wasm(text))
        except RuntimeError as exc:
            raise ModuleError(f"invalid WebAssembly text: {exc}") from exc

    def compile(self, wasm: bytes, digest: str) -> CompiledModule:
        try:
            return _WasmerModule(self, wasmer.Module(self._store, wasm), digest)
        except RuntimeError as exc:
            raise ModuleError(f"invalid WebAssembly module: {exc}") from exc

    def serialize(self, module: CompiledModule) -> bytes:
        assert isinstance(module, _WasmerModule)
        return bytes(module.native.serialize())

    def deserialize(self, data: bytes, digest: str) -> CompiledModule:
        try:
            return _WasmerModule(self, wasmer.Module.deserialize(self._store, data), digest)
        except RuntimeError as exc:
            raise ModuleError(f"cannot load compiled module: {exc}") from exc

    def instantiate(
        self,
        module: CompiledModule,
        functions: Sequence[HostFunction],
        wasi: WasiConfig | None,
        limits: Limits,
    ) -> WasmInstance:
        assert isinstance(module, _WasmerModule)
        if limits.interrupts:
            raise UnsupportedLimit(
                "wasmer cannot interrupt a running call: fuel and time limits need wasmtime"
            )
        memory_cell: list[_WasmerMemory] = []
        loggers: list[LineLogger] = []
        imports = self._wasi_imports(module, wasi, memory_cell, loggers)
        namespaces: dict[str, dict[str, Any]] = {}
        for function in functions:
            ty = function.type
            native_type = wasmer.FunctionType(
                [_WASMER_TYPES[p] for p in ty.params], [_WASMER_TYPES[r] for r in ty.results]
            )
            host = wasmer.Function(self._store, _unsigned_args(function), native_type)
            namespaces.setdefault(function.module, {})[function.name] = host
        for namespace, members in namespaces.items():
            imports.register(namespace, members)
        try:
            native = wasmer.Instance(module.native, imports)
        except RuntimeError as exc:
            raise LinkError(f"cannot instantiate: {exc}") from exc
        instance = WasmerInstance(module, native, limits, loggers)
        if instance._memory is not None:
            memory_cell.append(instance._memory)
        return instance

    def _wasi_imports(
        self,
        module: _WasmerModule,
        wasi: WasiConfig | None,
        memory_cell: list[_WasmerMemory],
        loggers: list[LineLogger],
    ) -> Any:
        version = wasmer.wasi.get_version(module.native, strict=False)
        if wasi is None or version is None:
            return wasmer.ImportObject()
        if wasi.writable and wasi.capture_output:
            raise ConfigurationError(
                "on wasmer, writable preopens and captured guest output exclude each other"
            )
        builder = wasmer.wasi.StateBuilder(wasi.program_name)
        if wasi.args:
            builder.arguments(list(wasi.args))
        if wasi.env:
            builder.environments(dict(wasi.env))
        for guest_path, host_path in wasi.preopens.items():
            if not os.path.isdir(host_path):
                raise ConfigurationError(f"cannot preopen {host_path!r}: not a directory")
            builder.map_directory(guest_path, str(host_path))
        imports = builder.finalize().generate_import_object(self._store, version)
        if wasi.writable:
            return imports
        namespace = (
            "wasi_snapshot_preview1"
            if version == wasmer.wasi.Version.SNAPSHOT1
            else "wasi_unstable"
        )
        members = dict(imports.to_dict()[namespace])
        sinks = self._output_sinks(wasi, loggers)
        members["fd_write"] = wasmer.Function(
            self._store,
            _fd_write(memory_cell, sinks),
            wasmer.FunctionType([wasmer.Type.I32] * 4, [wasmer.Type.I32]),
        )
        for name in _MUTATING_WASI_CALLS:
            if name in members:
                members[name] = _refusal(self._store, members[name].type)
        imports.register(namespace, members)
        return imports

    @staticmethod
    def _output_sinks(
        wasi: WasiConfig, loggers: list[LineLogger]
    ) -> dict[int, Callable[[bytes], Any]]:
        if wasi.capture_output:
            stdout, stderr = output_loggers()
            loggers.extend([stdout, stderr])
            return {1: stdout, 2: stderr}
        return {1: sys.stdout.buffer.write, 2: sys.stderr.buffer.write}


def _fd_write(
    memory_cell: list[_WasmerMemory], sinks: dict[int, Callable[[bytes], Any]]
) -> Callable[..., int]:
    def fd_write(fd: int, iovs: int, iovs_len: int, nwritten: int) -> int:
        sink = sinks.get(fd)
        if sink is None or not memory_cell:
            return _WASI_ERRNO_BADF
        memory = memory_cell[0]
        iovs, iovs_len, nwritten = iovs & U32_MASK, iovs_len & U32_MASK, nwritten & U32_MASK
        vectors = memory.read(iovs, 8 * iovs_len)
        chunks = [memory.read(ptr, length) for ptr, length in struct.iter_unpack("<II", vectors)]
        data = b"".join(chunks)
        sink(data)
        memory.write(nwritten, struct.pack("<I", len(data)))
        return 0

    return fd_write


def _refusal(store: Any, native_type: Any) -> Any:
    def refuse(*_args: Any) -> int:
        return _WASI_ERRNO_NOTCAPABLE

    return wasmer.Function(store, refuse, native_type)

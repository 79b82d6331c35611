"""The import and export names of a WebAssembly module, read without compiling it.

Checking a function's configuration must know whether its module is a whole stream
function of YoMo's ABI (which names its own tags and writes its own answers, so it takes
no export and no reply tag) before anything is compiled: the binary's import and export
sections say so. This is a reader of names only; whether the module is valid, and which
convention it really follows, is for loading (``wasm_host.detect_convention``) to tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModuleNames", "follows_yomo_abi", "module_names"]

_MAGIC = b"\0asm"
_IMPORT_SECTION = 2
_EXPORT_SECTION = 7
#: The export every module of YoMo's ABI has (and detection requires).
YOMO_HANDLER = "yomo_handler"


class _Truncated(Exception):
    """The bytes end inside a section or a name."""


@dataclass(frozen=True)
class ModuleNames:
    """What a module imports (``(module, name)`` pairs) and the names it exports."""

    imports: frozenset[tuple[str, str]]
    exports: frozenset[str]


class _Reader:
    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.at = start
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.at >= self.end:
            raise _Truncated
        value = self.data[self.at]
        self.at += 1
        return value

    def uint(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise _Truncated

    def name(self) -> str:
        length = self.uint()
        if self.at + length > self.end:
            raise _Truncated
        raw = self.data[self.at : self.at + length]
        self.at += length
        return raw.decode("utf-8", "replace")

    def limits(self) -> None:
        flags = self.byte()
        self.uint()
        if flags & 1:
            self.uint()


def _skip_import_description(reader: _Reader) -> None:
    kind = reader.byte()
    if kind == 0:  # a function: its type index
        reader.uint()
    elif kind == 1:  # a table: element type, limits
        reader.byte()
        reader.limits()
    elif kind == 2:  # a memory: limits
        reader.limits()
    elif kind == 3:  # a global: value type, mutability
        reader.byte()
        reader.byte()
    elif kind == 4:  # an exception tag: attribute, type index
        reader.byte()
        reader.uint()
    else:
        raise _Truncated


def _binary_names(data: bytes) -> ModuleNames:
    reader = _Reader(data, 8)
    imports: set[tuple[str, str]] = set()
    exports: set[str] = set()
    while reader.at < reader.end:
        section = reader.byte()
        size = reader.uint()
        end = reader.at + size
        if end > len(data):
            raise _Truncated
        body = _Reader(data, reader.at, end)
        if section == _IMPORT_SECTION:
            for _ in range(body.uint()):
                module, name = body.name(), body.name()
                imports.add((module, name))
                _skip_import_description(body)
        elif section == _EXPORT_SECTION:
            for _ in range(body.uint()):
                exports.add(body.name())
                body.byte()
                body.uint()
        reader.at = end
    return ModuleNames(frozenset(imports), frozenset(exports))


def _text_to_binary(text: str) -> bytes | None:
    # Only WebAssembly text needs the engine's assembler; no engine, no answer.
    try:
        from wasm_host import WasmHostError, get_engine
    except ImportError:
        return None
    try:
        return get_engine().wat_to_wasm(text)
    except WasmHostError:
        return None


def module_names(data: bytes) -> ModuleNames | None:
    """The names ``data`` (a binary module or WebAssembly text) imports and exports;
    ``None`` when they cannot be read (not a module, or text with no engine to read it)."""
    if not data.startswith(_MAGIC):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        binary = _text_to_binary(text)
        if binary is None:
            return None
        data = binary
    try:
        return _binary_names(data)
    except _Truncated:
        return None


def follows_yomo_abi(path: Path) -> bool:
    """Whether the module at ``path`` declares itself a stream function of YoMo's ABI
    (it exports ``yomo_handler``). False when it cannot be read: loading will say why."""
    try:
        names = module_names(path.read_bytes())
    except OSError:
        return False
    return names is not None and YOMO_HANDLER in names.exports

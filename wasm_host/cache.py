"""A disk cache of compiled modules, so that start-up does not recompile.

Entries are keyed by the module's SHA-256 and the engine's fingerprint (name, version and
code-affecting settings), written atomically into a directory only this user can read:
loading native code is only safe from a directory nobody else can write.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import platformdirs

from .engine import CompiledModule, Engine
from .errors import ModuleError

__all__ = ["ModuleCache", "default_cache_dir", "load_module"]

logger = logging.getLogger(__name__)

#: Overrides the cache directory (tests point it at a temporary directory).
CACHE_DIR_ENV = "WASM_HOST_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$WASM_HOST_CACHE_DIR``, else the user cache directory of rxyomo."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(platformdirs.user_cache_dir("rxyomo")) / "wasm"


class ModuleCache:
    """Compiled modules on disk, one file per (engine fingerprint, module hash)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path_for(self, engine: Engine, digest: str) -> Path:
        """Where the compiled form of the module with SHA-256 ``digest`` lives."""
        return self.directory / engine.fingerprint / f"{digest}.bin"

    def get_or_compile(self, engine: Engine, wasm: bytes) -> CompiledModule:
        """The compiled module, from the cache when present, else compiled and stored."""
        digest = hashlib.sha256(wasm).hexdigest()
        path = self.path_for(engine, digest)
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is not None:
            try:
                return engine.deserialize(data, digest)
            except ModuleError as exc:
                # A stale or truncated entry: compile again and overwrite it.
                logger.warning("ignoring unusable cache entry %s: %s", path, exc)
        module = engine.compile(wasm, digest)
        try:
            self._store(path, engine.serialize(module))
        except OSError as exc:
            logger.warning("cannot write the module cache at %s: %s", path, exc)
        return module

    def _store(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def load_module(
    engine: Engine,
    source: bytes | str | os.PathLike[str],
    cache: ModuleCache | None = None,
    *,
    use_cache: bool = True,
) -> CompiledModule:
    """Compiles ``source`` (a path, binary module bytes, or WebAssembly text as bytes).

    With ``use_cache`` (the default) the compiled code is taken from, or written to, ``cache``
    (the default :class:`ModuleCache` when ``None``).
    """
    if isinstance(source, (str, os.PathLike)):
        try:
            wasm = Path(source).read_bytes()
        except OSError as exc:
            raise ModuleError(f"cannot read {os.fspath(source)!r}: {exc.strerror}") from exc
    else:
        wasm = bytes(source)
    if not wasm.startswith(b"\0asm"):
        try:
            text = wasm.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModuleError("neither a WebAssembly binary nor WebAssembly text") from exc
        wasm = engine.wat_to_wasm(text)
    if not use_cache:
        return engine.compile(wasm, hashlib.sha256(wasm).hexdigest())
    return (cache or ModuleCache()).get_or_compile(engine, wasm)

"""The engines behind :class:`wasm_host.engine.Engine`, created on demand.

``wasmtime`` is the default on every Python; ``wasmer`` needs Python 3.10. The environment
variable ``WASM_HOST_ENGINE`` changes the default.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading

from _rxyomo_extras import MissingExtra, needs_extra

from ..engine import Engine
from ..errors import EngineUnavailable

__all__ = ["ENGINE_NAMES", "available_engines", "get_engine"]

#: Every engine this package knows, best first.
ENGINE_NAMES = ("wasmtime", "wasmer")
#: Selects the default engine.
ENGINE_ENV = "WASM_HOST_ENGINE"

_engines: dict[tuple[str, bool], Engine] = {}
_lock = threading.Lock()


def _installed(name: str) -> bool:
    try:
        if importlib.util.find_spec(name) is None:
            return False
    except (ImportError, ValueError):
        return False
    if name == "wasmer":
        # On Python >= 3.11 pip installs a stub of wasmer whose import fails.
        try:
            import wasmer  # noqa: F401

            return importlib.util.find_spec("wasmer_compiler_cranelift") is not None
        except ImportError:
            return False
    return True


def available_engines() -> list[str]:
    """The engines that can run here, best first."""
    return [name for name in ENGINE_NAMES if _installed(name)]


def get_engine(name: str | None = None, *, fuel: bool = False) -> Engine:
    """The shared engine called ``name`` (default: ``$WASM_HOST_ENGINE``, else the first
    available). ``fuel`` asks for fuel metering, which only wasmtime has.

    Raises :class:`EngineUnavailable` when the engine is unknown or not installed.
    """
    chosen = name or os.environ.get(ENGINE_ENV) or next(iter(available_engines()), "wasmtime")
    if chosen not in ENGINE_NAMES:
        raise EngineUnavailable(f"unknown engine {chosen!r}; known: {', '.join(ENGINE_NAMES)}")
    with _lock:
        engine = _engines.get((chosen, fuel))
        if engine is None:
            engine = _create(chosen, fuel)
            _engines[(chosen, fuel)] = engine
        return engine


@atexit.register
def _close_engines() -> None:
    # While the engines' libraries are still loaded: freed later, during interpreter
    # teardown, their finalizers would find the bindings already gone.
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()


def _create(name: str, fuel: bool) -> Engine:
    if name == "wasmtime":
        try:
            with needs_extra("wasm", "wasm_host", __name__):
                from .wasmtime_engine import WasmtimeEngine
        except MissingExtra as exc:
            raise EngineUnavailable(str(exc)) from exc
        except ImportError as exc:
            raise EngineUnavailable(f"wasmtime is not installed: {exc}") from exc
        return WasmtimeEngine(fuel=fuel)
    if fuel:
        raise EngineUnavailable("wasmer has no fuel metering; use wasmtime")
    from .wasmer_engine import WasmerEngine

    return WasmerEngine()

"""Typed errors of the WebAssembly host.

Everything the host raises is a :class:`WasmHostError`. A call that the guest or a limit cut
short raises :class:`WasmTrap`, whose :attr:`WasmTrap.cause` says why; after a trap the
instance that trapped must not be used again (:class:`wasm_host.WasmFunction` replaces it).
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "BindgenError",
    "ConfigurationError",
    "ConventionError",
    "EngineUnavailable",
    "GuestError",
    "LinkError",
    "ModuleError",
    "TrapCause",
    "UnsupportedLimit",
    "WasmHostError",
    "WasmTrap",
]


class WasmHostError(Exception):
    """Base class of every error raised by :mod:`wasm_host`."""


class EngineUnavailable(WasmHostError):
    """The requested engine is not installed for this Python (wasmer needs Python 3.10)."""


class ModuleError(WasmHostError):
    """The bytes are not a valid WebAssembly module, or the engine could not compile them."""


class LinkError(WasmHostError):
    """The module imports something the host does not provide (named in the message)."""


class BindgenError(WasmHostError):
    """The export cannot be called with the wasm-bindgen convention and these arguments."""


class ConventionError(WasmHostError):
    """The module follows none of the calling conventions this host knows, or not the one
    asked for."""


class GuestError(WasmHostError):
    """The guest completed the call and answered with an error of its own (a
    wasmedge-bindgen ``Err``, a YoMo ``yomo_init`` that failed); the instance is fine."""


class ConfigurationError(WasmHostError):
    """A setting the engine cannot honour, or a WASI directory that does not exist."""


class UnsupportedLimit(ConfigurationError):
    """The engine cannot enforce a requested limit (wasmer cannot interrupt a running call)."""


class TrapCause(str, Enum):
    """Why a call trapped."""

    OUT_OF_FUEL = "out of fuel"
    DEADLINE = "deadline exceeded"
    MEMORY_LIMIT = "memory limit exceeded"
    BAD_POINTER = "bad pointer"
    GUEST_TRAP = "guest trap"
    HOST_ERROR = "host function failed"
    OUTPUT_LIMIT = "output limit exceeded"


class WasmTrap(WasmHostError):
    """A call that did not complete: the guest trapped, a limit ran out, or the guest handed
    a host function an out-of-bounds pointer."""

    def __init__(self, cause: TrapCause, detail: str = "") -> None:
        self.cause = cause
        self.detail = detail
        super().__init__(f"{cause.value}: {detail}" if detail else cause.value)

    @classmethod
    def from_host_error(cls, error: BaseException) -> WasmTrap:
        """The trap a host function's exception ends the guest's call with: the exception
        itself if it is a trap (a bad pointer, say), else a ``HOST_ERROR`` naming it."""
        if isinstance(error, WasmTrap):
            return error
        return cls(TrapCause.HOST_ERROR, f"{type(error).__name__}: {error}")

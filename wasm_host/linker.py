"""Resolves a module's imports: WasmEdge host modules, WASI, wasm-bindgen placeholders.

Every function import must be provided with exactly the type the guest declares; anything
else is a :class:`LinkError` that names the import, before the engine sees the module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .engine import CompiledModule, ExternKind, HostFunction, Limits, WasiConfig, WasmInstance
from .errors import LinkError, TrapCause, WasmTrap
from .host import HostContext, HostModule, default_host_modules

__all__ = [
    "PLACEHOLDER_MODULES",
    "WASI_MODULES",
    "LinkedInstance",
    "instantiate",
    "resolve_imports",
]

#: Import modules of a raw cargo build that only the wasm-bindgen CLI would replace; nothing
#: calls them at run time, so they are satisfied with functions that trap if called.
PLACEHOLDER_MODULES = ("__wbindgen_placeholder__", "__wbindgen_externref_xform__")
#: Import modules the engine's own WASI implementation provides.
WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")


def _placeholder(module: str, name: str) -> Any:
    def trap(*_args: Any) -> None:
        raise WasmTrap(
            TrapCause.GUEST_TRAP,
            f"the guest called {module}.{name}, a wasm-bindgen placeholder that only exists "
            "in modules not processed by the wasm-bindgen CLI",
        )

    return trap


def resolve_imports(
    module: CompiledModule,
    host_modules: Sequence[HostModule],
    context: HostContext,
    *,
    wasi: bool,
) -> list[HostFunction]:
    """The host functions ``module`` imports, bound to ``context``."""
    by_name = {host.name: host for host in host_modules}
    wanted: dict[str, set[str]] = {}
    functions: list[HostFunction] = []
    for item in module.imports:
        if item.module in WASI_MODULES:
            if not wasi:
                raise LinkError(f"the module imports {item.module}.{item.name}; it needs WASI")
            continue
        if item.kind is not ExternKind.FUNC or item.type is None:
            raise LinkError(f"the module imports a {item.kind.value} {item.module}.{item.name}")
        if item.module in PLACEHOLDER_MODULES:
            functions.append(
                HostFunction(
                    item.module, item.name, item.type, _placeholder(item.module, item.name)
                )
            )
            continue
        host = by_name.get(item.module)
        if host is None:
            raise LinkError(f"unresolved import {item.module}.{item.name}: no such host module")
        expected = host.signatures().get(item.name)
        if expected is None:
            raise LinkError(f"unresolved import {item.module}.{item.name}: no such function")
        if expected != item.type:
            raise LinkError(
                f"{item.module}.{item.name} is imported as {item.type}, but the host has {expected}"
            )
        wanted.setdefault(item.module, set()).add(item.name)
    for module_name, names in wanted.items():
        functions.extend(by_name[module_name].functions(context, names))
    return functions


@dataclass
class LinkedInstance:
    """An instance together with the host state its imports share."""

    instance: WasmInstance
    context: HostContext

    def close(self) -> None:
        """Releases host resources (TFLite sessions) and the instance."""
        self.context.close()
        self.instance.close()


def instantiate(
    module: CompiledModule,
    *,
    wasi: WasiConfig | None = None,
    limits: Limits | None = None,
    host_modules: Sequence[HostModule] | None = None,
) -> LinkedInstance:
    """A new instance of ``module`` with the WasmEdge host modules and WASI.

    ``wasi`` defaults to an empty :class:`WasiConfig` when the module imports WASI.
    """
    if wasi is None and any(module.imports_module(name) for name in WASI_MODULES):
        wasi = WasiConfig()
    hosts = list(host_modules) if host_modules is not None else default_host_modules()
    context = HostContext()
    functions = resolve_imports(module, hosts, context, wasi=wasi is not None)
    try:
        instance = module.engine.instantiate(module, functions, wasi, limits or Limits())
    except BaseException:
        context.close()
        raise
    # A module without memory can still call host functions that need none.
    with contextlib.suppress(LinkError):
        context.bind(instance.memory)
    return LinkedInstance(instance, context)

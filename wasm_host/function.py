"""A wasm-bindgen export as a plain Python function: ``WasmFunction(...)(data) -> bytes|str``.

The module is compiled once (or loaded from the disk cache), the instance is kept across
calls, and an instance that trapped or ran over a limit is discarded: that call raises
:class:`WasmTrap` naming the cause, and the next call gets a fresh instance.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .bindgen import BindgenArg, BindgenCaller, ReturnKind
from .cache import ModuleCache, load_module
from .engine import CompiledModule, Engine, Limits, WasiConfig
from .engines import get_engine
from .errors import BindgenError, WasmTrap
from .host import HostModule, default_host_modules
from .linker import LinkedInstance, instantiate

__all__ = ["FunctionStats", "WasmFunction"]

logger = logging.getLogger(__name__)


@dataclass
class FunctionStats:
    """Counters of one :class:`WasmFunction`."""

    calls: int = 0
    traps: int = 0
    instances: int = 0


class WasmFunction:
    """Calls the export ``export`` of a wasm-bindgen module with the ExecuteBindgen convention.

    ``source`` is a path or module bytes (binary or text). ``engine`` is an :class:`Engine` or
    an engine name (default: :func:`get_engine`'s choice; an engine with fuel metering when
    ``limits.fuel`` is set). ``wasi`` configures arguments, environment and preopened
    directories. ``text=True`` decodes an array result as UTF-8. ``returns`` forces the
    return kind instead of detecting it.

    Calls are serialised by a lock: one instance runs one call at a time.
    """

    def __init__(
        self,
        source: bytes | str | os.PathLike[str] | CompiledModule,
        export: str,
        *,
        engine: Engine | str | None = None,
        limits: Limits | None = None,
        wasi: WasiConfig | None = None,
        host_modules: Sequence[HostModule] | None = None,
        returns: ReturnKind | None = None,
        text: bool = False,
        cache: ModuleCache | None = None,
        use_cache: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        if isinstance(source, CompiledModule):
            self.module = source
        else:
            if not isinstance(engine, Engine):
                engine = get_engine(engine, fuel=self.limits.fuel is not None)
            self.module = load_module(engine, source, cache, use_cache=use_cache)
        if self.module.function_type(export) is None:
            raise BindgenError(f"the module exports no function {export!r}")
        self.export = export
        self.wasi = wasi
        self.host_modules = (
            list(host_modules) if host_modules is not None else default_host_modules()
        )
        self.returns = returns
        self.text = text
        self.stats = FunctionStats()
        self._lock = threading.Lock()
        self._linked: LinkedInstance | None = None
        self._caller: BindgenCaller | None = None

    @property
    def engine(self) -> Engine:
        """The engine the module was compiled for."""
        return self.module.engine

    def __call__(self, *args: BindgenArg) -> bytes | str | int | float | None:
        """Calls the export; raises :class:`WasmTrap` if the call trapped (the instance is
        then replaced before the next call)."""
        with self._lock:
            caller = self._caller or self._instantiate()
            self.stats.calls += 1
            try:
                result = caller.call(self.export, *args, returns=self.returns)
            except WasmTrap as trap:
                self.stats.traps += 1
                logger.warning("%s trapped (%s); replacing the instance", self.export, trap)
                self._discard()
                raise
        if self.text and isinstance(result, bytes):
            return result.decode("utf-8", "replace")
        return result

    def warm_up(self) -> None:
        """Creates the instance now rather than on the first call."""
        with self._lock:
            if self._caller is None:
                self._instantiate()

    def close(self) -> None:
        """Discards the instance and its host resources."""
        with self._lock:
            self._discard()

    def __enter__(self) -> WasmFunction:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _instantiate(self) -> BindgenCaller:
        linked = instantiate(
            self.module, wasi=self.wasi, limits=self.limits, host_modules=self.host_modules
        )
        try:
            caller = BindgenCaller(linked.instance)
        except BaseException:
            linked.close()
            raise
        self._linked, self._caller = linked, caller
        self.stats.instances += 1
        return caller

    def _discard(self) -> None:
        linked, self._linked, self._caller = self._linked, None, None
        if linked is not None:
            linked.close()

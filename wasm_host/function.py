"""WebAssembly functions as plain Python functions.

:class:`WasmFunction` calls one export of a wasm-bindgen or wasmedge-bindgen module:
``WasmFunction(...)(data) -> bytes|str``. :class:`YomoFunction` runs a module of YoMo's
stream-function ABI: ``YomoFunction(...)(data, tag) -> [(tag, answer), ...]``.

The module is compiled once (or loaded from the disk cache), the instance is kept across
calls, and an instance that trapped or ran over a limit is discarded: that call raises
:class:`WasmTrap` naming the cause, and the next call gets a fresh instance.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .bindgen import BindgenArg, BindgenCaller, ReturnKind
from .cache import ModuleCache, load_module
from .conventions import Convention, detect_convention
from .engine import CompiledModule, Engine, Limits, WasiConfig
from .engines import get_engine
from .errors import BindgenError, ConventionError, WasmTrap
from .host import HostModule, default_host_modules
from .linker import LinkedInstance, instantiate
from .wasmedge_bindgen import WasmedgeBindgenCaller
from .yomo_abi import Answer, YomoCaller

__all__ = ["FunctionStats", "WasmFunction", "YomoFunction"]

logger = logging.getLogger(__name__)


@dataclass
class FunctionStats:
    """Counters of one :class:`WasmFunction`."""

    calls: int = 0
    traps: int = 0
    instances: int = 0


def _compile(
    source: bytes | str | os.PathLike[str] | CompiledModule,
    engine: Engine | str | None,
    limits: Limits,
    cache: ModuleCache | None,
    use_cache: bool,
) -> CompiledModule:
    if isinstance(source, CompiledModule):
        return source
    if not isinstance(engine, Engine):
        engine = get_engine(engine, fuel=limits.fuel is not None)
    return load_module(engine, source, cache, use_cache=use_cache)


def _convention(module: CompiledModule) -> Convention | None:
    try:
        return detect_convention(module)
    except ConventionError:
        return None


class _FirstResult:
    """A wasmedge-bindgen caller in the shape of :class:`BindgenCaller`: the export's first
    result, strings as UTF-8 bytes as wasm-bindgen's are."""

    def __init__(self, caller: WasmedgeBindgenCaller) -> None:
        self.caller = caller

    def call(self, export: str, *args: Any, returns: ReturnKind | None = None) -> Any:
        results = self.caller.call(export, *args)
        first = results[0] if results else None
        return first.encode() if isinstance(first, str) else first


class WasmFunction:
    """Calls the export ``export`` of a wasm-bindgen module with the ExecuteBindgen
    convention, or of a wasmedge-bindgen module with its own (detected from the module;
    the first result is returned, a guest ``Err`` raises :class:`GuestError`).

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
        self.module = _compile(source, engine, self.limits, cache, use_cache)
        self.convention = _convention(self.module)
        if self.convention is Convention.YOMO:
            raise ConventionError("a YoMo stream-function module: run it with YomoFunction")
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
        self._caller: BindgenCaller | _FirstResult | None = None

    @property
    def engine(self) -> Engine:
        """The engine the module was compiled for."""
        return self.module.engine

    def __call__(self, *args: BindgenArg) -> Any:
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

    def _instantiate(self) -> BindgenCaller | _FirstResult:
        if self.convention is Convention.WASMEDGE_BINDGEN:
            created = WasmedgeBindgenCaller.create(
                self.module, wasi=self.wasi, limits=self.limits, host_modules=self.host_modules
            )
            self._linked, self._caller = created.linked, _FirstResult(created)
            self.stats.instances += 1
            return self._caller
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


class YomoFunction:
    """A module of YoMo's stream-function ABI as a Python function:
    ``function(data, tag) -> [Answer(tag, data), ...]``.

    The instance starts when first needed (:meth:`warm_up`, :attr:`observed`, or the first
    call), running the guest's start-up (``yomo_observe_datatags``, ``yomo_init``, ...);
    :attr:`observed` and :attr:`wanted_target` are what the first instance declared. A
    call that traps raises :class:`WasmTrap` and the next call starts a fresh instance.
    ``http_hosts`` names the hosts the guest's ``yomo_http_send`` may reach (none by
    default). Calls are serialised by a lock.
    """

    def __init__(
        self,
        source: bytes | str | os.PathLike[str] | CompiledModule,
        *,
        engine: Engine | str | None = None,
        limits: Limits | None = None,
        wasi: WasiConfig | None = None,
        host_modules: Sequence[HostModule] | None = None,
        http_hosts: Sequence[str] = (),
        max_answers: int = 1024,
        cache: ModuleCache | None = None,
        use_cache: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.module = _compile(source, engine, self.limits, cache, use_cache)
        if _convention(self.module) is not Convention.YOMO:
            raise ConventionError("not a module of YoMo's stream-function ABI")
        self.wasi = wasi
        self.host_modules = (
            list(host_modules) if host_modules is not None else default_host_modules()
        )
        self.http_hosts = tuple(http_hosts)
        self.max_answers = max_answers
        self.stats = FunctionStats()
        self._lock = threading.Lock()
        self._caller: YomoCaller | None = None
        self._declared: tuple[tuple[int, ...], str | None] | None = None

    @property
    def observed(self) -> tuple[int, ...]:
        """The tags the function observes (starts an instance if none ran yet)."""
        return self._declarations()[0]

    @property
    def wanted_target(self) -> str | None:
        """The function's wanted target, if it declared one."""
        return self._declarations()[1]

    def _declarations(self) -> tuple[tuple[int, ...], str | None]:
        if self._declared is None:
            self.warm_up()
        assert self._declared is not None
        return self._declared

    def __call__(
        self, data: bytes, tag: int | None = None, metadata: Mapping[str, str] | None = None
    ) -> list[Answer]:
        """Handles one frame (``tag`` defaults to the first observed tag) and returns its
        answers; raises :class:`WasmTrap` if the call trapped."""
        with self._lock:
            caller = self._caller or self._instantiate()
            if tag is None:
                tag = caller.observed[0] if caller.observed else 0
            self.stats.calls += 1
            try:
                return caller.call(data, tag, metadata)
            except WasmTrap as trap:
                self.stats.traps += 1
                logger.warning("yomo_handler trapped (%s); replacing the instance", trap)
                self._discard()
                raise

    def warm_up(self) -> None:
        """Starts the instance now rather than on the first call."""
        with self._lock:
            if self._caller is None:
                self._instantiate()

    def close(self) -> None:
        """Discards the instance and its host resources."""
        with self._lock:
            self._discard()

    def __enter__(self) -> YomoFunction:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _instantiate(self) -> YomoCaller:
        caller = YomoCaller.create(
            self.module,
            wasi=self.wasi,
            limits=self.limits,
            host_modules=self.host_modules,
            http_hosts=self.http_hosts,
            max_answers=self.max_answers,
        )
        self._caller = caller
        self.stats.instances += 1
        if self._declared is None:
            self._declared = (caller.observed, caller.wanted_target)
        return caller

    def _discard(self) -> None:
        caller, self._caller = self._caller, None
        if caller is not None:
            caller.close()

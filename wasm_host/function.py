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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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


_Caller = TypeVar("_Caller")
_Kept = TypeVar("_Kept", bound="_KeptInstance[Any]")
_Result = TypeVar("_Result")


class _KeptInstance(Generic[_Caller]):
    """One instance kept across calls, made when first needed, discarded after a trap.

    What both kinds of function share: the lock that serialises calls, the counters, and
    the rule that a trapped instance is never called again.
    """

    def __init__(self) -> None:
        self.stats = FunctionStats()
        self._lock = threading.Lock()
        self._caller: _Caller | None = None

    def _make(self) -> _Caller:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError

    def _call_kept(self, what: str, call: Callable[[_Caller], _Result]) -> _Result:
        """Runs ``call`` on the instance (made if there is none) under the lock; a trap
        discards the instance and is raised."""
        with self._lock:
            caller = self._caller if self._caller is not None else self._instantiate()
            self.stats.calls += 1
            try:
                return call(caller)
            except WasmTrap as trap:
                self.stats.traps += 1
                logger.warning("%s trapped (%s); replacing the instance", what, trap)
                self._discard()
                raise

    def _instantiate(self) -> _Caller:
        self._caller = self._make()
        self.stats.instances += 1
        return self._caller

    def warm_up(self) -> None:
        """Creates the instance now rather than on the first call."""
        with self._lock:
            if self._caller is None:
                self._instantiate()

    def close(self) -> None:
        """Discards the instance and its host resources."""
        with self._lock:
            self._discard()

    def __enter__(self: _Kept) -> _Kept:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class WasmFunction(_KeptInstance["BindgenCaller | _FirstResult"]):
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
        super().__init__()
        self._linked: LinkedInstance | None = None

    @property
    def engine(self) -> Engine:
        """The engine the module was compiled for."""
        return self.module.engine

    def __call__(self, *args: BindgenArg) -> Any:
        """Calls the export; raises :class:`WasmTrap` if the call trapped (the instance is
        then replaced before the next call)."""
        result = self._call_kept(
            self.export, lambda caller: caller.call(self.export, *args, returns=self.returns)
        )
        if self.text and isinstance(result, bytes):
            return result.decode("utf-8", "replace")
        return result

    def _make(self) -> BindgenCaller | _FirstResult:
        if self.convention is Convention.WASMEDGE_BINDGEN:
            created = WasmedgeBindgenCaller.create(
                self.module, wasi=self.wasi, limits=self.limits, host_modules=self.host_modules
            )
            self._linked = created.linked
            return _FirstResult(created)
        linked = instantiate(
            self.module, wasi=self.wasi, limits=self.limits, host_modules=self.host_modules
        )
        try:
            caller = BindgenCaller(linked.instance)
        except BaseException:
            linked.close()
            raise
        self._linked = linked
        return caller

    def _discard(self) -> None:
        linked, self._linked, self._caller = self._linked, None, None
        if linked is not None:
            linked.close()


class YomoFunction(_KeptInstance[YomoCaller]):
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
        super().__init__()
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

        def handle(caller: YomoCaller) -> list[Answer]:
            observed = caller.observed
            return caller.call(data, tag if tag is not None else (observed or (0,))[0], metadata)

        return self._call_kept("yomo_handler", handle)

    def _make(self) -> YomoCaller:
        caller = YomoCaller.create(
            self.module,
            wasi=self.wasi,
            limits=self.limits,
            host_modules=self.host_modules,
            http_hosts=self.http_hosts,
            max_answers=self.max_answers,
        )
        if self._declared is None:
            self._declared = (caller.observed, caller.wanted_target)
        return caller

    def _discard(self) -> None:
        caller, self._caller = self._caller, None
        if caller is not None:
            caller.close()

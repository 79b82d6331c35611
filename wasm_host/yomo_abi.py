"""YoMo's wasm stream-function ABI, as ``yomo run x.wasm`` ran it (YoMo v1.13 to v1.19),
and its first generation (up to v1.12).

A module of this ABI is a whole stream function: it says which tags it observes and writes
its own answers, any number per frame. Starting an instance runs, in YoMo's order:
``_initialize`` (a WASI reactor) or ``_start`` if exported; ``yomo_observe_datatags``
(which calls ``yomo_observe_datatag`` per tag); ``yomo_wanted_target`` if exported; then
``yomo_init``: the user's initialisation when it returns an ``i32`` (non-zero means it
failed), and in the generations before ``yomo_observe_datatags`` existed, the function
that observes the tags. Each frame is then one call of ``yomo_handler()`` (first
generation: ``yomo_handler(input_len)``), during which the guest reads the frame through
the ``env`` host functions (:mod:`wasm_host.host.yomo`) and writes its answers.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from .engine import U32_MASK, CompiledModule, FuncType, Limits, ValType, WasiConfig
from .errors import ConventionError, GuestError, TrapCause, WasmTrap
from .host import HostModule, default_host_modules
from .host.yomo import Answer, YomoHost
from .linker import LinkedInstance, instantiate

__all__ = ["Answer", "YomoAbi", "YomoCaller", "YomoGeneration"]

logger = logging.getLogger(__name__)

_CONTEXT_IMPORTS = frozenset(
    {
        "yomo_context_tag",
        "yomo_context_data",
        "yomo_context_data_size",
        "yomo_write",
        "yomo_write_with_target",
    }
)
_FIRST_IMPORTS = frozenset({"yomo_load_input", "yomo_dump_output"})
_VOID = FuncType((), ())


class YomoGeneration(str, Enum):
    """Which generation of the ABI a module uses."""

    #: ``yomo_context_*`` and ``yomo_write`` (YoMo v1.13 to v1.19, the ``yomo`` crate 0.2-0.3).
    CONTEXT = "context"
    #: ``yomo_load_input`` and ``yomo_dump_output``, one answer per frame (up to v1.12).
    LOAD_DUMP = "load/dump"


@dataclass(frozen=True)
class YomoAbi:
    """The facts of a module's YoMo ABI, read off its imports and exports."""

    generation: YomoGeneration
    start: str | None
    observe: str | None
    init: tuple[str, ...]
    wanted_target: bool
    alloc: bool

    @classmethod
    def detect(cls, module: CompiledModule) -> YomoAbi:
        """Reads the ABI; :class:`ConventionError` if the module does not follow it."""
        imported = {i.name for i in module.imports if i.module == "env"}
        if imported & _FIRST_IMPORTS:
            generation = YomoGeneration.LOAD_DUMP
            handler = FuncType((ValType.I32,), ())
        elif imported & _CONTEXT_IMPORTS or module.function_type("yomo_observe_datatags"):
            generation = YomoGeneration.CONTEXT
            handler = _VOID
        else:
            raise ConventionError("the module imports none of YoMo's env.yomo_* functions")
        found = module.function_type("yomo_handler")
        if found != handler:
            raise ConventionError(f"yomo_handler is {found}, not {handler}, for this generation")
        # yomo_init_fn was the user's initialisation for a few weeks of 2023.
        init = tuple(n for n in ("yomo_init", "yomo_init_fn") if module.function_type(n))
        for name in init:
            if module.function_type(name) not in (_VOID, FuncType((), (ValType.I32,))):
                raise ConventionError(f"{name} is {module.function_type(name)}")
        start = next(
            (n for n in ("_initialize", "_start") if module.function_type(n) == _VOID), None
        )
        observe = "yomo_observe_datatags" if module.function_type("yomo_observe_datatags") else None
        return cls(
            generation=generation,
            start=start,
            observe=observe,
            init=init,
            wanted_target=module.function_type("yomo_wanted_target") == _VOID,
            alloc=module.function_type("yomo_alloc") == FuncType((ValType.I32,), (ValType.I32,)),
        )

    def describe(self) -> str:
        """One line for ``python -m wasm_host inspect``."""
        parts = [f"YoMo stream function ({self.generation.value} generation)"]
        if self.start:
            parts.append(f"runs {self.start} first")
        if self.observe:
            parts.append("tags from yomo_observe_datatags")
        parts.extend(self.init)
        if self.wanted_target:
            parts.append("wanted target")
        if self.alloc:
            parts.append("yomo_alloc")
        return ", ".join(parts)


def _alloc_with(caller: weakref.ref[YomoCaller], size: int) -> int:
    live = caller()
    if live is None:
        raise WasmTrap(TrapCause.HOST_ERROR, "the instance was released")
    return int(live._alloc(size)) & U32_MASK


def _exited_cleanly(trap: WasmTrap) -> bool:
    # A command's _start may end with proc_exit(0), which engines report as an exit.
    return trap.cause is TrapCause.GUEST_TRAP and trap.detail.endswith("exited with status 0")


class YomoCaller:
    """Runs one instance of a YoMo-ABI module: start-up on creation, then
    :meth:`call` per frame. Not thread-safe; after a :class:`WasmTrap` the instance must
    be discarded (:meth:`close`) and a new caller made.

    Use :meth:`create` to instantiate; ``observed`` and ``wanted_target`` are what the
    guest declared while starting.
    """

    def __init__(self, linked: LinkedInstance, host: YomoHost, abi: YomoAbi | None = None) -> None:
        self.linked = linked
        self.instance = linked.instance
        self.host = host
        self.abi = abi or YomoAbi.detect(self.instance.module)
        self._handler = self.instance.caller("yomo_handler")
        if self.abi.alloc:
            # Through a weak reference: the host lives as long as the engine's store.
            self._alloc = self.instance.caller("yomo_alloc")
            caller = weakref.ref(self)
            host.alloc = lambda size: _alloc_with(caller, size)
        self._start()

    @classmethod
    def create(
        cls,
        module: CompiledModule,
        *,
        wasi: WasiConfig | None = None,
        limits: Limits | None = None,
        host_modules: Sequence[HostModule] | None = None,
        http_hosts: Sequence[str] = (),
        max_answers: int = 1024,
    ) -> YomoCaller:
        """A started instance of ``module``: the ``env`` host functions plus
        ``host_modules`` (the WasmEdge ones and WASI-NN by default)."""
        abi = YomoAbi.detect(module)
        host = YomoHost(max_answers=max_answers, http_hosts=http_hosts)
        hosts = list(host_modules) if host_modules is not None else default_host_modules()
        linked = instantiate(module, wasi=wasi, limits=limits, host_modules=[host, *hosts])
        try:
            return cls(linked, host, abi)
        except BaseException:
            linked.close()
            raise

    @property
    def observed(self) -> tuple[int, ...]:
        """The tags the function observes, in the order it named them."""
        return tuple(self.host.observed)

    @property
    def wanted_target(self) -> str | None:
        """The target the function asked for (``yomo_wanted_target``), if any."""
        return self.host.wanted_target

    def _start(self) -> None:
        abi, instance = self.abi, self.instance
        instance.begin_call()
        try:
            if abi.start is not None:
                try:
                    instance.caller(abi.start)()
                except WasmTrap as trap:
                    if not _exited_cleanly(trap):
                        raise
            if abi.observe is not None:
                instance.caller(abi.observe)()
            if abi.wanted_target:
                instance.caller("yomo_wanted_target")()
            statuses = [instance.caller(name)() for name in abi.init]
        except BaseException:
            with contextlib.suppress(Exception):
                instance.end_call()
            raise
        instance.end_call()
        self.host.starting = False
        for name, status in zip(abi.init, statuses, strict=True):
            if status:  # an i32 initialisation that failed: YoMo stops the function
                raise GuestError(f"{name} returned {status & U32_MASK}: the function did not start")
        if not self.host.observed:
            logger.warning("the function observes no tag")

    def call(
        self, payload: bytes, tag: int, metadata: Mapping[str, str] | None = None
    ) -> list[Answer]:
        """Handles one frame; returns its answers in the order the guest wrote them.

        ``metadata`` is the frame's metadata; YoMo's guest ABI has no call to read it, so
        it only travels with the frame. Raises :class:`WasmTrap` when the guest traps, a
        pointer is bad, a limit runs out or it writes too much.
        """
        limit = self.instance.limits.max_memory
        if limit is not None and len(payload) > limit:
            raise WasmTrap(
                TrapCause.MEMORY_LIMIT,
                f"a {len(payload)}-byte frame does not fit the {limit}-byte memory limit",
            )
        host, instance = self.host, self.instance
        host.begin(tag, bytes(payload), metadata or {})
        instance.begin_call()
        try:
            if self.abi.generation is YomoGeneration.LOAD_DUMP:
                self._handler(len(payload))
            else:
                self._handler()
        except BaseException:
            with contextlib.suppress(Exception):
                instance.end_call()
            raise
        instance.end_call()
        if self.abi.generation is YomoGeneration.LOAD_DUMP:
            return [host.dumped] if host.dumped is not None else []
        return list(host.answers)

    def close(self) -> None:
        """Releases the instance and its host resources."""
        self.linked.close()

    def __del__(self) -> None:
        # Released with the last reference when nobody closed it: the engine keeps host
        # functions until their store is freed, and they lead back to the store through
        # the guest's memory, so only closing frees it before interpreter exit.
        with contextlib.suppress(Exception):
            self.close()

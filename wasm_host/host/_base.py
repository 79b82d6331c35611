"""What every host module shares: the calling instance's memory, and a small registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..engine import FuncType, GuestMemory, HostFunction, ValType
from ..errors import LinkError

I32 = ValType.I32
I64 = ValType.I64


class HostContext:
    """The per-instance state host functions share: the guest's memory, bound once the
    instance exists, and clean-up hooks run when the instance is discarded."""

    def __init__(self) -> None:
        self._memory: GuestMemory | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def memory(self) -> GuestMemory:
        """The calling guest's memory 0."""
        if self._memory is None:
            raise LinkError("a host function ran before its instance had a memory")
        return self._memory

    def bind(self, memory: GuestMemory) -> None:
        """Attaches the instance's memory (after instantiation)."""
        self._memory = memory

    def on_close(self, closer: Callable[[], None]) -> None:
        """Registers a clean-up to run when the instance is discarded."""
        self._closers.append(closer)

    def close(self) -> None:
        """Runs the clean-ups (returns TFLite interpreters to their pool, for example)."""
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            closer()


class HostModule(ABC):
    """A set of host functions under one import module name, e.g. ``wasmedge_image``."""

    name: ClassVar[str]

    def unavailable_reason(self) -> str | None:
        """Why this module cannot be provided here (a runtime is missing), or ``None``."""
        return None

    @abstractmethod
    def signatures(self) -> dict[str, FuncType]:
        """Every function of the module and its wasm type."""

    @abstractmethod
    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        """The functions for one instance, by name; they may keep per-instance state."""

    def functions(self, context: HostContext, names: set[str] | None = None) -> list[HostFunction]:
        """:class:`HostFunction` objects for one instance (only ``names`` if given)."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise LinkError(f"the module imports {self.name}, but {reason}")
        types = self.signatures()
        bound = self.bind(context)
        return [
            HostFunction(self.name, name, types[name], call)
            for name, call in bound.items()
            if names is None or name in names
        ]


class PrefixedHostModule(HostModule):
    """A host module whose functions are the methods of one object per instance, each
    imported as ``prefix`` + the method's name (``wasmedge_tensorflowlite_`` +
    ``create_session``), with its type from ``methods``."""

    prefix: ClassVar[str]
    methods: ClassVar[Mapping[str, FuncType]]

    @abstractmethod
    def instance_functions(self, context: HostContext) -> object:
        """The object whose methods serve one instance (it may keep per-instance state)."""

    def signatures(self) -> dict[str, FuncType]:
        return {self.prefix + name: ty for name, ty in self.methods.items()}

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        functions = self.instance_functions(context)
        return {self.prefix + name: getattr(functions, name) for name in self.methods}

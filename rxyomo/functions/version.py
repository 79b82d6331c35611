"""One loaded version of a function's code, and the instances that run it.

A :class:`FunctionVersion` is what loading a source file once yields: checked, compiled,
ready to make instances. An :class:`Instance` runs one call at a time on one worker
thread. Hot reload loads a new version beside the old one; workers move to it between
frames.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rxyomo.functions.frames import Answer, Frame
from rxyomo.functions.spec import FunctionConfig

__all__ = ["VERSION_DIGITS", "FunctionVersion", "Instance", "LoadError"]

#: Hex digits of the sha256 that name a version (64 bits: no accidental collision).
VERSION_DIGITS = 16


class LoadError(Exception):
    """A function's code cannot be served; the message names the function and the reason."""

    def __init__(self, function: str, reason: str) -> None:
        self.function = function
        self.reason = reason
        super().__init__(f"function {function!r}: {reason}")


class Instance(ABC):
    """Runs a version's code on one thread, one call at a time."""

    @abstractmethod
    def call(self, frame: Frame) -> list[Answer]:
        """The answers to ``frame``; raises :class:`~rxyomo.functions.frames.Fault`."""

    def memory(self) -> int | None:
        """Bytes of memory the instance holds, where that is known (wasm's linear memory)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases the instance's resources."""


class FunctionVersion(ABC):
    """A function's code as loaded from its source at one moment.

    ``sha256`` is the code's digest (the WebAssembly module's, or the Python file's);
    ``observe`` the tags it observes. A WebAssembly version names the ``convention`` it
    was detected to follow; ``wanted_target`` is the target its connection asks for (a
    YoMo-ABI module's ``yomo_wanted_target``), ``""`` for none.
    """

    #: How the code is called, in words ("" for Python).
    convention: str = ""
    #: The target the function's connection asks for ("" for none).
    wanted_target: str = ""

    def __init__(self, config: FunctionConfig, sha256: str, observe: tuple[int, ...]) -> None:
        self.config = config
        self.sha256 = sha256
        self.observe = observe

    @property
    def name(self) -> str:
        """The function's name."""
        return self.config.name

    @property
    def version(self) -> str:
        """The short form of :attr:`sha256` that answers and stats carry."""
        return self.sha256[:VERSION_DIGITS]

    def describe(self) -> str:
        """One line for logs: the function, the tags this code observes, its answers, and
        the convention detected."""
        summary = self.config.describe(self.observe)
        return f"{summary} as {self.convention}" if self.convention else summary

    @abstractmethod
    def instantiate(self) -> Instance:
        """A new instance; raises :class:`~rxyomo.functions.frames.Fault` when none can
        be made."""

    def retire(self) -> None:  # noqa: B027 - optional hook
        """Called once a newer version took over (calls in flight may still finish)."""

"""Canaries for the private names of other packages that rxyomo relies on.

A :class:`PrivateName` says which upstream package holds a name, on what, the shape rxyomo
expects of it, and which of rxyomo's files uses it and how. :func:`problem` answers what is
wrong with it in the installed release, in words that name the name, the release and the
two ways out: pin the package below that release, or port rxyomo's code.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Upstream:
    """A distribution rxyomo reaches into, and how many version parts make one of its releases
    (aioquic releases minor versions, 1.7; wasmtime-py a major version each month, 50)."""

    distribution: str
    release_parts: int

    def installed(self) -> str:
        return importlib.metadata.version(self.distribution)

    def below(self, version: str) -> str:
        """The cap that leaves ``version`` out: its release when it is that release's first
        (1.8.0: ``1.8``), else the version itself (1.7.3)."""
        parts = version.split(".")
        release = parts[: self.release_parts]
        if all(part == "0" for part in parts[self.release_parts :]):
            return ".".join(release)
        return version


class Shape:
    """What rxyomo needs a name to be; the base class only needs it to exist."""

    def expected(self, label: str) -> str:
        """How the name reads in a message: ``QuicConnection._write_ack_frame(builder, ...)``."""
        return label

    def mismatch(self, value: Any) -> str | None:
        """What ``value`` is instead of this shape, or None when it fits."""
        return None


def _parameters(value: Any) -> list[inspect.Parameter] | None:
    try:
        parameters = list(inspect.signature(value).parameters.values())
    except (TypeError, ValueError):
        return None
    # A function read off its class still has ``self``; a classmethod is already bound.
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    return parameters


#: Only there: the shape of a constant, or of a name whose type does not matter.
EXISTS = Shape()


@dataclass(frozen=True)
class Method(Shape):
    """A callable with these parameter names (after ``self``), returning ``returns``."""

    params: tuple[str, ...]
    returns: str | None = None

    def expected(self, label: str) -> str:
        text = f"{label}({', '.join(self.params)})"
        return text if self.returns is None else f"{text} -> {self.returns}"

    def mismatch(self, value: Any) -> str | None:
        parameters = _parameters(value)
        if parameters is None:
            return "it is not a function"
        names = tuple(p.name for p in parameters)
        if names != self.params:
            return f"it takes ({', '.join(names)})"
        if self.returns is not None:
            annotation = inspect.signature(value).return_annotation
            returned = getattr(annotation, "__name__", str(annotation))
            if returned != self.returns:
                return f"it returns {returned}"
        return None


@dataclass(frozen=True)
class Arity(Shape):
    """A callable taking ``count`` positional arguments (generated bindings, whose parameter
    names mean nothing)."""

    count: int

    def expected(self, label: str) -> str:
        return f"{label} taking {self.count} arguments"

    def mismatch(self, value: Any) -> str | None:
        parameters = _parameters(value)
        if parameters is None:
            return "it is not a function"
        if len(parameters) != self.count:
            return f"it takes {len(parameters)}"
        return None


@dataclass(frozen=True)
class InstanceOf(Shape):
    """A value of one of these types."""

    types: tuple[type, ...]

    def expected(self, label: str) -> str:
        return f"{label} ({' or '.join(t.__name__ for t in self.types)})"

    def mismatch(self, value: Any) -> str | None:
        if isinstance(value, self.types):
            return None
        return f"it is a {type(value).__name__}"


@dataclass(frozen=True)
class SubclassOf(Shape):
    """A class derived from ``base`` (a ctypes structure, say)."""

    base: type

    def expected(self, label: str) -> str:
        return f"{label} (a {self.base.__name__} type)"

    def mismatch(self, value: Any) -> str | None:
        if isinstance(value, type) and issubclass(value, self.base):
            return None
        return f"it is {value!r}"


@dataclass(frozen=True)
class CFunction(Shape):
    """A ctypes function of ``count`` arguments, as the bindings declare it; rxyomo makes its
    own copy of the symbol with its own types, which must agree."""

    count: int

    def expected(self, label: str) -> str:
        return f"{label} (a C function of {self.count} arguments)"

    def mismatch(self, value: Any) -> str | None:
        argtypes = getattr(value, "argtypes", None)
        if not callable(value) or argtypes is None:
            return "it is not a declared C function"
        if len(argtypes) != self.count:
            return f"it takes {len(argtypes)}"
        return None


@dataclass(frozen=True)
class CCallback(Shape):
    """A ctypes callback type of ``count`` arguments whose C result is ``restype`` (``result``
    in messages: ctypes names ``c_size_t`` after the type it aliases)."""

    count: int
    restype: Any
    result: str

    def expected(self, label: str) -> str:
        return f"{label} (a callback of {self.count} arguments returning {self.result})"

    def mismatch(self, value: Any) -> str | None:
        argtypes = getattr(value, "_argtypes_", None)
        if argtypes is None:
            return "it is not a callback type"
        if len(argtypes) != self.count:
            return f"it takes {len(argtypes)}"
        restype = getattr(value, "_restype_", None)
        if restype is not self.restype:
            return f"it returns {getattr(restype, '__name__', restype)}"
        return None


@dataclass(frozen=True)
class CUnion(Shape):
    """A ctypes union of ``size`` bytes with at least these fields."""

    fields: tuple[str, ...]
    size: int

    def expected(self, label: str) -> str:
        return f"{label} (a {self.size}-byte union of {', '.join(self.fields)})"

    def mismatch(self, value: Any) -> str | None:
        if not (isinstance(value, type) and issubclass(value, ctypes.Union)):
            return f"it is {value!r}"
        names = {field[0] for field in getattr(value, "_fields_", ())}
        missing = [name for name in self.fields if name not in names]
        if missing:
            return f"it has no {', '.join(missing)}"
        if ctypes.sizeof(value) != self.size:
            return f"it is {ctypes.sizeof(value)} bytes"
        return None


@dataclass(frozen=True)
class PrivateName:
    """One name of another package's that rxyomo relies on although it is not public."""

    upstream: Upstream
    owner: str  # what holds the name, as messages say it: "QuicConnection", "wasmtime._ffi"
    name: str
    used_in: str  # the file of rxyomo's that uses it
    use: str  # how, as a verb: "overrides", "reads", "calls"
    shape: Shape = EXISTS
    port: str = "port the code"  # the other way out than a pin
    #: Which object the test looks the name up on, when not ``owner`` itself: "connection"
    #: (a live one) for an attribute only a live object has.
    holder: str = ""

    @property
    def label(self) -> str:
        return f"{self.owner}.{self.name}"

    @property
    def where(self) -> str:
        return self.holder or self.owner


def report(entry: PrivateName, version: str, how: str | None = None) -> str:
    """The message for ``entry`` having gone from ``version`` (or changed, as ``how`` says)."""
    upstream = entry.upstream
    text = (
        f"{upstream.distribution} {version} no longer has {entry.shape.expected(entry.label)}, "
        f"which {entry.used_in} {entry.use}"
    )
    if how is not None:
        text += f": {how}"
    return f"{text}; pin {upstream.distribution}<{upstream.below(version)} or {entry.port}"


_MISSING = object()


def problem(entry: PrivateName, holder: Any, version: str | None = None) -> str | None:
    """What is wrong with ``entry`` on ``holder`` (the module, class or object that should
    have it) in ``version`` (the installed release by default), or None."""
    value = getattr(holder, entry.name, _MISSING)
    if version is None:
        version = entry.upstream.installed()
    if value is _MISSING:
        return report(entry, version)
    how = entry.shape.mismatch(value)
    return None if how is None else report(entry, version, how)


def require(entry: PrivateName, holder: Any) -> Any:
    """``entry``'s value on ``holder``; fails the test, naming the name, if it is not there
    in the shape rxyomo needs."""
    found = problem(entry, holder)
    if found is not None:
        pytest.fail(found, pytrace=False)
    return getattr(holder, entry.name)


def ids(entries: Sequence[PrivateName]) -> list[str]:
    """Test ids: each entry's owner and name."""
    return [entry.label for entry in entries]

"""What a served function is: its source, the tags it observes, its reply, its limits.

A :class:`FunctionConfig` is built from loosely typed values (command-line flags, a YAML
entry) by :func:`function_config`, which checks every field and refuses a bad one with a
:class:`SpecError` naming the function and the field. Nothing here loads code: that is
:mod:`rxyomo.functions.loading`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from rxyomo.client.source import check_tag
from rxyomo.functions.wasm_fields import calling_problem, parse_nn_preload

__all__ = [
    "DEFAULT_LIMITS",
    "FunctionConfig",
    "FunctionKind",
    "FunctionLimits",
    "SpecError",
    "function_config",
    "parse_size",
    "parse_tag",
]

FunctionKind = Literal["wasm", "python"]
T = TypeVar("T")

#: Suffixes that say what a source file is.
_KINDS: Mapping[str, FunctionKind] = {".wasm": "wasm", ".wat": "wasm", ".py": "python"}

#: One WebAssembly page: the least memory an instance can have.
_PAGE = 64 * 1024
#: wasm32 cannot address more.
_MAX_MEMORY = 4 * 1024**3
_MAX_TIMEOUT_MS = 3_600_000
_MAX_INSTANCES = 64
_MAX_QUEUE = 65_536

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class SpecError(ValueError):
    """A function's configuration is invalid; the message names the function and field.

    ``function`` is the function's name ("" before it is known), ``field`` the offending
    field (``limits.memory``), ``where`` a prefix such as ``functions.yaml: line 4``.
    """

    def __init__(self, function: str, field: str, message: str, where: str = "") -> None:
        self.function = function
        self.field = field
        self.message = message
        self.where = where
        who = f"function {function!r}" if function else "a function"
        text = f"{who}: {field}: {message}" if field else f"{who}: {message}"
        super().__init__(f"{where}: {text}" if where else text)

    def located(self, where: str) -> SpecError:
        """The same error, prefixed with ``where`` (a file and line)."""
        return SpecError(self.function, self.field, self.message, where)


@dataclass(frozen=True)
class FunctionLimits:
    """How much one function may take.

    ``memory`` bounds each instance's linear memory (bytes), ``timeout_ms`` each call's
    wall time, ``fuel`` each call's wasm instructions (roughly); ``None`` is unlimited.
    These three apply to WebAssembly only. ``instances`` calls run at once, each on a
    worker thread of its own; ``queue`` frames wait beyond those, and a function whose
    queue is full refuses more (back-pressure, never an unbounded buffer).
    """

    memory: int | None = 256 * 1024**2
    timeout_ms: int | None = 5000
    fuel: int | None = None
    instances: int = 1
    queue: int = 64

    @property
    def timeout(self) -> float | None:
        """The call deadline in seconds."""
        return self.timeout_ms / 1000 if self.timeout_ms is not None else None


#: The limits a WebAssembly function gets unless told otherwise.
DEFAULT_LIMITS = FunctionLimits()


@dataclass(frozen=True)
class FunctionConfig:
    """One function to serve.

    ``source`` is a ``.wasm`` (or ``.wat``) module, whose ``export`` is called with each
    frame's payload (wasm-bindgen, wasmedge-bindgen), a module of YoMo's stream-function
    ABI (no ``export``, no ``reply``: it names its tags and writes its own answers), or a
    Python module following YoMo's template (``handler(ctx)``, ``observe_datatags()``,
    optional ``init()``). ``reply`` is the tag the result is written under (``None``: a
    sink). ``dirs`` maps a guest path to a host directory, preopened read-only; ``env``
    is the guest's environment; ``nn_preload`` names models for WASI-NN's
    ``load_by_name`` (a name to a ``.tflite`` file).
    """

    name: str
    source: Path
    kind: FunctionKind
    observe: tuple[int, ...] = ()
    export: str | None = None
    reply: int | None = None
    dirs: Mapping[str, Path] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    limits: FunctionLimits = DEFAULT_LIMITS
    nn_preload: Mapping[str, Path] = field(default_factory=dict)

    def describe(self, observe: tuple[int, ...] | None = None) -> str:
        """A one-line summary, for logs; ``observe`` the tags the code declared, if
        known."""
        tags = ", ".join(f"0x{tag:X}" for tag in (observe or self.observe)) or "its own tags"
        what = self.source.name
        if self.kind == "wasm" and self.export is None:
            # Only a module of YoMo's ABI is served without an export.
            answer = "answers on its own tags"
        else:
            answer = f"reply 0x{self.reply:X}" if self.reply is not None else "a sink"
            what = f"{what}:{self.export}" if self.kind == "wasm" else what
        return f"{self.name} ({self.kind} {what}, observes {tags}, {answer})"


def parse_size(value: object) -> int:
    """Bytes from ``134217728``, ``"128MiB"``, ``"64 KiB"``, ``"1.5GiB"`` or ``"100MB"``.

    Raises :class:`ValueError` naming what is wrong.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 128MiB, got {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a size such as 128MiB, got {value!r}")
    match = _SIZE.match(value)
    if match is None or match.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size such as 128MiB, got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_tag(value: object) -> int:
    """A data tag from an int or a string (``"0x10"``, ``"16"``)."""
    if isinstance(value, str):
        try:
            tag = int(value.strip(), 0)
        except ValueError:
            raise ValueError(f"a data tag is a number such as 0x10, got {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        tag = value
    else:
        raise ValueError(f"a data tag is a number such as 0x10, got {value!r}")
    check_tag(tag)
    return tag


def _tags(value: object) -> tuple[int, ...]:
    items: Iterable[object]
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        items = str(value).split(",") if isinstance(value, str) else [value]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError(f"expected a tag or a list of tags, got {value!r}")
    tags: list[int] = []
    for item in items:
        tag = parse_tag(item)
        if tag in tags:
            raise ValueError(f"tag 0x{tag:X} is listed twice")
        tags.append(tag)
    return tuple(tags)


def _number(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")
    return value


def _strings(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of {what}, got {value!r}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"a key must be a non-empty string, got {key!r}")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ValueError(f"the value of {key!r} must be a string, got {item!r}")
        out[key] = str(item)
    return out


class _Checker:
    """Turns a bad field of one function into a :class:`SpecError` naming both."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, field: str, message: str) -> SpecError:
        return SpecError(self.name, field, message)

    def check(self, field: str, parse: Callable[[object], T], value: object) -> T:
        try:
            return parse(value)
        except ValueError as exc:
            raise self.fail(field, str(exc)) from None


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError("", "name", f"a function needs a non-empty name, got {value!r}")
    if any(not char.isprintable() for char in value):
        raise SpecError("", "name", f"the name {value!r} has unprintable characters")
    return value


def _source(check: _Checker, value: object, base: Path, kind: object) -> tuple[Path, FunctionKind]:
    if not isinstance(value, (str, Path)) or not str(value):
        raise check.fail("source", f"expected a file name, got {value!r}")
    path = Path(value).expanduser()
    path = (base / path if not path.is_absolute() else path).resolve()
    found: FunctionKind
    if kind is None:
        guessed = _KINDS.get(path.suffix.lower())
        if guessed is None:
            raise check.fail("source", f"{path.name}: a function is a .wasm, .wat or .py file")
        found = guessed
    elif kind == "wasm" or kind == "python":
        found = kind
    else:
        raise check.fail("source", f"unknown kind {kind!r}")
    if not path.is_file():
        raise check.fail("source", f"{path} is not a file")
    return path, found


def _dirs(check: _Checker, value: object, base: Path) -> dict[str, Path]:
    pairs: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, (list, tuple)):
        split = []
        for item in value:
            guest, found, host = str(item).partition("=")
            if not found:
                raise check.fail("dirs", f"expected GUEST=HOST, got {item!r}")
            split.append((guest, host))
        pairs = split
    else:
        raise check.fail("dirs", f"expected a mapping of guest path to host folder, got {value!r}")
    dirs: dict[str, Path] = {}
    for guest, host in pairs:
        if not isinstance(guest, str) or not guest.startswith("/"):
            raise check.fail("dirs", f"a guest path is absolute (/model), got {guest!r}")
        if not isinstance(host, (str, Path)) or not str(host):
            raise check.fail("dirs", f"{guest}: expected a host folder, got {host!r}")
        folder = Path(host).expanduser()
        folder = (base / folder if not folder.is_absolute() else folder).resolve()
        if not folder.is_dir():
            raise check.fail("dirs", f"{guest}: {folder} is not a folder")
        dirs[guest] = folder
    return dirs


_WASM_ONLY_LIMITS = ("memory", "timeout_ms", "fuel")
_LIMIT_KEYS = (*_WASM_ONLY_LIMITS, "instances", "queue")


def _limits(check: _Checker, value: object, kind: FunctionKind) -> FunctionLimits:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise check.fail("limits", f"expected a mapping, got {value!r}")
    for key in value:
        if key not in _LIMIT_KEYS:
            known = ", ".join(_LIMIT_KEYS)
            raise check.fail(f"limits.{key}", f"unknown limit (known: {known})")
        if kind == "python" and key in _WASM_ONLY_LIMITS and value[key] is not None:
            raise check.fail(
                f"limits.{key}",
                "applies to WebAssembly only: a Python function runs unsandboxed in the "
                "host's interpreter",
            )
    limits: dict[str, int | None] = {}
    if "memory" in value and value["memory"] is not None:
        memory = check.check("limits.memory", parse_size, value["memory"])
        if not _PAGE <= memory <= _MAX_MEMORY:
            raise check.fail("limits.memory", f"must be between 64KiB and 4GiB, got {memory}")
        limits["memory"] = memory
    bounds = {
        "timeout_ms": (1, _MAX_TIMEOUT_MS),
        "fuel": (1, 2**62),
        "instances": (1, _MAX_INSTANCES),
        "queue": (1, _MAX_QUEUE),
    }
    for key, (low, high) in bounds.items():
        if key in value and value[key] is not None:
            limits[key] = _checked_number(check, key, value[key], low, high)
    if kind == "python":
        limits.setdefault("memory", None)
        limits.setdefault("timeout_ms", None)
    return FunctionLimits(**limits)  # type: ignore[arg-type]


def function_config(
    name: object,
    source: object,
    *,
    kind: object = None,
    observe: object = (),
    export: object = None,
    reply: object = None,
    dirs: object = None,
    env: object = None,
    limits: object = None,
    nn_preload: object = None,
    base_dir: str | Path | None = None,
) -> FunctionConfig:
    """A checked :class:`FunctionConfig` from loosely typed values.

    Relative paths (``source``, the host side of ``dirs``, ``nn_preload``'s models) are
    taken from ``base_dir`` (default: the working directory). ``kind`` ("wasm" or
    "python") defaults to what the source's suffix says. ``limits`` is a mapping of
    ``memory`` (bytes or ``"128MiB"``), ``timeout_ms``, ``fuel``, ``instances`` and
    ``queue``. ``nn_preload`` maps a name to a model file, or lists ``NAME:PATH`` (or
    WasmEdge's ``NAME:ENCODING:TARGET:PATH``). A module of YoMo's stream-function ABI
    (it exports ``yomo_handler``) takes no ``export`` or ``reply``, and needs no
    ``observe``. Raises :class:`SpecError`.
    """
    fn_name = _name(name)
    check = _Checker(fn_name)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    path, found_kind = _source(check, source, base, kind)
    tags = check.check("observe", _tags, observe) if observe not in (None, (), []) else ()
    reply_tag = check.check("reply", parse_tag, reply) if reply is not None else None
    if found_kind == "wasm":
        problem = calling_problem(path, export, tags, reply_tag)
        if problem is not None:
            raise check.fail(*problem)
    else:
        if export is not None:
            raise check.fail("export", "applies to WebAssembly only (a Python module has handler)")
        for what, given in (("dirs", dirs), ("env", env), ("nn_preload", nn_preload)):
            if given:
                raise check.fail(what, "applies to WebAssembly only")
    folders = _dirs(check, dirs, base) if dirs else {}
    variables: dict[str, str] = {}
    if isinstance(env, (list, tuple)):
        variables = _env_pairs(check, env)
    elif env:
        variables = check.check("env", lambda v: _strings(v, "variables"), env)
    return FunctionConfig(
        name=fn_name,
        source=path,
        kind=found_kind,
        observe=tags,
        export=export if isinstance(export, str) else None,
        reply=reply_tag,
        dirs=folders,
        env=variables,
        limits=_limits(check, limits, found_kind),
        nn_preload=(
            check.check("nn_preload", lambda v: parse_nn_preload(v, base), nn_preload)
            if nn_preload
            else {}
        ),
    )


def _checked_number(check: _Checker, key: str, value: object, low: int, high: int) -> int:
    try:
        return _number(value, key, low, high)
    except ValueError as exc:
        raise check.fail(f"limits.{key}", str(exc)) from None


def _env_pairs(check: _Checker, items: Iterable[object]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for item in items:
        key, found, value = str(item).partition("=")
        if not found or not key:
            raise check.fail("env", f"expected NAME=VALUE, got {item!r}")
        variables[key] = value
    return variables

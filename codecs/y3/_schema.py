"""From Python types to Y3 shapes: which Kind a value has, what is a list, what is a struct.

Dataclass fields declare their Y3 key with ``y3_field(key)`` (Go's ``y3:"0x10"`` struct tag).
Integer and float widths come from, in order: ``y3_field(kind=...)``, an ``Annotated[...,
Kind.X]`` marker, or the defaults: ``int`` is int64, ``float`` is float64 (Go's ``int`` and
``float64``).
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from y3._errors import KeyOutOfRangeError, UnsupportedTypeError
from y3._types import Kind

__all__ = [
    "ListShape",
    "PrimShape",
    "Shape",
    "StructField",
    "StructShape",
    "infer_shape",
    "shape_of",
    "y3_field",
]

METADATA_KEY = "y3"
USER_KEYS = range(0x10, 0x40)

_DEFAULT_KINDS: dict[type, Kind] = {
    bool: Kind.BOOL,
    int: Kind.INT64,
    float: Kind.FLOAT64,
    str: Kind.STR,
    bytes: Kind.BYTES,
    bytearray: Kind.BYTES,
    memoryview: Kind.BYTES,
}
_INT_KINDS = {Kind.INT32, Kind.INT64, Kind.UINT32, Kind.UINT64}
_FLOAT_KINDS = {Kind.FLOAT32, Kind.FLOAT64}
ZERO_VALUES: dict[Kind, object] = {
    Kind.INT32: 0,
    Kind.INT64: 0,
    Kind.UINT32: 0,
    Kind.UINT64: 0,
    Kind.FLOAT32: 0.0,
    Kind.FLOAT64: 0.0,
    Kind.BOOL: False,
    Kind.STR: "",
    Kind.BYTES: b"",
}


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """What ``y3_field`` attaches to a dataclass field."""

    key: int
    kind: Kind | None = None


def y3_field(
    key: int,
    *,
    kind: Kind | None = None,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field carrying Y3 key ``key`` (0x10-0x3F), like Go's ``y3:"0x10"`` tag.

    ``kind`` fixes the width of an int or float field (or of a list's items).
    """
    if key not in USER_KEYS:
        raise KeyOutOfRangeError(f"field key {key:#x} is outside the user keys 0x10-0x3F")
    metadata = {METADATA_KEY: FieldSpec(key, kind)}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class PrimShape:
    """A primitive value of one Kind."""

    kind: Kind


@dataclasses.dataclass(frozen=True)
class ListShape:
    """A list (or ``tuple[T, ...]``) of items of one shape: an array node."""

    item: Shape
    as_tuple: bool = False


@dataclasses.dataclass(frozen=True)
class StructField:
    """One keyed dataclass field."""

    name: str
    key: int
    shape: Shape
    has_default: bool


@dataclasses.dataclass(eq=False)
class StructShape:
    """A dataclass: a node whose children are its keyed fields, in declaration order."""

    cls: type
    fields: tuple[StructField, ...] = ()


Shape = PrimShape | ListShape | StructShape

_STRUCTS: dict[type, StructShape] = {}  # complete shapes, read without the lock
_BUILDING: dict[type, StructShape] = {}  # shapes of the build under way, under the lock
_LOCK = threading.RLock()


def _kind_for(base: object, kind: Kind | None) -> Kind:
    default = _DEFAULT_KINDS.get(base) if isinstance(base, type) else None
    if default is None:
        raise UnsupportedTypeError(f"no Y3 type for {base!r}")
    if kind is None:
        return default
    compatible = (
        (default in _INT_KINDS and kind in _INT_KINDS)
        or (default in _FLOAT_KINDS and kind in _FLOAT_KINDS)
        or default is kind
    )
    if not compatible:
        raise UnsupportedTypeError(f"{kind.value} does not fit a {base.__name__} field")  # type: ignore[attr-defined]
    return kind


def shape_of(tp: object, kind: Kind | None = None) -> Shape:
    """The shape of a type expression; ``kind`` applies to the primitive (or list items) in it."""
    if isinstance(tp, Kind):
        return PrimShape(tp)
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extras = get_args(tp)
        marker = next((e for e in extras if isinstance(e, Kind)), None)
        return shape_of(base, kind or marker)
    if origin in (list, typing.List):  # noqa: UP006 - the alias still appears in user code
        (item,) = get_args(tp) or (Any,)
        return ListShape(shape_of(item, kind))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return ListShape(shape_of(args[0], kind), as_tuple=True)
        raise UnsupportedTypeError(f"only tuple[T, ...] maps to Y3, not {tp!r}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return struct_shape(tp)
    if tp is Any and kind is not None:
        return PrimShape(kind)
    return PrimShape(_kind_for(tp, kind))


def struct_shape(cls: type) -> StructShape:
    """The (cached) shape of dataclass ``cls``.

    Shapes are built under a lock and published together once complete, so another thread
    never sees a half-built one; a dataclass that refers to itself finds its own shape while
    it is being built.
    """
    cached = _STRUCTS.get(cls)
    if cached is not None:
        return cached
    with _LOCK:
        cached = _STRUCTS.get(cls) or _BUILDING.get(cls)
        if cached is not None:
            return cached
        outermost = not _BUILDING
        shape = _BUILDING[cls] = StructShape(cls)
        try:
            shape.fields = _struct_fields(cls)
        except BaseException:
            if outermost:
                _BUILDING.clear()
            raise
        if outermost:
            _STRUCTS.update(_BUILDING)
            _BUILDING.clear()
        return shape


def _struct_fields(cls: type) -> tuple[StructField, ...]:
    try:
        hints = get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError & co. from unresolvable string annotations
        raise UnsupportedTypeError(
            f"cannot resolve the annotations of {cls.__name__}: {exc}"
        ) from exc
    fields: list[StructField] = []
    seen: dict[int, str] = {}
    for f in dataclasses.fields(cls):
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        spec = f.metadata.get(METADATA_KEY)
        if not isinstance(spec, FieldSpec):
            if f.init and not has_default:
                raise UnsupportedTypeError(
                    f"{cls.__name__}.{f.name} has no Y3 key (use y3_field) and no default"
                )
            continue
        if spec.key in seen:
            raise UnsupportedTypeError(
                f"{cls.__name__}.{f.name} reuses key {spec.key:#x} of {seen[spec.key]}"
            )
        seen[spec.key] = f.name
        fields.append(
            StructField(f.name, spec.key, shape_of(hints[f.name], spec.kind), has_default)
        )
    return tuple(fields)


def infer_shape(value: object) -> Shape:
    """The shape of a value when no type is given: int is int64, float is float64, a list takes
    its first item's shape (an empty list is an empty array either way)."""
    kind = _DEFAULT_KINDS.get(type(value))
    if kind is not None:
        return PrimShape(kind)
    if isinstance(value, (list, tuple)):
        if not value:
            return ListShape(PrimShape(Kind.BYTES), as_tuple=isinstance(value, tuple))
        return ListShape(infer_shape(value[0]), as_tuple=isinstance(value, tuple))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return struct_shape(type(value))
    if isinstance(value, bool | int | float | str | bytes):  # subclasses of the basic types
        for base, base_kind in _DEFAULT_KINDS.items():
            if isinstance(value, base):
                return PrimShape(base_kind)
    raise UnsupportedTypeError(f"no Y3 type for a {type(value).__name__} value")

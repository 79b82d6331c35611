"""An Rx operator that applies a WebAssembly export to every item of a stream.

``wasm_map(function)`` is a plain reactivex operator (observable in, observable out), usable
with ``observable.pipe(...)`` and with any fluent wrapper that accepts operators. A call that
traps or runs over a limit does not end the stream: by default the item becomes a
:class:`WasmOutcome` carrying the error, and the next item runs on a fresh instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from .errors import WasmHostError

__all__ = ["WasmOutcome", "wasm_map"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

ErrorPolicy = Literal["wrap", "skip", "raise"]


@dataclass(frozen=True)
class WasmOutcome(Generic[T, R]):
    """One item's result: ``value`` when the call succeeded, else ``error``."""

    item: T
    value: R | None = None
    error: WasmHostError | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None


def wasm_map(
    function: Callable[[T], R], *, errors: ErrorPolicy = "wrap"
) -> Callable[[Observable[T]], Observable[Any]]:
    """Applies ``function`` (typically a :class:`wasm_host.WasmFunction`) to each item.

    ``errors`` says what a failed call (:class:`WasmHostError`) does:

    - ``"wrap"`` (default): every item becomes a :class:`WasmOutcome`, failures included;
    - ``"skip"``: failed items are logged and dropped, the others emit their value;
    - ``"raise"``: the first failure terminates the stream with ``on_error``.
    """
    if errors == "raise":
        return ops.map(function)

    def outcome(item: T) -> WasmOutcome[T, R]:
        try:
            return WasmOutcome(item, function(item))
        except WasmHostError as error:
            return WasmOutcome(item, error=error)

    if errors == "wrap":
        return ops.map(outcome)
    if errors == "skip":

        def kept(result: WasmOutcome[T, R]) -> bool:
            if result.error is not None:
                logger.warning("dropping an item: %s", result.error)
            return result.error is None

        def value(result: WasmOutcome[T, R]) -> R | None:
            return result.value

        return reactivex.compose(ops.map(outcome), ops.filter(kept), ops.map(value))
    raise ValueError(f"errors must be 'wrap', 'skip' or 'raise', not {errors!r}")

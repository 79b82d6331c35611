"""YoMo's "continue on error": a failing item is reported and the stream goes on.

Every operator that runs user code on an item (``map``, ``on_observe``, ``encode``, a
predicate, a key selector, an accumulator, ...) catches what that code raises, drops the
item and hands an :class:`ItemError` to the pipeline's :class:`ErrorReporter`. The reporter
logs it and passes it to the handlers registered on it. Only a failure of the stream
itself (the source erred, an operator's contract was broken) ends the stream with
``on_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ErrorReporter", "ItemError", "ItemErrorHandler"]

_log = logging.getLogger("rxyomo.rx")


@dataclass(frozen=True, slots=True)
class ItemError:
    """One item that an operator could not process.

    Attributes:
        operator: the operator's name, e.g. ``"map"`` or ``"on_observe"``.
        item: the item it failed on (for a zipper or a window handler, the items it got).
        error: what the user code raised.
    """

    operator: str
    item: object
    error: Exception


ItemErrorHandler = Callable[[ItemError], object]


class ErrorReporter:
    """Collects the item errors of one pipeline: logs each and calls the handlers.

    One reporter is shared by every stage of a pipeline built from one source, so a handler
    registered anywhere along it sees the failures of all its operators.
    """

    __slots__ = ("_handlers", "_logger", "name")

    def __init__(self, name: str = "", *, logger: logging.Logger | None = None) -> None:
        self.name = name
        self._logger = logger or _log
        self._handlers: list[ItemErrorHandler] = []

    def add_handler(self, handler: ItemErrorHandler) -> Callable[[], None]:
        """Call ``handler`` with every later :class:`ItemError`; returns a function removing it."""
        self._handlers.append(handler)

        def remove() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return remove

    def report(self, operator: str, item: object, error: Exception) -> None:
        """Report that ``operator`` failed on ``item``; never raises."""
        self._logger.warning(
            "%s%s failed on an item, continuing: %r",
            f"{self.name}: " if self.name else "",
            operator,
            error,
        )
        if not self._handlers:
            return
        report = ItemError(operator, item, error)
        # A copy, so that a handler may remove itself while being called.
        for handler in tuple(self._handlers):
            try:
                handler(report)
            except Exception:
                self._logger.exception("an item-error handler failed")


_default = ErrorReporter()


def default_reporter() -> ErrorReporter:
    """The reporter operators use when none is given: it only logs."""
    return _default

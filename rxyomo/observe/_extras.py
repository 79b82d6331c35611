"""Importing what an observability feature needs, or one line naming the extra to install.

The words and the install command are the distribution's own (:mod:`_rxyomo_extras`, the
same for every program and extra).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from _rxyomo_extras import MissingExtra

__all__ = ["MissingExtra", "require"]


def require(module: str, *, feature: str, extra: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` naming ``feature`` and ``extra``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtra(feature, extra, (exc.name or module).partition(".")[0]) from exc

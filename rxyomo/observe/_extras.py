"""The optional extras observability needs, and the one-line error when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtra", "require"]

#: What each extra brings, for the error message.
EXTRAS = {
    "otel": "opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http",
    "metrics": "prometheus-client, aiohttp",
    "dashboard": "aiohttp",
}


class MissingExtra(ImportError):
    """A feature was asked for whose optional dependencies are not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra ({EXTRAS[extra]}): pip install 'rxyomo[{extra}]'"
        )
        self.feature = feature
        self.extra = extra


def require(module: str, *, feature: str, extra: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(feature, extra) from exc

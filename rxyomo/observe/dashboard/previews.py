"""Loading a :class:`~rxyomo.observe.zipper.Preview` named on the command line."""

from __future__ import annotations

import importlib

from rxyomo.observe.zipper import Preview

__all__ = ["load_preview"]


def load_preview(spec: str) -> Preview:
    """``MODULE:NAME`` names a class or function (importable from ``sys.path``) that makes
    the preview when called without arguments."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a preview is named MODULE:NAME, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the preview {spec!r}: {exc}") from exc
    preview: Preview = factory()
    return preview

"""Run a child Python in which some installed modules cannot be imported, as if an optional
extra were missing: how the tests check what each program says then."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["ROOT", "env_without"]

#: The repository root.
ROOT = Path(__file__).resolve().parents[1]
_SITE = Path(__file__).resolve().with_name("_hidden_site")


def env_without(modules: Iterable[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) for a child Python that fails to import
    ``modules`` (top-level names) and their submodules with ``ModuleNotFoundError``.

    The child's path starts with the folder of the ``sitecustomize`` that refuses them, then
    this checkout (and its ``codecs/``), so that it runs this checkout's code."""
    env = dict(os.environ if base is None else base)
    paths = [str(_SITE), str(ROOT), str(ROOT / "codecs")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["HIDDEN_MODULES"] = ",".join(modules)
    return env

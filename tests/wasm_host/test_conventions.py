"""Which convention a module follows, from its imports and exports, as ``inspect`` shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasm_host import (
    CompiledModule,
    Convention,
    ConventionError,
    WasmedgeBindgenAbi,
    WasmedgeBindgenForm,
    YomoAbi,
    YomoGeneration,
    describe_convention,
    detect_convention,
)


@pytest.mark.parametrize(
    ("fixture", "convention"),
    [
        ("bindgen_split", Convention.WASM_BINDGEN),
        ("bindgen_struct", Convention.WASM_BINDGEN),
        ("yomo_load_dump", Convention.YOMO),
        ("yomo_hostile", Convention.YOMO),
        ("wasmedge_bindgen_hostile", Convention.WASMEDGE_BINDGEN),
    ],
)
def test_fixtures_are_detected(
    load_fixture: Callable[[str], CompiledModule], fixture: str, convention: Convention
) -> None:
    assert detect_convention(load_fixture(fixture)) is convention


def test_a_module_of_no_known_convention_says_what_each_lacks(
    load_fixture: Callable[[str], CompiledModule],
) -> None:
    with pytest.raises(ConventionError) as raised:
        detect_convention(load_fixture("wasi_nn_hostile"))
    for name in ("yomo", "wasmedge-bindgen", "wasm-bindgen"):
        assert f"{name}:" in str(raised.value)


def test_the_generations_of_yomos_abi(load_fixture: Callable[[str], CompiledModule]) -> None:
    first = YomoAbi.detect(load_fixture("yomo_load_dump"))
    assert first.generation is YomoGeneration.LOAD_DUMP
    assert (first.observe, first.init, first.start) == (None, ("yomo_init",), None)
    context = YomoAbi.detect(load_fixture("yomo_hostile"))
    assert context.generation is YomoGeneration.CONTEXT
    assert context.observe == "yomo_observe_datatags"
    assert "context generation" in describe_convention(load_fixture("yomo_hostile"))


def test_the_forms_of_wasmedge_bindgen(load_fixture: Callable[[str], CompiledModule]) -> None:
    abi = WasmedgeBindgenAbi.detect(load_fixture("wasmedge_bindgen_hostile"))
    assert abi.form is WasmedgeBindgenForm.IMPORTS
    assert set(abi.functions) == {"bogus_pointer", "bogus_type", "too_many", "nothing", "ok"}

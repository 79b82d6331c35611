"""wasmedge-bindgen: the classifier built with both forms of the crate's macro, on real
photos, and result records that make no sense, on every engine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from wasm_host import (
    CompiledModule,
    Convention,
    GuestError,
    ImageHost,
    InterpreterPool,
    TensorFlowLiteHost,
    TrapCause,
    WasiConfig,
    WasmedgeBindgenCaller,
    WasmedgeBindgenForm,
    WasmFunction,
    WasmTrap,
    detect_convention,
    get_engine,
    load_module,
)

from .test_guest import EXPECTED

SENTENCE = re.compile(r"^It (is very likely|is likely|could be) a <a href='[^']*'>([^<]*)</a>")
FORMS = {
    "bindgen_v04": WasmedgeBindgenForm.RETURN_POINTER,
    "bindgen_v01": WasmedgeBindgenForm.IMPORTS,
}


@pytest.fixture(params=sorted(FORMS))
def classifier(
    request: pytest.FixtureRequest,
    built_guest: Callable[[str], Path],
    engine_name: str,
    model_dir: Path,
) -> Iterator[WasmedgeBindgenCaller]:
    module = load_module(get_engine(engine_name), built_guest(request.param))
    assert detect_convention(module) is Convention.WASMEDGE_BINDGEN
    caller = WasmedgeBindgenCaller.create(
        module,
        wasi=WasiConfig(preopens={"/model": str(model_dir)}),
        host_modules=[TensorFlowLiteHost(InterpreterPool()), ImageHost()],
    )
    assert caller.abi.form is FORMS[request.param]
    yield caller
    caller.close()


def _label(sentence: bytes) -> str:
    found = SENTENCE.match(sentence.decode())
    assert found is not None, sentence
    return found.group(2)


def test_photos_get_the_labels_the_example_guest_gives(
    classifier: WasmedgeBindgenCaller, photos: Path
) -> None:
    for name, label in EXPECTED.items():
        assert _label(classifier.call_bytes("infer", (photos / name).read_bytes())) == label


def test_results_of_every_kind_come_back(classifier: WasmedgeBindgenCaller) -> None:
    assert classifier.call("echo", b"\x00\x01binary") == [b"\x00\x01binary"]
    assert classifier.call("echo", b"") == [b""]
    doubled, half, text, array = classifier.call("numbers", 21, 3.0, "abc")
    assert (doubled, half, text) == (42, 1.5, "ABC")
    assert isinstance(array, np.ndarray)
    assert array.tolist() == [21, 7]


def test_an_err_is_the_guests_answer_and_the_instance_goes_on(
    classifier: WasmedgeBindgenCaller, photos: Path
) -> None:
    with pytest.raises(GuestError, match="neither a JPEG nor a PNG"):
        classifier.call("infer", b"GIF89a")
    with pytest.raises(GuestError, match="Invalid params count"):
        classifier.call("echo")
    assert (
        _label(classifier.call_bytes("infer", (photos / "coffee.png").read_bytes())) == "espresso"
    )


def test_what_the_macro_leaks_is_given_back(classifier: WasmedgeBindgenCaller) -> None:
    payload = bytes(200_000)
    classifier.call("echo", payload)
    size = classifier.instance.memory.size()
    for _ in range(50):
        assert classifier.call("echo", payload) == [payload]
    # Leaked, 50 answers would take 10 MB more; freed, the allocator reuses its space.
    assert classifier.instance.memory.size() < size + 4 * len(payload)


def test_wasm_function_runs_a_wasmedge_bindgen_export(
    built_guest: Callable[[str], Path], engine_name: str, model_dir: Path, photos: Path
) -> None:
    infer = WasmFunction(
        built_guest("bindgen_v04"),
        "infer",
        engine=engine_name,
        text=True,
        wasi=WasiConfig(preopens={"/model": str(model_dir)}),
    )
    assert infer.convention is Convention.WASMEDGE_BINDGEN
    result = infer((photos / "rocket.jpg").read_bytes())
    assert isinstance(result, str)
    assert _label(result.encode()) == "drilling platform"
    echo = WasmFunction(built_guest("bindgen_v01"), "echo", engine=engine_name)
    assert echo(b"frame") == b"frame"


@pytest.mark.parametrize(
    ("export", "cause", "words"),
    [
        ("bogus_pointer", TrapCause.BAD_POINTER, "outside the guest's"),
        ("bogus_type", TrapCause.GUEST_TRAP, "unknown type code 99"),
        ("too_many", TrapCause.OUTPUT_LIMIT, "1000000 results"),
        ("nothing", TrapCause.GUEST_TRAP, "without return_result"),
    ],
)
def test_bogus_result_records_trap_with_the_cause(
    load_fixture: Callable[[str], CompiledModule], export: str, cause: TrapCause, words: str
) -> None:
    function = WasmFunction(load_fixture("wasmedge_bindgen_hostile"), export)
    with pytest.raises(WasmTrap) as trapped:
        function(b"input")
    assert trapped.value.cause is cause
    assert words in str(trapped.value)
    ok = WasmFunction(function.module, "ok")
    assert ok(b"input") == b"okay"

"""Every WebAssembly convention through the function host: YoMo's stream-function ABI
(the Rust yomo-crate guest, the Go wasip1 guest, a text guest), wasmedge-bindgen (the
classifier in both macro forms) and WASI-NN (the classifier on its model, preloaded by
name too); their flags checked against the module, and limits, quarantine, versions and
hot reload as for wasm-bindgen."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from rxyomo.functions import (
    BAD_ANSWER,
    HANDLER_ERROR,
    QUARANTINED,
    Frame,
    FunctionHost,
    LoadError,
    Outcome,
    SpecError,
    function_config,
    load_version,
    parse_functions,
)
from rxyomo.functions.frames import Answer
from tests.functions.guests import NOT_BINDGEN, write_yomo_guest
from tests.functions.test_runner import Collector, key

pytest.importorskip("wasmtime")

Built = Callable[[str], Path]
# Top-1 labels of EfficientNet-Lite0 for scikit-image's photos (as tests/wasm_host has them).
EXPECTED = {
    "chelsea.png": "Egyptian cat",
    "coffee.png": "espresso",
    "rocket.jpg": "drilling platform",
}
SENTENCE = re.compile(r"^It (is very likely|is likely|could be) a <a href='[^']*'>([^<]*)</a>")


def label(sentence: bytes) -> str:
    """The label in the example guest's sentence."""
    found = SENTENCE.match(sentence.decode())
    assert found is not None, sentence
    return found.group(2)


def _run(host: FunctionHost, name: str, frames: list[Frame], timeout: float = 30) -> list[Outcome]:
    got = Collector()
    for index, frame in enumerate(frames):
        assert host.submit(name, Frame(frame.tag, frame.data, frame.metadata, key=index), got)
    return sorted(got.wait(len(frames), timeout=timeout), key=key)


def _refusal(config: object) -> str:
    with pytest.raises(LoadError) as refused:
        load_version(config)  # type: ignore[arg-type]
    return refused.value.reason


# YoMo's stream-function ABI


def test_the_rust_yomo_guest_needs_no_flags_and_answers_on_its_own_tags(
    host: FunctionHost, built_guest: Built
) -> None:
    runner = host.add(function_config("sfn", built_guest("yomo_rust")))
    assert runner.observe == (0x33,)
    assert runner.version.convention == "a YoMo stream function (context generation)"
    assert runner.version.describe().startswith(
        "sfn (wasm yomo_rust.wasm, observes 0x33, answers on its own tags) as a YoMo"
    )
    meta = {"yomo-tid": "t1"}
    hello, split, failing = _run(
        host,
        "sfn",
        [Frame(0x33, b"hello", meta), Frame(0x33, b"split:a,b,c"), Frame(0x33, b"fail")],
    )
    assert hello.answers == (Answer(0x34, b"HELLO"),)
    assert split.answers == (Answer(0x34, b"A"), Answer(0x34, b"B"), Answer(0x34, b"C"))
    # The handler's Err: no answer, and the function goes on.
    assert failing.ok
    assert failing.answers == ()
    stats = runner.snapshot()
    assert stats["convention"] == runner.version.convention
    assert (stats["handled"], stats["instances_made"], stats["reply"]) == (3, 1, None)


def test_the_go_guest_writes_many_answers_and_answers_to_a_target(
    host: FunctionHost, built_guest: Built
) -> None:
    config = function_config("gosfn", built_guest("yomo_go"), env={"WANTED_TARGET": "edge-1"})
    runner = host.add(config)
    assert runner.observe == (0x33, 0x35, 0x37)
    assert runner.version.wanted_target == "edge-1"
    upper, targeted, many = _run(
        host,
        "gosfn",
        [Frame(0x33, b"go"), Frame(0x35, b"user-1,hello"), Frame(0x37, b"many:5")],
    )
    assert upper.answers == (Answer(0x34, b"GO"),)
    assert targeted.answers == (Answer(0x36, b"hello", "user-1"),)
    assert many.answers == tuple(Answer(0x38, b"%d" % i) for i in range(5))


def test_a_yomo_modules_flags_are_checked_against_it(built_guest: Built) -> None:
    guest = built_guest("yomo_go")
    for field, value in (("export", "yomo_handler"), ("reply", 0x34)):
        with pytest.raises(SpecError) as refused:
            function_config("gosfn", guest, **{field: value})  # type: ignore[arg-type]
        assert refused.value.field == field
        assert "follows YoMo's stream-function ABI" in str(refused.value)
    # observe may say the tags again, in any order, but no others.
    assert load_version(function_config("gosfn", guest, observe=[0x37, 0x33, 0x35])).observe
    reason = _refusal(function_config("gosfn", guest, observe=[0x33, 0x10]))
    assert reason == "observe says [0x33, 0x10], but the module observes [0x33, 0x35, 0x37]"
    failing = function_config("gosfn", guest, env={"FAIL_INIT": "1"})
    assert "failed to start: yomo_init returned 1" in _refusal(failing)


def test_a_module_of_no_convention_is_told_what_each_lacks(tmp_path: Path) -> None:
    path = tmp_path / "plain.wat"
    path.write_text(NOT_BINDGEN)
    reason = _refusal(function_config("plain", path, observe=[1], export="echo"))
    assert reason.startswith("the module follows no known calling convention (yomo: ")
    assert "wasmedge-bindgen: the module exports no allocate" in reason
    assert "wasm-bindgen: the module exports no __wbindgen_malloc" in reason
    with pytest.raises(SpecError, match="exports no yomo_handler"):
        function_config("plain", path)


def test_yomo_limits_quarantine_and_bad_answers(tmp_path: Path) -> None:
    guest = write_yomo_guest(tmp_path / "sfn.wat", "v1:")
    host = FunctionHost()
    try:
        runner = host.add(function_config("sfn", guest, limits={"timeout_ms": 200}))
        outcomes = _run(
            host,
            "sfn",
            [
                Frame(0x13, b""),  # an answer on a reserved tag: refused, not costly
                Frame(0x10, b"a"),
                *[Frame(0x12, b"") for _ in range(3)],  # three deadlines: quarantined
                Frame(0x10, b"b"),
            ],
        )
    finally:
        host.close(timeout=2.0)
    causes = [o.cause for o in outcomes]
    assert causes == [BAD_ANSWER, None, *["deadline exceeded"] * 3, QUARANTINED]
    assert "0xF001 is reserved" in outcomes[0].detail
    assert outcomes[1].answers == (Answer(0x11, b"v1:a"), Answer(0x15, b"a", "peer"))
    stats = runner.snapshot()
    assert stats["quarantines"] == 1
    # The first instance, and a fresh one after each of the first two deadlines.
    assert stats["instances_made"] == 3


def test_a_yomo_module_reloads_between_frames_with_the_same_tags_and_target(
    host: FunctionHost, tmp_path: Path
) -> None:
    guest = write_yomo_guest(tmp_path / "sfn.wat", "v1:", target="edge-1")
    runner = host.add(function_config("sfn", guest))
    before = runner.version.version
    (first,) = _run(host, "sfn", [Frame(0x10, b"x")])
    assert first.answers[0] == Answer(0x11, b"v1:x")
    write_yomo_guest(guest, "v2:", target="edge-1")
    reload = host.reload("sfn")
    assert reload.changed
    (second,) = _run(host, "sfn", [Frame(0x10, b"x")])
    assert second.answers[0] == Answer(0x11, b"v2:x")
    assert second.version == reload.version != before
    # The connection's target is fixed when it connects, as its tags are.
    write_yomo_guest(guest, "v3:", target="edge-2")
    assert "wants another target (edge-2)" in host.reload("sfn").error
    assert host.runner("sfn").version.version == reload.version


# wasmedge-bindgen


@pytest.mark.parametrize("build", ["bindgen_v04", "bindgen_v01"])
def test_the_wasmedge_bindgen_classifier_labels_the_photos(
    host: FunctionHost, built_guest: Built, model_dir: Path, photos: Path, build: str
) -> None:
    pytest.importorskip("PIL")
    config = function_config(
        "classifier",
        built_guest(build),
        observe=[0x10],
        export="infer",
        reply=0x11,
        dirs={"/model": str(model_dir)},
        limits={"memory": "256MiB", "timeout_ms": 20_000},
    )
    runner = host.add(config)
    assert runner.version.convention.startswith("a wasmedge-bindgen export")
    names = sorted(EXPECTED)
    frames = [Frame(0x10, (photos / name).read_bytes()) for name in names]
    # Four bytes that are no image: the guest's Err, not costly (no quarantine).
    frames += [Frame(0x10, b"GIF89a") for _ in range(4)]
    frames.append(Frame(0x10, (photos / "coffee.png").read_bytes()))
    outcomes = _run(host, "classifier", frames, timeout=120)
    for outcome, name in zip(outcomes, names, strict=False):
        (answer,) = outcome.answers
        assert answer.tag == 0x11
        assert label(answer.data) == EXPECTED[name]
    for outcome in outcomes[3:7]:
        assert (outcome.cause, outcome.detail) == (
            HANDLER_ERROR,
            "the input is neither a JPEG nor a PNG image",
        )
    assert label(outcomes[-1].answers[0].data) == "espresso"
    stats = runner.snapshot()
    assert (stats["quarantines"], stats["instances_made"]) == (0, 1)
    assert stats["memory"] > 0


def test_a_wasmedge_bindgen_export_is_checked(built_guest: Built) -> None:
    guest = built_guest("bindgen_v04")
    reason = _refusal(function_config("bg", guest, observe=[1], export="nope"))
    assert "lacks the export 'nope' (its functions: echo, infer, numbers)" in reason
    with pytest.raises(SpecError, match="needs the export"):
        function_config("bg", guest, observe=[1])
    echo = load_version(function_config("bg", guest, observe=[1], export="echo", reply=2))
    instance = echo.instantiate()
    try:
        assert instance.call(Frame(1, b"same")) == [Answer(2, b"same")]
    finally:
        instance.close()


# WASI-NN


def test_the_wasi_nn_classifier_labels_the_photos_with_a_model_preloaded_by_name(
    host: FunctionHost, built_guest: Built, model_dir: Path, photos: Path, tmp_path: Path
) -> None:
    # The graph comes by name; the guest still reads the labels from the model file.
    shutil.copyfile(model_dir / "efficientnet_lite0.tflite", tmp_path / "lite0.tflite")
    listing = textwrap.dedent(
        f"""
        - name: nn
          wasm: {built_guest("wasinn_current")}
          dirs: {{/model: {model_dir}}}
          env: {{INFER_GRAPH: lite0}}
          nn_preload: {{lite0: lite0.tflite}}
          limits: {{timeout_ms: 20000}}
        """
    )
    (config,) = parse_functions(listing, base_dir=tmp_path)
    assert config.nn_preload == {"lite0": (tmp_path / "lite0.tflite").resolve()}
    runner = host.add(config)
    assert runner.version.convention.endswith(", on WASI-NN")
    names = sorted(EXPECTED)
    frames = [Frame(0x10, (photos / name).read_bytes()) for name in names]
    outcomes = _run(host, "nn", [*frames, Frame(0x10, b"GIF89a")], timeout=120)
    for outcome, name in zip(outcomes, names, strict=False):
        (answer,) = outcome.answers
        assert (answer.tag, label(answer.data)) == (0x11, EXPECTED[name])
    assert outcomes[-1].answers == (Answer(0x12, b"the input is neither a JPEG nor a PNG image"),)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["lite0"], "expected NAME:PATH"),
        (["lite0:missing.tflite"], "missing.tflite is not a file"),
        (["lite0:ONNX:CPU:model.tflite"], "only TensorFlow-Lite models are served, not ONNX"),
        ({"": "model.tflite"}, "non-empty string"),
        (["a:model.tflite", "a:model.tflite"], "a: named twice"),
        ("model.tflite", "a mapping of name to model file"),
    ],
)
def test_bad_nn_preload_entries_are_refused_by_field(
    make_guest: Callable[..., Path], tmp_path: Path, value: object, words: str
) -> None:
    (tmp_path / "model.tflite").write_bytes(b"model")
    with pytest.raises(SpecError) as refused:
        function_config(
            "nn", make_guest(), observe=[1], export="echo", nn_preload=value, base_dir=tmp_path
        )
    assert refused.value.field == "nn_preload"
    assert words in str(refused.value)


def test_nn_preload_takes_wasmedges_form_and_is_for_webassembly_only(
    make_guest: Callable[..., Path], tmp_path: Path
) -> None:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"model")
    config = function_config(
        "nn",
        make_guest(),
        observe=[1],
        export="echo",
        nn_preload=["a:TensorflowLite:CPU:model.tflite", f"b:{model}"],
        base_dir=tmp_path,
    )
    assert config.nn_preload == {"a": model.resolve(), "b": model.resolve()}
    app = tmp_path / "app.py"
    app.write_text("def handler(ctx):\n    pass\n")
    with pytest.raises(SpecError, match="nn_preload: applies to WebAssembly only"):
        function_config("p", app, nn_preload={"a": str(model)})
    sfn = write_yomo_guest(tmp_path / "sfn.wat")
    listing = f"- name: nn\n  wasm: {sfn}\n  nn_preload: {{a: nowhere}}\n"
    with pytest.raises(SpecError, match=r"^<functions>: line 3: function 'nn': nn_preload: a: "):
        parse_functions(listing, base_dir=tmp_path)

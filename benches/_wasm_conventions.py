"""The conventions part of ``benches/bench_wasm.py``: per-call cost of each calling
convention against the wasm-bindgen path, and the WASI-NN classifier against the model
called directly.

- ``per_call_us``: one call with a 16 B and a 200 KB payload, on wasmtime: wasm-bindgen's
  ``echo`` (the fixture), wasmedge-bindgen's ``echo`` built with both macro forms, YoMo's
  ABI through an echoing fixture (the ABI alone) and through the guest built with YoMo's
  Rust SDK (which upper-cases the payload as well).
- ``wasi_nn``: the WASI-NN classifier (the YoMo-ABI guest on ``wasi_ephemeral_nn``) on
  scikit-image's photos, against the direct classifier of ``bench_wasm``. Target: 0.9x.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benches._bench import classification_rates, interleaved_medians
from devtools.guests import GuestUnavailable, guest_wasm
from wasm_host import (
    BindgenCaller,
    ImageHost,
    ModuleCache,
    WasiConfig,
    WasiNnHost,
    WasmedgeBindgenCaller,
    YomoCaller,
    get_engine,
    instantiate,
    load_module,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "wasm_host" / "fixtures"
WASI_NN_TARGET = 0.9


def _us_per_call(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def _callers(payload: bytes, cache: ModuleCache) -> dict[str, Callable[[], object]]:
    engine = get_engine("wasmtime")
    keep: list[object] = []  # the instances live as long as their callers are timed
    linked = instantiate(load_module(engine, FIXTURES / "bindgen_split.wat", cache))
    keep.append(linked)
    bindgen = BindgenCaller(linked.instance)
    yomo_echo = YomoCaller.create(load_module(engine, FIXTURES / "yomo_hostile.wat", cache))
    out: dict[str, Callable[[], object]] = {
        "wasm-bindgen": lambda: bindgen.call("echo", payload),
        "yomo ABI (echo fixture)": lambda: yomo_echo.call(payload, 4),
    }
    builds = (("wasmedge-bindgen 0.4", "bindgen_v04"), ("wasmedge-bindgen 0.1", "bindgen_v01"))
    for label, name in builds:
        try:
            caller = WasmedgeBindgenCaller.create(load_module(engine, guest_wasm(name), cache))
        except GuestUnavailable:
            continue
        out[label] = functools.partial(caller.call, "echo", payload)
    try:
        sdk = YomoCaller.create(load_module(engine, guest_wasm("yomo_rust"), cache))
        out["yomo Rust SDK (upper-cases)"] = functools.partial(sdk.call, payload, 0x33)
    except GuestUnavailable:
        pass
    out["_keep"] = lambda: keep
    return out


def per_call(sizes: dict[str, int], rounds: int, calls: int, cache: ModuleCache) -> dict[str, Any]:
    """Microseconds per call, per payload size and convention."""
    out: dict[str, Any] = {}
    for label, size in sizes.items():
        payload = b"a" * size
        variants = _callers(payload, cache)
        variants.pop("_keep")
        for call in variants.values():
            call()
        timed = {
            name: functools.partial(_us_per_call, call, calls) for name, call in variants.items()
        }
        out[label] = interleaved_medians(timed, rounds)[0]
    return out


def wasi_nn(
    images: list[bytes],
    direct: Callable[[bytes], str],
    model_dir: Path,
    rounds: int,
    passes: int,
    cache: ModuleCache,
) -> dict[str, Any]:
    """Images per second, the WASI-NN guest against the direct classifier."""
    try:
        path = guest_wasm("wasinn_current")
    except GuestUnavailable as exc:
        return {"skipped": str(exc)}
    caller = YomoCaller.create(
        load_module(get_engine("wasmtime"), path, cache),
        wasi=WasiConfig(preopens={"/model": str(model_dir)}),
        host_modules=[WasiNnHost(), ImageHost()],
    )

    def through_wasi_nn(image: bytes) -> str:
        [(tag, sentence)] = caller.call(image, 0x10)
        assert tag == 0x11, sentence
        return sentence.decode().rpartition("'>")[2].partition("</a>")[0]

    variants = {"direct Python": direct, "wasi-nn (wasmtime)": through_wasi_nn}
    return classification_rates(variants, images, rounds, passes)

"""WasmFunction, the plain-function form, and wasm_map, the Rx operator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex

from wasm_host import (
    BindgenError,
    CompiledModule,
    TrapCause,
    WasmFunction,
    WasmOutcome,
    WasmTrap,
    wasm_map,
)

Loader = Callable[[str], CompiledModule]


@pytest.fixture
def picky(load_fixture: Loader) -> WasmFunction:
    return WasmFunction(load_fixture("bindgen_split"), "picky")


def _collect(observable: reactivex.Observable[Any]) -> tuple[list[Any], list[Exception]]:
    items: list[Any] = []
    errors: list[Exception] = []
    observable.subscribe(on_next=items.append, on_error=errors.append)
    return items, errors


def test_a_function_returns_bytes_or_text(load_fixture: Loader) -> None:
    module = load_fixture("bindgen_split")
    assert WasmFunction(module, "echo")(b"abc") == b"abc"
    with WasmFunction(module, "echo", text=True) as echo:
        echo.warm_up()
        assert echo("text") == "text"
    assert WasmFunction(module, "length")(b"four") == 4


def test_an_unknown_export_is_refused_up_front(load_fixture: Loader) -> None:
    with pytest.raises(BindgenError, match="nothing"):
        WasmFunction(load_fixture("bindgen_split"), "nothing")


def test_the_instance_is_kept_across_calls(picky: WasmFunction) -> None:
    for index in range(5):
        assert picky(bytes([index])) == bytes([index])
    assert (picky.stats.calls, picky.stats.instances) == (5, 1)


def test_wasm_map_wraps_each_outcome_and_keeps_going_after_a_trap(picky: WasmFunction) -> None:
    items, errors = _collect(reactivex.from_iterable([b"a", b"!boom", b"c"]).pipe(wasm_map(picky)))
    assert errors == []
    assert all(isinstance(item, WasmOutcome) for item in items)
    assert [(o.item, o.value, o.ok) for o in items] == [
        (b"a", b"a", True),
        (b"!boom", None, False),
        (b"c", b"c", True),
    ]
    failure = items[1].error
    assert isinstance(failure, WasmTrap)
    assert failure.cause is TrapCause.GUEST_TRAP
    assert picky.stats.instances == 2


def test_wasm_map_can_drop_failed_items(picky: WasmFunction) -> None:
    source = reactivex.from_iterable([b"a", b"!", b"b", b"!", b"c"])
    items, errors = _collect(source.pipe(wasm_map(picky, errors="skip")))
    assert (items, errors) == ([b"a", b"b", b"c"], [])


def test_wasm_map_can_end_the_stream_at_the_first_failure(picky: WasmFunction) -> None:
    source = reactivex.from_iterable([b"a", b"!", b"b"])
    items, errors = _collect(source.pipe(wasm_map(picky, errors="raise")))
    assert items == [b"a"]
    assert len(errors) == 1
    assert isinstance(errors[0], WasmTrap)


def test_wasm_map_takes_any_function_and_rejects_unknown_policies() -> None:
    def times_ten(n: int) -> int:
        return n * 10

    items, _ = _collect(reactivex.from_iterable([1, 2]).pipe(wasm_map(times_ten)))
    assert [o.value for o in items] == [10, 20]
    with pytest.raises(ValueError, match="errors"):
        wasm_map(len, errors="ignore")  # type: ignore[arg-type]

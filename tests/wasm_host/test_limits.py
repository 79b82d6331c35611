"""Per-call limits: a call over its budget fails with a cause, and the next call runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wasm_host import (
    CompiledModule,
    Engine,
    Limits,
    TrapCause,
    UnsupportedLimit,
    WasmFunction,
    WasmTrap,
    get_engine,
    load_module,
)

from .conftest import FIXTURES

Loader = Callable[[str], CompiledModule]


def _needs_interruption(engine: Engine) -> None:
    if not engine.supports_interruption:
        pytest.skip(f"{engine.name} cannot interrupt a running call")


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="timeout"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="fuel"):
        Limits(fuel=-1)


def test_deadline_interrupts_an_endless_loop_and_the_next_call_runs(
    engine: Engine, load_fixture: Loader
) -> None:
    _needs_interruption(engine)
    function = WasmFunction(load_fixture("bindgen_split"), "spin", limits=Limits(timeout=0.05))
    with pytest.raises(WasmTrap) as trapped:
        function(b"x")
    assert trapped.value.cause is TrapCause.DEADLINE
    function.export = "echo"
    assert function(b"after") == b"after"
    assert (function.stats.traps, function.stats.instances) == (1, 2)


def test_fuel_runs_out_in_an_endless_loop(engine_name: str) -> None:
    engine = get_engine(engine_name, fuel=engine_name == "wasmtime")
    _needs_interruption(engine)
    module = load_module(engine, FIXTURES / "bindgen_split.wat")
    function = WasmFunction(module, "spin", limits=Limits(fuel=100_000))
    with pytest.raises(WasmTrap) as trapped:
        function(b"x")
    assert trapped.value.cause is TrapCause.OUT_OF_FUEL
    # Fuel is refilled per call: a cheap call after the trap succeeds.
    function.export = "echo"
    assert function(b"ok") == b"ok"


def test_fuel_needs_an_engine_that_meters_it(engine: Engine, load_fixture: Loader) -> None:
    function = WasmFunction(load_fixture("bindgen_split"), "echo", limits=Limits(fuel=1000))
    with pytest.raises(UnsupportedLimit):
        function(b"x")


def test_memory_limit_stops_a_guest_that_grows_without_end(
    engine: Engine, load_fixture: Loader
) -> None:
    # wasmer has no memory limiter: such a guest would grow to 4 GiB before anything could
    # check it, which is why untrusted code belongs on wasmtime.
    _needs_interruption(engine)
    function = WasmFunction(
        load_fixture("bindgen_split"), "hog", limits=Limits(max_memory=4 * 65536)
    )
    with pytest.raises(WasmTrap) as trapped:
        function(b"x")
    assert trapped.value.cause is TrapCause.MEMORY_LIMIT


def test_memory_limit_refuses_an_oversized_input(load_fixture: Loader) -> None:
    function = WasmFunction(
        load_fixture("bindgen_split"), "echo", limits=Limits(max_memory=4 * 65536)
    )
    assert function(b"small") == b"small"
    with pytest.raises(WasmTrap) as trapped:
        function(bytes(300_000))
    assert trapped.value.cause is TrapCause.MEMORY_LIMIT
    assert function(b"small again") == b"small again"


def test_engines_without_interruption_refuse_time_limits(
    engine: Engine, load_fixture: Loader
) -> None:
    if engine.supports_interruption:
        pytest.skip(f"{engine.name} enforces time limits")
    function = WasmFunction(load_fixture("bindgen_split"), "echo", limits=Limits(timeout=1.0))
    with pytest.raises(UnsupportedLimit, match="wasmtime"):
        function(b"x")


def test_a_guest_trap_names_its_cause_and_the_instance_is_replaced(
    load_fixture: Loader,
) -> None:
    function = WasmFunction(load_fixture("bindgen_split"), "crash")
    with pytest.raises(WasmTrap) as trapped:
        function(b"x")
    assert trapped.value.cause is TrapCause.GUEST_TRAP
    assert "unreachable" in str(trapped.value)
    function.export = "echo"
    assert function(b"next") == b"next"
    assert function.stats.instances == 2

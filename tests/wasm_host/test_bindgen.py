"""The ExecuteBindgen calling convention and its variants, on every engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm_host import (
    BindgenAbi,
    BindgenCaller,
    BindgenError,
    CompiledModule,
    ReturnKind,
    SliceForm,
    TrapCause,
    WasiConfig,
    WasmTrap,
    instantiate,
)

Loader = Callable[[str], CompiledModule]


def _caller(module: CompiledModule, wasi: WasiConfig | None = None) -> BindgenCaller:
    return BindgenCaller(instantiate(module, wasi=wasi).instance)


def test_detects_the_one_argument_malloc_and_split_slices(load_fixture: Loader) -> None:
    module = load_fixture("bindgen_split")
    abi = BindgenAbi.detect(module)
    assert (abi.malloc_takes_align, abi.free_takes_align, abi.wasi) == (False, False, False)
    plan = _caller(module).plan("echo", [b"x"])
    assert (plan.returns, plan.slices) == (ReturnKind.ARRAY, SliceForm.SPLIT)


def test_array_return_round_trips_bytes_and_frees_only_the_result(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    payload = bytes(range(256)) * 800  # 200 KiB: the guest's memory grows for it
    assert caller.call("echo", payload) == payload
    # The guest freed its input and the host freed the result: nothing is left allocated.
    # Had the host freed the input too, the count would be negative.
    assert caller.call("live") == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.binary(max_size=5000), second=st.binary(max_size=300))
def test_any_bytes_round_trip_and_nothing_leaks(
    load_fixture: Loader, first: bytes, second: bytes
) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    assert caller.call("echo", first) == first
    assert caller.call("concat", first, second) == first + second
    assert caller.call("live") == 0


def test_strings_are_passed_as_utf8(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    assert caller.call("echo", "grüß") == "grüß".encode()


def test_empty_input_and_empty_result(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    assert caller.call("echo", b"") == b""
    assert caller.call("live") == 0


def test_several_byte_arguments_and_an_integer_argument(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    assert caller.call("concat", b"yo", bytearray(b"mo")) == b"yomo"
    assert caller.call("repeat", memoryview(b"ab"), 3) == b"ababab"
    assert caller.call("live") == 0


def test_i32_i64_and_void_returns(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    assert caller.call("length", b"12345") == 5
    assert caller.call("checksum", b"\x01\x02") == (1 << 40) + 3
    assert caller.call("store", b"abc") is None
    assert caller.call("stored") == 3
    assert caller.call("negate", 7) == -7


def test_a_forced_return_kind_that_does_not_fit_is_refused(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    with pytest.raises(BindgenError, match="length"):
        caller.call("length", b"x", returns=ReturnKind.ARRAY)
    with pytest.raises(BindgenError, match="number"):
        caller.call("echo", 5)
    with pytest.raises(BindgenError, match="no function"):
        caller.call("nonexistent", b"x")


def test_wasi_struct_slices_two_argument_malloc_and_initialize(load_fixture: Loader) -> None:
    module = load_fixture("bindgen_struct")
    abi = BindgenAbi.detect(module)
    assert (abi.malloc_takes_align, abi.free_takes_align, abi.initializer) == (True, True, True)
    caller = _caller(module)
    assert caller.plan("echo", [b"x"]).slices is SliceForm.STRUCT
    # echo traps unless _initialize ran first.
    assert caller.call("echo", b"reactor") == b"reactor"
    assert caller.call("second", b"first", b"second") == b"second"
    assert caller.call("length", b"four") == 4
    # One allocation remains: the {ptr, len} structs the host keeps for the instance's life.
    assert caller.call("live") == 1


def test_stack_pointer_variant_reserves_the_return_slot(load_fixture: Loader) -> None:
    module = load_fixture("bindgen_stack")
    assert BindgenAbi.detect(module).stack_pointer
    caller = _caller(module)
    before = caller.call("stack_pointer")
    assert caller.call("echo", b"stacked") == b"stacked"
    assert caller.call("stack_pointer") == before


def test_placeholder_imports_link_and_trap_only_when_called(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("placeholders"))
    assert caller.call("length", b"abc") == 3
    with pytest.raises(WasmTrap) as trapped:
        caller.call("describe", b"abc")
    assert trapped.value.cause is TrapCause.GUEST_TRAP
    assert "__wbindgen_describe" in str(trapped.value)


def test_a_result_pointer_outside_memory_traps_as_bad_pointer(load_fixture: Loader) -> None:
    caller = _caller(load_fixture("bindgen_split"))
    with pytest.raises(WasmTrap) as trapped:
        caller.call("bad_result", b"x")
    assert trapped.value.cause is TrapCause.BAD_POINTER


def test_a_module_without_bindgen_exports_is_refused(load_fixture: Loader) -> None:
    with pytest.raises(BindgenError, match="__wbindgen_malloc"):
        BindgenAbi.detect(load_fixture("host_calls"))


def test_wasi_guest_output_goes_to_logging(
    load_fixture: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    caller = _caller(load_fixture("bindgen_struct"), WasiConfig(args=["a", "b"]))
    with caplog.at_level("INFO", logger="wasm_host.guest"):
        assert caller.call("shout", b"hello from the guest") == b"hello from the guest"
    assert "stdout: hello from the guest" in caplog.messages
    assert caller.call("argc") == 3

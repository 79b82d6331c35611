"""The engine-neutral interface: modules, imports and exports, memory, WASI, the disk cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasm_host import (
    CompiledModule,
    ConfigurationError,
    Engine,
    EngineUnavailable,
    ExternKind,
    FuncType,
    HostContext,
    HostModule,
    LinkError,
    ModuleCache,
    ModuleError,
    TrapCause,
    ValType,
    WasiConfig,
    WasmTrap,
    get_engine,
    instantiate,
    load_module,
)

from .conftest import FIXTURES

Loader = Callable[[str], CompiledModule]


def test_imports_and_exports_carry_their_types(load_fixture: Loader) -> None:
    module = load_fixture("host_calls")
    create = next(i for i in module.imports if i.name.endswith("create_session"))
    assert (create.module, create.kind) == ("wasmedge_tensorflowlite", ExternKind.FUNC)
    assert create.type == FuncType((ValType.I32, ValType.I32), (ValType.I64,))
    assert module.function_type("tensor_len") == FuncType((ValType.I64,), (ValType.I32,))
    memory = module.export("memory")
    assert memory is not None
    assert memory.kind is ExternKind.MEMORY
    assert module.function_type("memory") is None


def test_invalid_modules_raise_module_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ModuleError):
        load_module(engine, b"\0asm\x01\0\0\0\x05", use_cache=False)
    with pytest.raises(ModuleError, match="text"):
        load_module(engine, b"(module (func", use_cache=False)
    with pytest.raises(ModuleError, match="cannot read"):
        load_module(engine, tmp_path / "missing.wasm")


def test_guest_memory_accesses_are_bounds_checked(load_fixture: Loader) -> None:
    memory = instantiate(load_fixture("host_calls")).instance.memory
    assert memory.size() == 65536
    memory.write(100, b"abc")
    assert memory.read(100, 3) == b"abc"
    memory.write(65533, bytearray(b"end"))
    for ptr, length in [(65534, 3), (-1, 1), (0, 65537), (70000, 0)]:
        with pytest.raises(WasmTrap) as trapped:
            memory.read(ptr, length)
        assert trapped.value.cause is TrapCause.BAD_POINTER


def test_a_bad_pointer_in_a_host_call_traps_the_call(load_fixture: Loader) -> None:
    linked = instantiate(load_fixture("host_calls"))
    create = linked.instance.caller("create_session")
    with pytest.raises(WasmTrap) as trapped:
        create(65000, 4096)
    assert trapped.value.cause is TrapCause.BAD_POINTER
    load_jpg = linked.instance.caller("load_jpg")
    with pytest.raises(WasmTrap) as trapped:
        load_jpg(0, 16, 224, 224, 60000)  # the pixels would not fit
    assert trapped.value.cause is TrapCause.BAD_POINTER
    # Zero handles are no error at all.
    assert linked.instance.caller("tensor_len")(0) == 0
    assert linked.instance.caller("run_session")(0) == 1


def test_unresolved_imports_are_named(engine: Engine) -> None:
    wat = b'(module (import "somewhere" "something" (func)))'
    with pytest.raises(LinkError, match=r"somewhere\.something"):
        instantiate(load_module(engine, wat))
    mistyped = b'(module (import "wasmedge_image" "wasmedge_image_load_jpg_to_rgb8" (func)))'
    with pytest.raises(LinkError, match="imported as"):
        instantiate(load_module(engine, mistyped))


def test_full_tensorflow_needs_a_tensorflow_runtime(engine: Engine) -> None:
    pytest.importorskip("wasm_host")  # keeps the engine parameter's skip reason first
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed here")
    wat = (
        b'(module (import "wasmedge_tensorflow" "wasmedge_tensorflow_create_session"'
        b" (func (param i32 i32) (result i64))))"
    )
    with pytest.raises(LinkError, match="no TensorFlow runtime is installed"):
        instantiate(load_module(engine, wat))


def test_preopened_directories_are_readable_and_read_only_by_default(
    load_fixture: Loader, tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_bytes(b"Y")
    module = load_fixture("wasi_files")
    read_only = instantiate(module, wasi=WasiConfig(preopens={"/data": str(tmp_path)}))
    assert read_only.instance.caller("read_first")() == ord("Y")
    assert read_only.instance.caller("write_out")() != 0
    out = tmp_path / "out.txt"
    assert not out.exists() or out.read_bytes() == b""


def test_writable_preopens_accept_writes(
    engine: Engine, load_fixture: Loader, tmp_path: Path
) -> None:
    wasi = WasiConfig(preopens={"/data": str(tmp_path)}, writable=True, capture_output=False)
    linked = instantiate(load_fixture("wasi_files"), wasi=wasi)
    assert linked.instance.caller("write_out")() == 0
    assert (tmp_path / "out.txt").read_bytes() == b"x"


def test_a_missing_preopen_directory_is_reported(load_fixture: Loader, tmp_path: Path) -> None:
    wasi = WasiConfig(preopens={"/data": str(tmp_path / "nope")})
    with pytest.raises((LinkError, ConfigurationError), match="nope"):
        instantiate(load_fixture("wasi_files"), wasi=wasi)


def test_modules_that_import_wasi_get_it_by_default(load_fixture: Loader) -> None:
    from wasm_host import BindgenCaller

    caller = BindgenCaller(instantiate(load_fixture("bindgen_struct")).instance)
    assert caller.call("argc") == 1  # just the program name


def test_the_disk_cache_stores_and_reuses_compiled_code(engine: Engine, tmp_path: Path) -> None:
    cache = ModuleCache(tmp_path)
    first = load_module(engine, FIXTURES / "bindgen_split.wat", cache)
    entry = cache.path_for(engine, first.digest)
    assert entry.is_file()
    stamp = entry.stat().st_mtime_ns
    second = load_module(engine, FIXTURES / "bindgen_split.wat", cache)
    assert second.digest == first.digest
    assert entry.stat().st_mtime_ns == stamp  # loaded, not rewritten
    assert entry.parent.stat().st_mode & 0o077 == 0  # private to this user


def test_a_corrupt_cache_entry_is_replaced(engine: Engine, tmp_path: Path) -> None:
    cache = ModuleCache(tmp_path)
    module = load_module(engine, FIXTURES / "bindgen_split.wat", cache)
    entry = cache.path_for(engine, module.digest)
    entry.write_bytes(b"garbage")
    again = load_module(engine, FIXTURES / "bindgen_split.wat", cache)
    assert again.function_type("echo") is not None
    assert entry.read_bytes() != b"garbage"


def test_the_default_engine_follows_the_environment(
    engine_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASM_HOST_ENGINE", engine_name)
    assert get_engine().name == engine_name


def test_unknown_engines_are_refused() -> None:
    with pytest.raises(EngineUnavailable, match="unknown engine"):
        get_engine("wasmedge")


class _FailingHost(HostModule):
    name = "failing_host"

    def signatures(self) -> dict[str, FuncType]:
        return {"fail": FuncType((), ())}

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        def fail() -> None:
            raise ValueError("the host gave up")

        return {"fail": fail}


def test_a_host_function_that_raises_traps_the_call_naming_the_error(engine: Engine) -> None:
    wat = b'(module (import "failing_host" "fail" (func)) (func (export "go") call 0))'
    linked = instantiate(load_module(engine, wat), host_modules=[_FailingHost()])
    with pytest.raises(WasmTrap) as trapped:
        linked.instance.caller("go")()
    assert trapped.value.cause is TrapCause.HOST_ERROR
    assert "ValueError: the host gave up" in str(trapped.value)


def test_a_closed_wasmtime_instance_refuses_calls() -> None:
    linked = instantiate(load_module(get_engine("wasmtime"), FIXTURES / "host_calls.wat"))
    tensor_len = linked.instance.caller("tensor_len")
    linked.instance.close()
    with pytest.raises(LinkError, match="instance is closed"):
        linked.instance.begin_call()
    with pytest.raises(LinkError, match="instance is closed"):
        tensor_len(0)

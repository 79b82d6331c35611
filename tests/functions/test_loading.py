"""Loading: bad modules are refused at once, by function name and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rxyomo.functions import Frame, LoadError, function_config, load_version
from tests.functions.conftest import GuestFactory
from tests.functions.guests import NOT_BINDGEN, UNRESOLVED

pytest.importorskip("wasmtime")


def _wasm(path: Path, export: str = "echo", reply: int | None = 0x11, **limits: object):
    return function_config(
        "acme-fn", path, observe=[0x10], export=export, reply=reply, limits=limits
    )


def _refusal(config: object) -> str:
    with pytest.raises(LoadError) as refused:
        load_version(config)  # type: ignore[arg-type]
    assert refused.value.function == "acme-fn"
    assert str(refused.value).startswith("function 'acme-fn': ")
    return refused.value.reason


def test_a_good_module_loads_and_answers(make_guest: GuestFactory) -> None:
    version = load_version(_wasm(make_guest("v1:")))
    assert len(version.sha256) == 64
    assert version.version == version.sha256[:16]
    assert version.observe == (0x10,)
    instance = version.instantiate()
    try:
        (answer,) = instance.call(Frame(0x10, b"hi"))
        assert (answer.tag, answer.data) == (0x11, b"v1:hi")
        assert instance.memory() == 2 * 65536
    finally:
        instance.close()


def test_a_module_that_does_not_validate(tmp_path: Path) -> None:
    path = tmp_path / "broken.wasm"
    path.write_bytes(b"\0asm\1\0\0\0\x01\xff\xff")
    assert "does not validate" in _refusal(_wasm(path))
    text = tmp_path / "broken.wat"
    text.write_text('(module (func (export "echo") (i32.add)))')
    assert "does not validate" in _refusal(_wasm(text))


def test_a_module_importing_host_functions_nobody_provides(tmp_path: Path) -> None:
    path = tmp_path / "gpu.wat"
    path.write_text(UNRESOLVED)
    reason = _refusal(_wasm(path, reply=None))
    assert "cannot be linked" in reason
    assert "acme_gpu.launch" in reason


def test_a_module_without_the_export(make_guest: GuestFactory) -> None:
    reason = _refusal(_wasm(make_guest(), export="infer"))
    assert "lacks the export 'infer'" in reason
    assert "echo" in reason  # what it has instead


def test_an_export_with_the_wrong_signature(make_guest: GuestFactory) -> None:
    assert "wrong signature (i64) -> ()" in _refusal(_wasm(make_guest(), export="wide"))


def test_an_export_that_is_not_a_function(make_guest: GuestFactory) -> None:
    assert "is a memory, not a function" in _refusal(_wasm(make_guest(), export="memory"))


def test_a_reply_needs_bytes(make_guest: GuestFactory) -> None:
    assert "returns i32" in _refusal(_wasm(make_guest(), export="length"))
    # A sink may return a number: it is dropped.
    load_version(_wasm(make_guest(), export="length", reply=None))


def test_a_module_that_is_not_wasm_bindgen(tmp_path: Path) -> None:
    path = tmp_path / "plain.wat"
    path.write_text(NOT_BINDGEN)
    assert "not a wasm-bindgen module" in _refusal(_wasm(path))


def test_a_memory_limit_below_the_module_s_own_memory(make_guest: GuestFactory) -> None:
    # The guest starts with two pages; one is all it may have.
    assert "cannot be linked" in _refusal(_wasm(make_guest(), memory="64KiB"))


def test_a_missing_preopened_folder(make_guest: GuestFactory, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    config = function_config(
        "acme-fn", make_guest(), observe=[1], export="echo", dirs={"/model": str(folder)}
    )
    folder.rmdir()
    assert "preopen" in _refusal(config)


def _python(tmp_path: Path, source: str, **fields: object):
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(source))
    return function_config("acme-fn", path, **fields)  # type: ignore[arg-type]


def test_a_python_module_following_the_template(tmp_path: Path) -> None:
    config = _python(
        tmp_path,
        """
        import dataclasses
        from rxyomo import Context

        @dataclasses.dataclass
        class Seen:
            count: int = 0

        SEEN = Seen()

        def observe_datatags():
            return [0x10, "0x12"]

        def init():
            SEEN.count = 100

        def handler(ctx: Context) -> None:
            SEEN.count += 1
            ctx.write(0x11, ctx.data.upper() + str(SEEN.count).encode())
        """,
    )
    version = load_version(config)
    assert version.observe == (0x10, 0x12)
    (answer,) = version.instantiate().call(Frame(0x10, b"hi"))
    assert (answer.tag, answer.data) == (0x11, b"HI101")
    version.retire()


def test_async_python_handlers_and_init(tmp_path: Path) -> None:
    config = _python(
        tmp_path,
        """
        import asyncio
        READY = []

        async def init():
            await asyncio.sleep(0)
            READY.append(True)

        def observe_datatags():
            return [0x10]

        async def handler(ctx):
            await asyncio.sleep(0)
            return ctx.data[::-1] if READY else b"not ready"
        """,
        reply=0x11,
    )
    (answer,) = load_version(config).instantiate().call(Frame(0x10, b"abc"))
    assert (answer.tag, answer.data) == (0x11, b"cba")


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def handler(ctx:\n", "cannot be compiled: SyntaxError"),
        ("import no_such_module_here\ndef handler(ctx): pass\n", "importing the module failed"),
        ("def observe_datatags(): return [1]\n", "has no handler(ctx) function"),
        ("handler = 3\n", "'handler' must be a function"),
        ("def handler(ctx, extra): pass\n", "handler must take one argument"),
        ("def handler(ctx): pass\n", "observes no tags"),
        (
            "def handler(ctx): pass\ndef observe_datatags(): return ['sixteen']\n",
            "observe_datatags() returned a bad tag",
        ),
        (
            "def handler(ctx): pass\ndef observe_datatags(): return [0xF001]\n",
            "observe_datatags() returned a bad tag: data tag 0xF001 is reserved",
        ),
        (
            "def handler(ctx): pass\ndef observe_datatags(): raise RuntimeError('no')\n",
            "observe_datatags() failed: RuntimeError: no",
        ),
        (
            "def handler(ctx): pass\ndef observe_datatags(): return [1]\n"
            "def init(): raise OSError('no model')\n",
            "init() failed: OSError: no model",
        ),
    ],
)
def test_bad_python_modules(tmp_path: Path, source: str, words: str) -> None:
    assert words in _refusal(_python(tmp_path, source))


def test_python_tags_given_twice_must_agree(tmp_path: Path) -> None:
    source = "def handler(ctx): pass\ndef observe_datatags(): return [1, 2]\n"
    assert load_version(_python(tmp_path, source, observe=[2, 1])).observe == (2, 1)
    reason = _refusal(_python(tmp_path, source, observe=[3]))
    assert "observe says [0x3], but the module's observe_datatags() says [0x1, 0x2]" in reason
    # Tags given by the config alone are enough.
    assert load_version(_python(tmp_path, "def handler(ctx): pass\n", observe=[5])).observe == (5,)

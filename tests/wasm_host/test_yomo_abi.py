"""YoMo's wasm stream-function ABI: guests built with YoMo's Rust SDK and with Go, the first
generation, and guests that misbehave, on every engine."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wasm_host import (
    Answer,
    CompiledModule,
    ConventionError,
    GuestError,
    TrapCause,
    WasiConfig,
    WasmFunction,
    WasmTrap,
    YomoCaller,
    YomoFunction,
)


@pytest.fixture
def rust_guest(built_guest: Callable[[str], Path]) -> Path:
    return built_guest("yomo_rust")


@pytest.fixture
def go_guest(built_guest: Callable[[str], Path]) -> Path:
    return built_guest("yomo_go")


def test_the_rust_sdk_guest_observes_and_answers(engine_name: str, rust_guest: Path) -> None:
    function = YomoFunction(rust_guest, engine=engine_name)
    assert function.observed == (0x33,)
    assert function.wanted_target is None
    assert function(b"hello", 0x33) == [(0x34, b"HELLO")]
    assert function(b"split:a,b,c") == [(0x34, b"A"), (0x34, b"B"), (0x34, b"C")]
    # A frame longer than any buffer the guest had: it asks for the size first.
    assert function(b"x" * 300_000) == [(0x34, b"X" * 300_000)]
    # The handler's Err is the guest's own business: no answer, the function goes on.
    assert function(b"fail") == []
    assert function(b"again") == [(0x34, b"AGAIN")]
    assert (function.stats.calls, function.stats.traps, function.stats.instances) == (5, 0, 1)


def test_the_go_guest_uses_the_whole_abi(engine_name: str, go_guest: Path) -> None:
    function = YomoFunction(
        go_guest, engine=engine_name, wasi=WasiConfig(env={"WANTED_TARGET": "edge-7"})
    )
    assert function.observed == (0x33, 0x35, 0x37)
    assert function.wanted_target == "edge-7"
    assert function(b"hello", 0x33) == [(0x34, b"HELLO")]
    assert function(b"y" * 5000, 0x33) == [(0x34, b"Y" * 5000)]
    [targeted] = function(b"alice,hi there", 0x35)
    assert targeted == (0x36, b"hi there")
    assert isinstance(targeted, Answer)
    assert targeted.target == "alice"
    assert function(b"many:3", 0x37) == [(0x38, b"0"), (0x38, b"1"), (0x38, b"2")]
    # No host is allowed by default: yomo_http_send answers its error code.
    assert function(b"http:http://127.0.0.1:9/", 0x37) == [(0x39, b"http error 2")]


def test_a_failing_init_stops_the_function(engine_name: str, go_guest: Path) -> None:
    function = YomoFunction(go_guest, engine=engine_name, wasi=WasiConfig(env={"FAIL_INIT": "1"}))
    with pytest.raises(GuestError, match="yomo_init returned 1"):
        function.warm_up()


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"you asked for {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_http_send_reaches_only_the_hosts_allowed(
    engine_name: str, go_guest: Path, http_server: str
) -> None:
    function = YomoFunction(go_guest, engine=engine_name, http_hosts=["127.0.0.1"])
    # The response comes back through the guest's yomo_alloc, called from the host call.
    assert function(f"http:{http_server}/ping".encode(), 0x37) == [
        (0x39, b"200 you asked for /ping")
    ]
    assert function(b"http:http://localhost:9/", 0x37) == [(0x39, b"http error 2")]


def test_the_first_generation_answers_once(
    load_fixture: Callable[[str], CompiledModule],
) -> None:
    function = YomoFunction(load_fixture("yomo_load_dump"))
    assert function.observed == (0x33,)
    # It dumped twice; the last dump is the answer.
    assert function(b"frame") == [(0x34, b"frame")]
    assert function(b"") == [(0x34, b"")]


@pytest.mark.parametrize(
    ("tag", "cause", "words"),
    [
        (1, TrapCause.BAD_POINTER, "outside the guest's"),
        (2, TrapCause.BAD_POINTER, "outside the guest's"),
        (3, TrapCause.OUTPUT_LIMIT, "yomo_write storm"),
        (6, TrapCause.GUEST_TRAP, "unreachable"),
    ],
)
def test_hostile_guests_trap_with_the_cause_and_the_function_goes_on(
    load_fixture: Callable[[str], CompiledModule], tag: int, cause: TrapCause, words: str
) -> None:
    function = YomoFunction(load_fixture("yomo_hostile"), max_answers=100)
    with pytest.raises(WasmTrap) as trapped:
        function(b"payload", tag)
    assert trapped.value.cause is cause
    assert words in str(trapped.value)
    assert function(b"still here", 4) == [(5, b"still here")]
    assert function.stats.traps == 1
    assert function.stats.instances == 2


def test_the_caller_runs_one_instance(load_fixture: Callable[[str], CompiledModule]) -> None:
    caller = YomoCaller.create(load_fixture("yomo_hostile"))
    try:
        assert caller.observed == (1, 2, 3, 4, 6)
        assert caller.call(b"abc", 4, {"user-key": "v"}) == [(5, b"abc")]
        assert caller.call(b"", 4) == [(5, b"")]
    finally:
        caller.close()


def test_other_conventions_are_refused(load_fixture: Callable[[str], CompiledModule]) -> None:
    with pytest.raises(ConventionError):
        YomoFunction(load_fixture("bindgen_split"))
    with pytest.raises(ConventionError, match="YomoFunction"):
        WasmFunction(load_fixture("yomo_hostile"), "yomo_handler")

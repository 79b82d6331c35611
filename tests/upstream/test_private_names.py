"""Canaries: every private name of aioquic's and wasmtime-py's that rxyomo relies on is still
there in the shape rxyomo needs, and a failure says which name, in which release, used
where, and the two ways out (a pin, or porting the code).

The names are in tests/upstream/names.py and docs/architecture.md ("Upstream private
names"); the checks of aioquic's run on real connections that complete a handshake in
memory, the checks of wasmtime's on a real store, function and memory.
test_names_complete.py checks that the list holds every name the code uses.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aioquic import tls
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection, QuicConnectionState
from aioquic.quic.events import ConnectionTerminated
from aioquic.quic.packet_builder import QuicPacketBuilder

from devtools.quic_pair import CLIENT_ADDRESS, SERVER_ADDRESS, exchange
from rxyomo.transport.certs import dev_certificates
from tests.upstream import names
from tests.upstream._canary import (
    Method,
    PrivateName,
    Upstream,
    ids,
    problem,
    report,
    require,
)

DATA = bytes(range(256)) * 8


def _entry(name: str) -> PrivateName:
    return next(e for e in names.AIOQUIC_NAMES if e.name == name)


def _recorder(name: str) -> Callable[..., Any]:
    def record(self: Recording, *args: Any, **kwargs: Any) -> Any:
        self.called.add(name)
        return getattr(QuicConnection, name)(self, *args, **kwargs)

    return record


class Recording(QuicConnection):
    """aioquic's connection, noting which of the methods rxyomo overrides aioquic calls."""

    def __init__(self, **kwargs: Any) -> None:
        self.called: set[str] = set()  # before aioquic's __init__, which may call some
        super().__init__(**kwargs)


for _override in names.OVERRIDES:
    setattr(Recording, _override.name, _recorder(_override.name))


class Loopback:
    """A client and a server connection of aioquic's after a handshake in memory, the client
    having written :data:`DATA` on stream 0 and the server acknowledged it."""

    def __init__(self, certs_dir: Path) -> None:
        certs = dev_certificates(certs_dir)
        client_config = QuicConfiguration(is_client=True, alpn_protocols=["yomo"])
        client_config.load_verify_locations(cafile=str(certs.ca_certfile))
        client_config.server_name = "localhost"
        server_config = QuicConfiguration(is_client=False, alpn_protocols=["yomo"])
        server_config.load_cert_chain(certs.certfile, certs.keyfile)
        self.client = Recording(configuration=client_config)
        self.server = Recording(
            configuration=server_config,
            original_destination_connection_id=self.client.original_destination_connection_id,
        )
        self.client.connect(SERVER_ADDRESS, now=0.0)
        self.now = exchange(self.client, self.server, until=1.0)
        self.client.send_stream_data(0, DATA)
        sender = self.holders()["sender"]
        #: The sender's unacknowledged bytes and acknowledged offset, just after the write.
        self.written = (len(getattr(sender, "_buffer", ())), getattr(sender, "_buffer_start", -1))
        self.now = exchange(self.client, self.server, now=self.now, until=self.now + 1.0)

    def holders(self) -> dict[str, Any]:
        """The objects names are looked up on; None where a name on the way is gone (whose own
        canary says so)."""
        found: dict[str, Any] = {"connection": self.client}
        steps: list[tuple[str, str, Callable[[Any], Any]]] = [
            ("recovery", "connection", lambda c: c._loss),
            ("cc", "recovery", lambda r: r._cc),
            ("space", "connection", lambda c: c._spaces[tls.Epoch.ONE_RTT]),
            ("stream", "connection", lambda c: c._streams[0]),
            ("sender", "stream", lambda s: s.sender),
        ]
        for key, source, step in steps:
            try:
                found[key] = step(found[source])
            except (AttributeError, KeyError, TypeError):
                found[key] = None
        return found


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs") / "dev"


@pytest.fixture(scope="module")
def loopback(certs_dir: Path) -> Loopback:
    return Loopback(certs_dir)


_CLASSES: dict[str, Any] = {
    "QuicConnection": QuicConnection,
    "QuicConnectionState": QuicConnectionState,
    "QuicPacketBuilder": QuicPacketBuilder,
}


@pytest.mark.parametrize("entry", names.AIOQUIC_NAMES, ids=ids(names.AIOQUIC_NAMES))
def test_aioquic_still_has(entry: PrivateName, loopback: Loopback) -> None:
    if entry.holder:
        holder = loopback.holders()[entry.holder]
    else:
        holder = _CLASSES.get(entry.owner) or importlib.import_module(entry.owner)
    require(entry, holder)


@pytest.mark.parametrize("entry", names.OVERRIDES, ids=ids(names.OVERRIDES))
def test_aioquic_still_calls_what_rxyomo_overrides(entry: PrivateName, loopback: Loopback) -> None:
    # A method aioquic kept but no longer calls would turn the override off without a word.
    if entry.name not in loopback.client.called | loopback.server.called:
        version = entry.upstream.installed()
        pytest.fail(report(entry, version, "aioquic never calls it"), pytrace=False)


def test_the_sender_buffer_holds_what_is_unacknowledged(loopback: Loopback) -> None:
    # StreamConnection.unacked_bytes() is len(_buffer); acknowledged_bytes() is _buffer_start.
    entry = _entry("_buffer_start")
    sender = loopback.holders()["sender"]
    after = (len(getattr(sender, "_buffer", ())), getattr(sender, "_buffer_start", -1))
    if loopback.written != (len(DATA), 0) or after != (0, len(DATA)):
        how = "its buffer no longer runs from the first unacknowledged byte"
        pytest.fail(report(entry, entry.upstream.installed(), how), pytrace=False)


def test_an_ack_waits_for_the_ack_delay_unless_it_is_due_now(certs_dir: Path) -> None:
    # StreamConnection sets _ack_delay to batch ACKs, and ack_at to 0 to send one at once.
    ends = Loopback(certs_dir)
    delay, ack_at = _entry("_ack_delay"), _entry("ack_at")
    ends.server._ack_delay = 0.010
    ends.client.send_stream_data(0, b"more")
    now = ends.now + 1.0
    for data, _ in ends.client.datagrams_to_send(now=now):
        ends.server.receive_datagram(data, CLIENT_ADDRESS, now=now)
    space = ends.server._spaces[tls.Epoch.ONE_RTT]
    if space.ack_at != now + 0.010:
        how = "an ACK no longer waits for it"
        pytest.fail(report(delay, delay.upstream.installed(), how), pytrace=False)
    space.ack_at = 0.0
    if not list(ends.server.datagrams_to_send(now=now)) or space.ack_at is not None:
        how = "an ACK due at 0 no longer goes out with the next datagrams"
        pytest.fail(report(ack_at, ack_at.upstream.installed(), how), pytrace=False)


def test_close_event_is_known_before_the_event_is_reported(certs_dir: Path) -> None:
    # StreamConnection.close_event answers at once; aioquic reports it after draining.
    entry = _entry("_close_event")
    ends = Loopback(certs_dir)
    ends.client.close(error_code=0, reason_phrase="done")
    if not isinstance(ends.client._close_event, ConnectionTerminated):
        how = "close() no longer sets it"
        pytest.fail(report(entry, entry.upstream.installed(), how), pytrace=False)


# The canary itself, on a module of a release that dropped or changed a name.


def _fake_release() -> types.ModuleType:
    module = types.ModuleType("fake_aioquic")

    class QuicConnection:
        def _write_crypto_frame(self, builder: Any, space: Any) -> bool:
            return False

    module.QuicConnection = QuicConnection  # type: ignore[attr-defined]
    return module


def test_the_canary_names_a_missing_name_its_release_and_the_ways_out() -> None:
    fake = _fake_release().QuicConnection
    assert problem(_entry("_write_ack_frame"), fake, "1.8.0") == (
        "aioquic 1.8.0 no longer has QuicConnection._write_ack_frame(builder, space, now) "
        "-> None, which rxyomo/transport/quic/connection.py overrides; pin aioquic<1.8 or "
        "port the override"
    )


def test_the_canary_names_a_changed_signature() -> None:
    fake = _fake_release().QuicConnection
    assert problem(_entry("_write_crypto_frame"), fake, "1.7.3") == (
        "aioquic 1.7.3 no longer has QuicConnection._write_crypto_frame(builder, space, stream) "
        "-> bool, which rxyomo/transport/quic/connection.py overrides: it takes (builder, "
        "space); pin aioquic<1.7.3 or port the override"
    )


def test_the_canary_fails_the_test() -> None:
    entry = PrivateName(Upstream("pytest", 2), "fake", "_gone", "here.py", "reads")
    with pytest.raises(pytest.fail.Exception, match=r"pytest \S+ no longer has fake\._gone"):
        require(entry, _fake_release())


def test_the_canary_passes_what_fits() -> None:
    fake = _fake_release().QuicConnection
    entry = PrivateName(
        Upstream("pytest", 2), "QuicConnection", "_write_crypto_frame", "here.py", "overrides"
    )
    assert callable(require(entry, fake))
    shaped = dataclasses.replace(entry, shape=Method(("builder", "space"), returns="bool"))
    assert problem(shaped, fake) is None


def test_a_cap_leaves_out_the_release_that_broke() -> None:
    assert names.AIOQUIC.below("1.8.0") == "1.8"
    assert names.AIOQUIC.below("1.7.3") == "1.7.3"
    assert names.WASMTIME.below("51.0.0") == "51"
    assert names.WASMTIME.below("50.0.2") == "50.0.2"


# wasmtime-py's, on a real store, function and memory.


@pytest.fixture(scope="module")
def wasmtime_holders() -> dict[str, Any]:
    try:
        import wasmtime
    except ImportError:
        # As tests/wasm_host: an engine the run names must be there; else it is optional.
        if "wasmtime" in os.environ.get("WASM_HOST_TEST_ENGINES", "").split(","):
            pytest.fail("WASM_HOST_TEST_ENGINES names wasmtime, but it is not installed")
        pytest.skip("wasmtime is not installed")
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(
        engine,
        '(module (memory (export "memory") 1) (func (export "one") (result i32) i32.const 1))',
    )
    exports = wasmtime.Instance(store, module, []).exports(store)
    ffi = getattr(wasmtime, "_ffi", None)
    return {
        "wasmtime": wasmtime,
        "wasmtime._ffi": ffi,
        "wasmtime._ffi.dll": getattr(ffi, "dll", None),
        "wasmtime.Store": wasmtime.Store,
        "wasmtime.Func": wasmtime.Func,
        "wasmtime.WasmtimeError": wasmtime.WasmtimeError,
        "wasmtime.Trap": wasmtime.Trap,
        "store": store,
        "func": exports["one"],
        "memory": exports["memory"],
    }


@pytest.mark.parametrize("entry", names.WASMTIME_NAMES, ids=ids(names.WASMTIME_NAMES))
def test_wasmtime_still_has(entry: PrivateName, wasmtime_holders: dict[str, Any]) -> None:
    require(entry, wasmtime_holders[entry.where])


def test_a_raw_function_and_memory_are_what_the_c_api_takes(
    wasmtime_holders: dict[str, Any],
) -> None:
    # The engine calls exports and reads memory in C with these; a function rebuilt from its
    # raw form must still be the export, and the memory's base must be data_ptr's.
    wasmtime, store = wasmtime_holders["wasmtime"], wasmtime_holders["store"]
    func, memory = wasmtime_holders["func"], wasmtime_holders["memory"]
    entry = next(e for e in names.WASMTIME_NAMES if e.name == "_from_raw")
    if wasmtime.Func._from_raw(func._func)(store) != 1:
        how = "it no longer rebuilds the function"
        pytest.fail(report(entry, entry.upstream.installed(), how), pytrace=False)
    data = wasmtime_holders["wasmtime._ffi.dll"]["wasmtime_memory_data"]
    data.restype = ctypes.c_void_p
    data.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    base = data(store._context(), ctypes.addressof(memory._memory))
    entry = next(e for e in names.WASMTIME_NAMES if e.name == "_memory")
    if base != ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value:
        how = "it is no longer the memory the C API reads"
        pytest.fail(report(entry, entry.upstream.installed(), how), pytrace=False)

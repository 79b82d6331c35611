"""Every name of aioquic's and wasmtime-py's that rxyomo uses although they do not offer it
as public API, with the shape rxyomo needs; docs/architecture.md lists the same names and
why no public API does their job.

``holder`` names the live object a name is looked up on, where only a live object has it
(test_private_names.py makes them); the rest are looked up on their ``owner``.
"""

from __future__ import annotations

import ctypes
import types

from aioquic.quic.congestion.base import QuicCongestionControl
from aioquic.quic.connection import QuicConnectionState
from aioquic.quic.events import ConnectionTerminated
from aioquic.quic.recovery import QuicPacketPacer, QuicPacketRecovery
from aioquic.quic.stream import QuicStreamSender

from tests.upstream._canary import (
    EXISTS,
    Arity,
    CCallback,
    CFunction,
    CUnion,
    InstanceOf,
    Method,
    PrivateName,
    Shape,
    SubclassOf,
    Upstream,
)

AIOQUIC = Upstream("aioquic", release_parts=2)
WASMTIME = Upstream("wasmtime", release_parts=1)

_CONNECTION = "rxyomo/transport/quic/connection.py"
_OVERRIDE = "port the override"
_NONE = type(None)


def _aioquic(owner: str, name: str, use: str, shape: Shape = EXISTS, **kw: str) -> PrivateName:
    return PrivateName(AIOQUIC, owner, name, _CONNECTION, use, shape, **kw)


#: QuicConnection's methods that StreamConnection overrides, or hands to aioquic.
OVERRIDES = [
    _aioquic(
        "QuicConnection",
        "_write_stream_frame",
        "overrides",
        Method(("builder", "space", "stream", "max_offset"), returns="int"),
        port=_OVERRIDE,
    ),
    _aioquic(
        "QuicConnection",
        "_write_crypto_frame",
        "overrides",
        Method(("builder", "space", "stream"), returns="bool"),
        port=_OVERRIDE,
    ),
    _aioquic(
        "QuicConnection",
        "_write_stream_limits",
        "overrides",
        Method(("builder", "space", "stream"), returns="None"),
        port=_OVERRIDE,
    ),
    _aioquic(
        "QuicConnection",
        "_write_ack_frame",
        "overrides",
        Method(("builder", "space", "now"), returns="None"),
        port=_OVERRIDE,
    ),
    _aioquic(
        "QuicConnection",
        "_parse_transport_parameters",
        "overrides",
        Method(("data", "from_session_ticket"), returns="None"),
        port=_OVERRIDE,
    ),
    _aioquic(
        "QuicConnection",
        "_serialize_transport_parameters",
        "overrides",
        Method((), returns="bytes"),
        port=_OVERRIDE,
    ),
]

HANDLERS = [
    _aioquic(
        "QuicConnection",
        "_on_max_stream_data_delivery",
        "hands to its MAX_STREAM_DATA frames",
        Method(("delivery", "stream"), returns="None"),
        port="port _write_stream_limits",
    ),
]

#: What a live QuicConnection keeps, and what StreamConnection reads or replaces.
STATE = [
    _aioquic("QuicConnection", "_spaces", "reads", InstanceOf((dict,)), holder="connection"),
    _aioquic("QuicConnection", "_streams", "reads", InstanceOf((dict,)), holder="connection"),
    _aioquic(
        "QuicConnection",
        "_loss",
        "reads",
        InstanceOf((QuicPacketRecovery,)),
        holder="connection",
    ),
    _aioquic(
        "QuicConnection",
        "_max_datagram_size",
        "reads and raises",
        InstanceOf((int,)),
        holder="connection",
    ),
    _aioquic("QuicConnection", "_ack_delay", "sets", InstanceOf((float,)), holder="connection"),
    _aioquic(
        "QuicConnection",
        "_close_event",
        "reads",
        InstanceOf((ConnectionTerminated, _NONE)),
        holder="connection",
    ),
    _aioquic(
        "QuicConnection",
        "_state",
        "reads",
        InstanceOf((QuicConnectionState,)),
        holder="connection",
    ),
    _aioquic(
        "QuicPacketRecovery",
        "_cc",
        "replaces",
        InstanceOf((QuicCongestionControl,)),
        holder="recovery",
    ),
    _aioquic(
        "QuicPacketRecovery",
        "_pacer",
        "replaces",
        InstanceOf((QuicPacketPacer,)),
        holder="recovery",
    ),
    _aioquic("QuicStreamSender", "_buffer", "reads", InstanceOf((bytearray,)), holder="sender"),
    _aioquic("QuicStreamSender", "_buffer_start", "reads", InstanceOf((int,)), holder="sender"),
]

#: Names without an underscore but documented nowhere, which the overrides (replicas of
#: aioquic's own methods) and the datagram-size change rely on.
INTERNALS = [
    _aioquic(
        "QuicStreamSender",
        "get_frame",
        "calls",
        Method(("max_size", "max_offset")),
        holder="sender",
    ),
    _aioquic(
        "QuicStreamSender",
        "on_data_delivery",
        "hands to its STREAM and CRYPTO frames",
        Method(("delivery", "start", "stop", "fin"), returns="None"),
        holder="sender",
    ),
    _aioquic("QuicStreamSender", "next_offset", "reads", InstanceOf((int,)), holder="sender"),
    _aioquic("QuicStreamSender", "highest_offset", "reads", InstanceOf((int,)), holder="sender"),
    _aioquic("QuicStreamSender", "is_finished", "reads", InstanceOf((bool,)), holder="sender"),
    _aioquic("QuicStream", "stream_id", "reads", InstanceOf((int,)), holder="stream"),
    _aioquic("QuicStream", "sender", "reads", InstanceOf((QuicStreamSender,)), holder="stream"),
    _aioquic(
        "QuicStream",
        "max_stream_data_local",
        "reads and raises",
        InstanceOf((int,)),
        holder="stream",
    ),
    _aioquic(
        "QuicStream",
        "max_stream_data_local_sent",
        "reads and sets",
        InstanceOf((int,)),
        holder="stream",
    ),
    _aioquic(
        "QuicPacketSpace", "ack_at", "reads and sets", InstanceOf((float, _NONE)), holder="space"
    ),
    _aioquic(
        "QuicCongestionControl", "bytes_in_flight", "carries over", InstanceOf((int,)), holder="cc"
    ),
    _aioquic(
        "QuicPacketBuilder",
        "start_frame",
        "calls",
        Method(("frame_type", "capacity", "handler", "handler_args"), returns="Buffer"),
    ),
    _aioquic("QuicPacketBuilder", "remaining_flight_space", "reads", InstanceOf((property,))),
    _aioquic(
        "aioquic.quic.congestion.base",
        "create_congestion_control",
        "calls",
        Method(("name", "max_datagram_size")),
    ),
    _aioquic("aioquic.quic.recovery", "QuicPacketPacer", "builds", Method(("max_datagram_size",))),
    _aioquic("QuicConnectionState", "FIRSTFLIGHT", "compares with"),
    _aioquic(
        "aioquic.quic.connection", "MAX_STREAM_DATA_FRAME_CAPACITY", "reads", InstanceOf((int,))
    ),
]

AIOQUIC_NAMES = OVERRIDES + HANDLERS + STATE + INTERNALS

_HOST = "wasm_host/engines/_wasmtime_host.py"
_ENGINE = "wasm_host/engines/wasmtime_engine.py"
_BOTH = "wasm_host/engines/wasmtime_engine.py (and _wasmtime_host.py)"
_PORT = "port the engine to the new bindings"


def _wasmtime(
    owner: str, name: str, used_in: str, use: str, shape: Shape = EXISTS, holder: str = ""
) -> PrivateName:
    return PrivateName(WASMTIME, owner, name, used_in, use, shape, _PORT, holder)


_FFI = "wasmtime._ffi"
_STRUCTURE = SubclassOf(ctypes.Structure)

WASMTIME_NAMES = [
    _wasmtime("wasmtime", "_ffi", _BOTH, "imports", InstanceOf((types.ModuleType,))),
    _wasmtime(_FFI, "dll", _BOTH, "looks C functions up in", InstanceOf((ctypes.CDLL,))),
    _wasmtime(
        _FFI,
        "wasmtime_func_unchecked_callback_t",
        _HOST,
        "declares its host-function trampoline with",
        CCallback(4, ctypes.c_size_t, "size_t"),
    ),
    _wasmtime(_FFI, "wasmtime_func_new_unchecked", _HOST, "calls", Arity(6)),
    _wasmtime(_FFI, "wasmtime_func_t", _HOST, "allocates", _STRUCTURE),
    _wasmtime(_FFI, "wasmtime_caller_context", _HOST, "calls", Arity(1)),
    _wasmtime(_FFI, "wasmtime_trap_new", _HOST, "calls", Arity(2)),
    _wasmtime(
        _FFI,
        "wasmtime_val_raw_t",
        _ENGINE,
        "packs arguments and results into",
        CUnion(("i32", "i64", "f32", "f64"), 16),
    ),
    _wasmtime(_FFI, "wasmtime_error_t", _ENGINE, "casts errors to", _STRUCTURE),
    _wasmtime(_FFI, "wasm_trap_t", _ENGINE, "casts traps to", _STRUCTURE),
    _wasmtime(_FFI, "wasmtime_error_exit_status", _ENGINE, "calls", Arity(2)),
    _wasmtime(_FFI, "wasmtime_error_delete", _ENGINE, "calls", Arity(1)),
    _wasmtime(f"{_FFI}.dll", "wasmtime_memory_data", _HOST, "calls", CFunction(2)),
    _wasmtime(f"{_FFI}.dll", "wasmtime_memory_data_size", _HOST, "calls", CFunction(2)),
    _wasmtime(f"{_FFI}.dll", "wasmtime_func_call_unchecked", _ENGINE, "calls", CFunction(5)),
    _wasmtime("wasmtime.Store", "_context", _BOTH, "calls", Method(())),
    _wasmtime(
        "wasmtime.Func", "_func", _ENGINE, "passes to C", InstanceOf((ctypes.Structure,)), "func"
    ),
    _wasmtime("wasmtime.Func", "_from_raw", _HOST, "calls", Arity(1)),
    _wasmtime(
        "wasmtime.Memory",
        "_memory",
        _HOST,
        "passes to C",
        InstanceOf((ctypes.Structure,)),
        "memory",
    ),
    _wasmtime("wasmtime.WasmtimeError", "_from_ptr", _ENGINE, "calls", Arity(1)),
    _wasmtime("wasmtime.Trap", "_from_ptr", _ENGINE, "calls", Arity(1)),
]

#: Modules of other packages' that rxyomo imports although their names are private.
PRIVATE_MODULES = {"wasmtime._ffi"}

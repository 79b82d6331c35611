"""``wasmedge_tensorflowlite``: the seven functions of WasmEdge's TensorFlow-Lite host.

Return codes and zero-handle rules follow WasmEdge's C++ host: ``create_session`` returns 0
when the model cannot be loaded, ``get_output_tensor`` returns 0 for an unknown name,
``get_tensor_len(0)`` is 0, ``get_tensor_data(0, ...)`` writes nothing, ``append_input``
ignores an unknown name or a size that does not match the tensor, ``run_session`` returns 1
when the interpreter fails. Where WasmEdge would dereference a stale handle, this host treats
it as unknown (the same results as handle 0), and every pointer is bounds-checked.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any

from ..engine import FuncType
from ._base import I32, I64, HostContext, PrefixedHostModule
from .interpreters import InterpreterPool, ModelEntry, fingerprint, interpreter_class

__all__ = ["TensorFlowLiteHost"]

logger = logging.getLogger(__name__)

_PREFIX = "wasmedge_tensorflowlite_"
_SIGNATURES = {
    "create_session": FuncType((I32, I32), (I64,)),
    "delete_session": FuncType((I64,), ()),
    "run_session": FuncType((I64,), (I32,)),
    "get_output_tensor": FuncType((I64, I32, I32), (I64,)),
    "get_tensor_len": FuncType((I64,), (I32,)),
    "get_tensor_data": FuncType((I64, I32), ()),
    "append_input": FuncType((I64, I32, I32, I32, I32), ()),
}

# Buffers remembered per instance for the fingerprint shortcut.
_RECENT_MODELS = 4

_shared_pool: InterpreterPool | None = None

#: Threads each interpreter of the process-wide pool runs on (default 2, as WasmEdge's
#: host): 1 suits a process that runs as many calls at once as it has cores.
THREADS_ENV = "WASM_HOST_TFLITE_THREADS"


def shared_pool() -> InterpreterPool:
    """The process-wide pool used when a host is created without one; its interpreters'
    threads come from ``$WASM_HOST_TFLITE_THREADS`` when set."""
    global _shared_pool
    if _shared_pool is None:
        _shared_pool = InterpreterPool(num_threads=_threads_from_env())
    return _shared_pool


def _threads_from_env() -> int:
    default = InterpreterPool().num_threads
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        logger.warning("%s=%r is not a positive number: using %d", THREADS_ENV, value, default)
        return default
    return int(value)


@dataclass
class _Session:
    entry: ModelEntry
    interpreter: Any


class _Sessions:
    """One instance's sessions and tensor handles."""

    def __init__(self, host: TensorFlowLiteHost, context: HostContext) -> None:
        self.pool = host.pool
        self.max_sessions = host.max_sessions
        self.context = context
        self.sessions: dict[int, _Session] = {}
        self.tensors: dict[int, tuple[int, int]] = {}
        self.recent: dict[tuple[int, int], tuple[ModelEntry, bytes]] = {}
        self._handles = itertools.count(1)
        context.on_close(self.close)

    def create_session(self, model_ptr: int, model_len: int) -> int:
        address = self.context.memory.address(model_ptr, model_len)
        if len(self.sessions) >= self.max_sessions:
            logger.error("%screate_session: more than %d live sessions", _PREFIX, self.max_sessions)
            return 0
        # The same guest creating a session from the same buffer again (once per call, in the
        # original function) skips the full comparison when a sample of the bytes is unchanged.
        sample = fingerprint(address, model_len)
        recent = self.recent.get((model_ptr, model_len))
        known = recent[0] if recent is not None and recent[1] == sample else None
        leased = self.pool.acquire(address, model_len, known)
        if leased is None:
            return 0
        self.recent[(model_ptr, model_len)] = (leased[0], sample)
        if len(self.recent) > _RECENT_MODELS:
            del self.recent[next(iter(self.recent))]
        handle = next(self._handles)
        self.sessions[handle] = _Session(*leased)
        return handle

    def delete_session(self, session: int) -> None:
        found = self.sessions.pop(session, None)
        if found is None:
            return
        self.tensors = {h: t for h, t in self.tensors.items() if t[0] != session}
        self.pool.release(found.entry, found.interpreter)

    def run_session(self, session: int) -> int:
        found = self.sessions.get(session)
        if found is None:
            return 1
        try:
            found.interpreter.invoke()
        except (RuntimeError, ValueError) as exc:
            logger.error("%srun_session: invocation failed: %s", _PREFIX, exc)
            return 1
        return 0

    def get_output_tensor(self, session: int, name_ptr: int, name_len: int) -> int:
        name = self.context.memory.read(name_ptr, name_len)
        found = self.sessions.get(session)
        if found is None:
            return 0
        index = found.entry.outputs.get(name.decode("utf-8", "replace"))
        if index is None:
            return 0
        for handle, located in self.tensors.items():
            if located == (session, index):
                return handle
        handle = next(self._handles)
        self.tensors[handle] = (session, index)
        return handle

    def _tensor(self, tensor: int) -> Any:
        """A numpy view of the tensor's buffer, or ``None``; drop it before the next run."""
        located = self.tensors.get(tensor)
        if located is None:
            return None
        session, index = located
        return self.sessions[session].interpreter.tensor(index)()

    def get_tensor_len(self, tensor: int) -> int:
        view = self._tensor(tensor)
        return 0 if view is None else int(view.nbytes)

    def get_tensor_data(self, tensor: int, dst_ptr: int) -> None:
        view = self._tensor(tensor)
        if view is None or view.nbytes == 0:
            return
        ctypes.memmove(
            self.context.memory.address(dst_ptr, view.nbytes), view.ctypes.data, view.nbytes
        )

    def append_input(
        self, session: int, name_ptr: int, name_len: int, data_ptr: int, data_len: int
    ) -> None:
        memory = self.context.memory
        name = memory.read(name_ptr, name_len).decode("utf-8", "replace")
        source = memory.address(data_ptr, data_len)
        found = self.sessions.get(session)
        if found is None:
            return
        index = found.entry.inputs.get(name)
        if index is None:
            return
        view = found.interpreter.tensor(index)()
        if view.nbytes != data_len:
            # TfLiteTensorCopyFromBuffer refuses a size mismatch and copies nothing.
            logger.error(
                "%sappend_input: %s takes %d bytes, not %d", _PREFIX, name, view.nbytes, data_len
            )
            return
        ctypes.memmove(view.ctypes.data, source, data_len)

    def close(self) -> None:
        for handle in list(self.sessions):
            self.delete_session(handle)


class TensorFlowLiteHost(PrefixedHostModule):
    """``wasmedge_tensorflowlite`` on ai-edge-litert (falling back to tflite-runtime).

    Interpreters come from ``pool`` (a process-wide one by default), so a guest that creates
    a session per call reuses a warm interpreter. A model is recognised by comparing all its
    bytes, except when the same instance passes the same buffer again and 4096 bytes sampled
    evenly across it are unchanged: a guest that rewrites a few bytes of its model in place
    keeps the interpreter of the bytes it passed before (its own earlier model).

    ``max_sessions`` bounds the live sessions of one instance, so that a guest cannot make
    the host build interpreters without end.
    """

    name = "wasmedge_tensorflowlite"
    prefix = _PREFIX
    methods = _SIGNATURES

    def __init__(self, pool: InterpreterPool | None = None, max_sessions: int = 8) -> None:
        self.pool = pool if pool is not None else shared_pool()
        self.max_sessions = max_sessions

    def unavailable_reason(self) -> str | None:
        if interpreter_class() is None:
            return "no TensorFlow-Lite runtime is installed (pip install ai-edge-litert)"
        return None

    def instance_functions(self, context: HostContext) -> _Sessions:
        return _Sessions(self, context)

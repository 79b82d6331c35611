"""``wasi_ephemeral_nn``: WASI-NN on ai-edge-litert, for the TensorFlow-Lite encoding.

The functions and their layout follow the ``wasi_ephemeral_nn`` witx that the ``wasi-nn``
and ``wasmedge-wasi-nn`` crates are generated from: ``load(builders_ptr, builders_len,
encoding, target, graph_ptr)``, ``load_by_name(name_ptr, name_len, graph_ptr)``,
``init_execution_context(graph, context_ptr)``, ``set_input(context, index, tensor_ptr)``
(a tensor is ``{dims_ptr, dims_len, type, data_ptr, data_len}``, 20 bytes), ``compute``,
``get_output(context, index, buffer_ptr, buffer_len, written_ptr)``, and WasmEdge's
``compute_single`` / ``get_output_single`` / ``fini_single`` / ``unload``. Every function
returns a WASI-NN error code; every pointer is bounds-checked (a bad one traps the call).

Checks follow WasmEdge's TensorFlow-Lite backend: only the CPU target; one graph builder;
an input must match the model's tensor in byte size, dimensions and type; an output buffer
must hold the whole tensor. Encodings other than TensorFlow-Lite (and autodetect of a
TensorFlow-Lite file) are refused with ``INVALID_ENCODING``. The ``*_single`` functions,
which WasmEdge offers only for its LLM backend, run the whole model here.

Tensor type codes changed between witx versions (see :class:`TensorTypes`); a host built
with ``TensorTypes.AUTO`` chooses per guest: the newer codes when the guest imports any of
the functions only the newer witx has, else from the first input whose size tells (a
``u8`` image of 150528 bytes for 150528 elements is code 2 in the older table, 3 in the
newer), and keeps that choice for the instance.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import math
import os
import struct
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import FuncType, HostFunction
from ..errors import LinkError, TrapCause, WasmTrap
from ._base import I32, HostContext, HostModule
from .interpreters import InterpreterPool, ModelEntry, interpreter_class
from .tensorflowlite import shared_pool

__all__ = ["NnErrno", "TensorTypes", "WasiNnHost"]

logger = logging.getLogger(__name__)


class NnErrno:
    """WASI-NN's error codes (``nn_errno``), as the plain ints host functions return."""

    SUCCESS = 0
    INVALID_ARGUMENT = 1
    INVALID_ENCODING = 2
    MISSING_MEMORY = 3
    BUSY = 4
    RUNTIME_ERROR = 5
    UNSUPPORTED_OPERATION = 6
    TOO_LARGE = 7
    NOT_FOUND = 8


class TensorTypes(str, Enum):
    """Which table of tensor type codes a guest uses."""

    #: ``wasi-nn`` crate up to 0.4: F16 0, F32 1, U8 2, I32 3.
    LEGACY = "legacy"
    #: ``wasi-nn`` 0.5 on and ``wasmedge-wasi-nn``: F16 0, F32 1, F64 2, U8 3, I32 4, I64 5.
    CURRENT = "current"
    #: Chosen per guest (see the module documentation).
    AUTO = "auto"


_TABLES: dict[TensorTypes, dict[int, Any]] = {
    TensorTypes.LEGACY: {0: np.float16, 1: np.float32, 2: np.uint8, 3: np.int32},
    TensorTypes.CURRENT: {
        0: np.float16,
        1: np.float32,
        2: np.float64,
        3: np.uint8,
        4: np.int32,
        5: np.int64,
    },
}
#: Functions only the newer witx (and WasmEdge's extension of it) declares.
CURRENT_ONLY = frozenset(
    {
        "load_by_name",
        "load_by_name_with_config",
        "compute_single",
        "get_output_single",
        "fini_single",
        "unload",
    }
)
_ENCODING_TFLITE = 4
_ENCODING_AUTODETECT = 5
_TARGET_CPU = 0
_TARGETS = (0, 1, 2)
_TENSOR = struct.Struct("<IIIII")

_SIGNATURES = {
    "load": FuncType((I32, I32, I32, I32, I32), (I32,)),
    "load_by_name": FuncType((I32, I32, I32), (I32,)),
    "init_execution_context": FuncType((I32, I32), (I32,)),
    "set_input": FuncType((I32, I32, I32), (I32,)),
    "get_output": FuncType((I32, I32, I32, I32, I32), (I32,)),
    "compute": FuncType((I32,), (I32,)),
    "get_output_single": FuncType((I32, I32, I32, I32, I32), (I32,)),
    "compute_single": FuncType((I32,), (I32,)),
    "fini_single": FuncType((I32,), (I32,)),
    "unload": FuncType((I32,), (I32,)),
}


def _is_tflite(data: bytes | memoryview) -> bool:
    # A TensorFlow-Lite flatbuffer carries the file identifier "TFL3" at offset 4.
    return bytes(data[4:8]) == b"TFL3"


def _address(data: bytes) -> int:
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


@dataclass
class _Context:
    entry: ModelEntry
    interpreter: Any


@dataclass
class _State:
    """One instance's graphs, execution contexts and tensor-type choice."""

    host: WasiNnHost
    # Weakly: the engine keeps host functions (and so this state) as long as the store.
    context_ref: weakref.ref[HostContext]
    types: TensorTypes
    graphs: dict[int, ModelEntry] = field(default_factory=dict)
    contexts: dict[int, _Context] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def context(self) -> HostContext:
        context = self.context_ref()
        if context is None:
            raise WasmTrap(TrapCause.HOST_ERROR, "the instance was released")
        return context

    def close(self) -> None:
        contexts, self.contexts = self.contexts, {}
        for found in contexts.values():
            self.host.pool.release(found.entry, found.interpreter)
        self.graphs.clear()

    def _graph(self, entry: ModelEntry, graph_ptr: int) -> int:
        if len(self.graphs) >= self.host.max_graphs:
            logger.error("wasi-nn: more than %d graphs loaded", self.host.max_graphs)
            return NnErrno.BUSY
        graph = next(self.ids)
        self.graphs[graph] = entry
        self.context.memory.write(graph_ptr, struct.pack("<I", graph))
        return NnErrno.SUCCESS

    def load(self, builders: int, count: int, encoding: int, target: int, graph_ptr: int) -> int:
        memory = self.context.memory
        memory.address(graph_ptr, 4)
        pairs = memory.read(builders, 8 * count)
        if target not in _TARGETS:
            logger.error("wasi-nn: unknown execution target %d", target)
            return NnErrno.INVALID_ARGUMENT
        views = [memory.view(*struct.unpack_from("<II", pairs, 8 * i)) for i in range(count)]
        if encoding not in (_ENCODING_TFLITE, _ENCODING_AUTODETECT) or (
            encoding == _ENCODING_AUTODETECT and not (len(views) == 1 and _is_tflite(views[0]))
        ):
            logger.error("wasi-nn: encoding %d is not served here (TensorFlow-Lite is 4)", encoding)
            return NnErrno.INVALID_ENCODING
        if target != _TARGET_CPU:
            logger.error("wasi-nn: TensorFlow-Lite runs on the CPU target only")
            return NnErrno.INVALID_ARGUMENT
        if len(views) != 1:
            logger.error("wasi-nn: %d graph builders; TensorFlow-Lite takes 1", len(views))
            return NnErrno.INVALID_ARGUMENT
        address = memory.address(*struct.unpack_from("<II", pairs, 0))
        leased = self.host.pool.acquire(address, len(views[0]))
        if leased is None:
            return NnErrno.INVALID_ARGUMENT
        self.host.pool.release(*leased)
        return self._graph(leased[0], graph_ptr)

    def load_by_name(self, name_ptr: int, name_len: int, graph_ptr: int) -> int:
        memory = self.context.memory
        name = memory.read(name_ptr, name_len).decode("utf-8", "replace")
        memory.address(graph_ptr, 4)
        content = self.host.named_model(name)
        if content is None:
            logger.error("wasi-nn: no model is preloaded as %r", name)
            return NnErrno.NOT_FOUND
        leased = self.host.pool.acquire(_address(content), len(content))
        if leased is None:
            return NnErrno.INVALID_ARGUMENT
        self.host.pool.release(*leased)
        return self._graph(leased[0], graph_ptr)

    def init_execution_context(self, graph: int, context_ptr: int) -> int:
        self.context.memory.address(context_ptr, 4)
        entry = self.graphs.get(graph)
        if entry is None:
            logger.error("wasi-nn: init_execution_context: no graph %d", graph)
            return NnErrno.INVALID_ARGUMENT
        if len(self.contexts) >= self.host.max_contexts:
            logger.error("wasi-nn: more than %d execution contexts", self.host.max_contexts)
            return NnErrno.BUSY
        leased = self.host.pool.acquire(0, len(entry.content), entry)
        if leased is None:
            return NnErrno.BUSY
        handle = next(self.ids)
        self.contexts[handle] = _Context(*leased)
        self.context.memory.write(context_ptr, struct.pack("<I", handle))
        return NnErrno.SUCCESS

    def set_input(self, context: int, index: int, tensor_ptr: int) -> int:
        memory = self.context.memory
        dims_ptr, dims_len, code, data_ptr, data_len = _TENSOR.unpack(memory.read(tensor_ptr, 20))
        dims = struct.unpack(f"<{dims_len}I", memory.read(dims_ptr, 4 * dims_len))
        source = memory.address(data_ptr, data_len)
        found = self.contexts.get(context)
        if found is None:
            logger.error("wasi-nn: set_input: no execution context %d", context)
            return NnErrno.INVALID_ARGUMENT
        inputs = found.interpreter.get_input_details()
        if index >= len(inputs):
            logger.error("wasi-nn: input %d of %d", index, len(inputs))
            return NnErrno.INVALID_ARGUMENT
        detail = inputs[index]
        view = found.interpreter.tensor(detail["index"])()
        if view.nbytes != data_len or tuple(int(d) for d in detail["shape"]) != dims:
            logger.error(
                "wasi-nn: input %d is %s (%d bytes), not %s (%d bytes)",
                *(index, list(detail["shape"]), view.nbytes, list(dims), data_len),
            )
            return NnErrno.INVALID_ARGUMENT
        dtype = self._dtype(code & 0xFF, data_len, math.prod(dims))
        if dtype is None or np.dtype(dtype) != np.dtype(detail["dtype"]):
            logger.error("wasi-nn: input %d is %s, not type code %d", index, detail["dtype"], code)
            return NnErrno.INVALID_ARGUMENT
        ctypes.memmove(view.ctypes.data, source, data_len)
        return NnErrno.SUCCESS

    def _dtype(self, code: int, data_len: int, elements: int) -> Any:
        """The numpy type of ``code`` in this guest's table, choosing the table if need be."""
        if self.types is not TensorTypes.AUTO:
            return _TABLES[self.types].get(code)
        readings = {
            table: types[code]
            for table, types in _TABLES.items()
            if code in types and elements and np.dtype(types[code]).itemsize * elements == data_len
        }
        if len(set(readings.values())) > 1 or not readings:
            return None
        if len(readings) == 1:  # the size told the tables apart: this guest's table
            self.types = next(iter(readings))
        return next(iter(readings.values()))

    def compute(self, context: int) -> int:
        found = self.contexts.get(context)
        if found is None:
            logger.error("wasi-nn: compute: no execution context %d", context)
            return NnErrno.INVALID_ARGUMENT
        try:
            found.interpreter.invoke()
        except (RuntimeError, ValueError) as exc:
            logger.error("wasi-nn: invocation failed: %s", exc)
            return NnErrno.BUSY
        return NnErrno.SUCCESS

    def get_output(self, context: int, index: int, out: int, out_len: int, written: int) -> int:
        memory = self.context.memory
        target = memory.address(out, out_len)
        memory.address(written, 4)
        found = self.contexts.get(context)
        if found is None:
            logger.error("wasi-nn: get_output: no execution context %d", context)
            return NnErrno.INVALID_ARGUMENT
        outputs = found.interpreter.get_output_details()
        if index >= len(outputs):
            logger.error("wasi-nn: output %d of %d", index, len(outputs))
            return NnErrno.INVALID_ARGUMENT
        view = found.interpreter.tensor(outputs[index]["index"])()
        if view.nbytes > out_len:
            logger.error("wasi-nn: output %d takes %d bytes, not %d", index, view.nbytes, out_len)
            return NnErrno.INVALID_ARGUMENT
        ctypes.memmove(target, view.ctypes.data, view.nbytes)
        memory.write(written, struct.pack("<I", view.nbytes))
        return NnErrno.SUCCESS

    def fini_single(self, context: int) -> int:
        found = self.contexts.pop(context, None)
        if found is None:
            return NnErrno.INVALID_ARGUMENT
        self.host.pool.release(found.entry, found.interpreter)
        return NnErrno.SUCCESS

    def unload(self, graph: int) -> int:
        if self.graphs.pop(graph, None) is None:
            return NnErrno.INVALID_ARGUMENT
        return NnErrno.SUCCESS


class WasiNnHost(HostModule):
    """``wasi_ephemeral_nn`` for TensorFlow-Lite models.

    ``models`` preloads models for ``load_by_name`` (WasmEdge's ``--nn-preload``): a name
    to a ``.tflite`` path or its bytes, read on first use. ``tensor_types`` picks the table
    of type codes (:class:`TensorTypes`; ``AUTO`` by default). Interpreters come from
    ``pool`` (the one the TensorFlow-Lite host shares by default). ``max_graphs`` and
    ``max_contexts`` bound what one instance may hold.
    """

    name = "wasi_ephemeral_nn"

    def __init__(
        self,
        models: Mapping[str, str | os.PathLike[str] | bytes] | None = None,
        *,
        tensor_types: TensorTypes | str = TensorTypes.AUTO,
        pool: InterpreterPool | None = None,
        max_graphs: int = 8,
        max_contexts: int = 8,
    ) -> None:
        self.models = dict(models or {})
        self.tensor_types = TensorTypes(tensor_types)
        self.pool = pool if pool is not None else shared_pool()
        self.max_graphs = max_graphs
        self.max_contexts = max_contexts
        self._loaded: dict[str, bytes] = {}

    def unavailable_reason(self) -> str | None:
        if interpreter_class() is None:
            return "no TensorFlow-Lite runtime is installed (pip install ai-edge-litert)"
        return None

    def named_model(self, name: str) -> bytes | None:
        """The bytes of the model preloaded as ``name``, or ``None``."""
        content = self._loaded.get(name)
        source = self.models.get(name)
        if content is None and source is not None:
            content = source if isinstance(source, bytes) else Path(source).read_bytes()
            self._loaded[name] = content
        return content

    def signatures(self) -> dict[str, FuncType]:
        return dict(_SIGNATURES)

    def types_for(self, imported: set[str] | None) -> TensorTypes:
        """The table a guest importing ``imported`` starts with."""
        if self.tensor_types is TensorTypes.AUTO and imported and imported & CURRENT_ONLY:
            return TensorTypes.CURRENT
        return self.tensor_types

    def functions(self, context: HostContext, names: set[str] | None = None) -> list[HostFunction]:
        # The imported names are known only here, and they choose the type table.
        reason = self.unavailable_reason()
        if reason is not None:
            raise LinkError(f"the module imports {self.name}, but {reason}")
        bound = self._bind(_State(self, weakref.ref(context), self.types_for(names)), context)
        return [
            HostFunction(self.name, name, _SIGNATURES[name], call)
            for name, call in bound.items()
            if names is None or name in names
        ]

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        return self._bind(_State(self, weakref.ref(context), self.tensor_types), context)

    @staticmethod
    def _bind(state: _State, context: HostContext) -> dict[str, Callable[..., Any]]:
        context.on_close(state.close)
        return {
            "load": state.load,
            "load_by_name": state.load_by_name,
            "init_execution_context": state.init_execution_context,
            "set_input": state.set_input,
            "get_output": state.get_output,
            "compute": state.compute,
            "get_output_single": state.get_output,
            "compute_single": state.compute,
            "fini_single": state.fini_single,
            "unload": state.unload,
        }

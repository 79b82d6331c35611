"""``wasmedge_tensorflow``: WasmEdge's full-TensorFlow host, where TensorFlow is installed.

A session imports a frozen ``GraphDef``; inputs are appended by operation name and output
index with their dims and ``TF_DataType``; outputs are declared, then the session runs and the
output tensors are read back by name and index. Without a TensorFlow runtime, linking a module
that imports this module fails with a :class:`LinkError` that says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import FuncType
from ._base import I32, I64, HostContext, PrefixedHostModule

__all__ = ["TensorFlowHost"]

logger = logging.getLogger(__name__)

_PREFIX = "wasmedge_tensorflow_"
_SIGNATURES = {
    "create_session": FuncType((I32, I32), (I64,)),
    "delete_session": FuncType((I64,), ()),
    "run_session": FuncType((I64,), (I32,)),
    "get_output_tensor": FuncType((I64, I32, I32, I32), (I64,)),
    "get_tensor_len": FuncType((I64,), (I32,)),
    "get_tensor_data": FuncType((I64, I32), ()),
    "append_input": FuncType((I64, I32, I32, I32, I32, I32, I32, I32, I32), ()),
    "append_output": FuncType((I64, I32, I32, I32), ()),
    "clear_input": FuncType((I64,), ()),
    "clear_output": FuncType((I64,), ()),
}

# TF_DataType codes of the C API and their numpy types.
_DTYPES: dict[int, Any] = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    17: np.uint16,
    19: np.float16,
    22: np.uint32,
    23: np.uint64,
}


@dataclass
class _GraphSession:
    session: Any
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)


class _Sessions:
    def __init__(self, tf: Any, context: HostContext) -> None:
        self.tf = tf
        self.context = context
        self.sessions: dict[int, _GraphSession] = {}
        self.tensors: dict[int, Any] = {}
        self._handles = itertools.count(1)
        context.on_close(self.close)

    def create_session(self, model_ptr: int, model_len: int) -> int:
        data = self.context.memory.read(model_ptr, model_len)
        v1 = self.tf.compat.v1
        try:
            graph_def = v1.GraphDef.FromString(data)
            graph = self.tf.Graph()
            with graph.as_default():
                self.tf.import_graph_def(graph_def, name="")
            session = v1.Session(graph=graph)
        except Exception as exc:  # TensorFlow raises many types for a bad graph
            logger.error("%screate_session: cannot import the graph: %s", _PREFIX, exc)
            return 0
        handle = next(self._handles)
        self.sessions[handle] = _GraphSession(session)
        return handle

    def delete_session(self, session: int) -> None:
        found = self.sessions.pop(session, None)
        if found is not None:
            found.session.close()

    def append_input(
        self,
        session: int,
        name_ptr: int,
        name_len: int,
        index: int,
        dims_ptr: int,
        dims_count: int,
        dtype: int,
        data_ptr: int,
        data_len: int,
    ) -> None:
        memory = self.context.memory
        name = memory.read(name_ptr, name_len).decode("utf-8", "replace")
        dims = struct.unpack(f"<{dims_count}q", memory.read(dims_ptr, 8 * dims_count))
        data = memory.read(data_ptr, data_len)
        found = self.sessions.get(session)
        numpy_type = _DTYPES.get(dtype)
        if found is None or numpy_type is None:
            return
        try:
            found.inputs[f"{name}:{index}"] = np.frombuffer(data, numpy_type).reshape(dims)
        except ValueError as exc:
            logger.error("%sappend_input: %s does not fit %s: %s", _PREFIX, name, dims, exc)

    def append_output(self, session: int, name_ptr: int, name_len: int, index: int) -> None:
        name = self.context.memory.read(name_ptr, name_len).decode("utf-8", "replace")
        found = self.sessions.get(session)
        if found is not None:
            found.outputs.append(f"{name}:{index}")

    def clear_input(self, session: int) -> None:
        found = self.sessions.get(session)
        if found is not None:
            found.inputs.clear()

    def clear_output(self, session: int) -> None:
        found = self.sessions.get(session)
        if found is not None:
            found.outputs.clear()
            found.results.clear()

    def run_session(self, session: int) -> int:
        found = self.sessions.get(session)
        if found is None:
            return 1
        try:
            found.results = list(found.session.run(found.outputs, feed_dict=found.inputs))
        except Exception as exc:  # TensorFlow's errors share no narrower base
            logger.error("%srun_session: %s", _PREFIX, exc)
            return 1
        return 0

    def get_output_tensor(self, session: int, name_ptr: int, name_len: int, index: int) -> int:
        name = self.context.memory.read(name_ptr, name_len).decode("utf-8", "replace")
        found = self.sessions.get(session)
        if found is None:
            return 0
        key = f"{name}:{index}"
        if key not in found.outputs or len(found.results) != len(found.outputs):
            return 0
        handle = next(self._handles)
        self.tensors[handle] = np.ascontiguousarray(found.results[found.outputs.index(key)])
        return handle

    def get_tensor_len(self, tensor: int) -> int:
        found = self.tensors.get(tensor)
        return 0 if found is None else int(found.nbytes)

    def get_tensor_data(self, tensor: int, dst_ptr: int) -> None:
        found = self.tensors.get(tensor)
        if found is not None and found.nbytes:
            self.context.memory.write(dst_ptr, memoryview(found).cast("B"))

    def close(self) -> None:
        for handle in list(self.sessions):
            self.delete_session(handle)
        self.tensors.clear()


class TensorFlowHost(PrefixedHostModule):
    """``wasmedge_tensorflow`` on TensorFlow's v1 graph API."""

    name = "wasmedge_tensorflow"
    prefix = _PREFIX
    methods = _SIGNATURES

    def unavailable_reason(self) -> str | None:
        if importlib.util.find_spec("tensorflow") is None:
            return "no TensorFlow runtime is installed here (pip install tensorflow)"
        return None

    def instance_functions(self, context: HostContext) -> _Sessions:
        return _Sessions(importlib.import_module("tensorflow"), context)

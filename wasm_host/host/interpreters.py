"""TensorFlow-Lite interpreters kept warm across sessions.

A guest shaped like the original image-recognition function creates a session from the same
model bytes on every call; building an interpreter costs milliseconds, so the pool keeps the
interpreters of recently used models and hands one out again when the bytes match exactly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["InterpreterPool", "ModelEntry", "fingerprint", "interpreter_class"]

logger = logging.getLogger(__name__)


def interpreter_class() -> type[Any] | None:
    """ai-edge-litert's ``Interpreter``, else tflite-runtime's, else ``None``."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter  # type: ignore[no-any-return]
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter  # type: ignore[no-any-return]
    except ImportError:
        return None


def _load_memcmp() -> Callable[[Any, int, int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        memcmp = libc.memcmp
    except (OSError, AttributeError):
        return None
    memcmp.restype = ctypes.c_int
    memcmp.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    return memcmp


_memcmp = _load_memcmp()

_FINGERPRINT_POINTS = 4096


@lru_cache(maxsize=16)
def _fingerprint_points(length: int) -> npt.NDArray[np.intp]:
    return np.unique(np.linspace(0, length - 1, _FINGERPRINT_POINTS).astype(np.intp))


def fingerprint(address: int, length: int) -> bytes:
    """4096 bytes sampled evenly from ``length`` bytes at host ``address`` (about 10 us)."""
    if length == 0:
        return b""
    view = np.frombuffer(memoryview((ctypes.c_ubyte * length).from_address(address)), np.uint8)
    return view[_fingerprint_points(length)].tobytes()


@dataclass
class ModelEntry:
    """One model's bytes, tensor names and idle interpreters."""

    content: bytes
    inputs: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    idle: list[Any] = field(default_factory=list)

    def matches(self, address: int, length: int) -> bool:
        """Whether ``length`` bytes at host ``address`` are exactly this model."""
        if length != len(self.content):
            return False
        if _memcmp is not None:
            # memcmp runs without the GIL, at memory speed (~0.4 ms for 5 MB).
            return _memcmp(self.content, address, length) == 0
        return ctypes.string_at(address, length) == self.content


class InterpreterPool:
    """Interpreters by model, shared by every instance that uses this pool (thread-safe).

    ``num_threads`` is 2, as WasmEdge's host used; at most ``max_models`` models are kept
    (least recently used first out) with at most ``max_idle`` idle interpreters each.
    """

    def __init__(self, num_threads: int = 2, max_models: int = 4, max_idle: int = 2) -> None:
        self.num_threads = num_threads
        self.max_models = max_models
        self.max_idle = max_idle
        self._models: OrderedDict[int, list[ModelEntry]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()
        self.created = 0
        self.reused = 0

    def acquire(
        self, address: int, length: int, known: ModelEntry | None = None
    ) -> tuple[ModelEntry, Any] | None:
        """An interpreter, tensors allocated, for the model of ``length`` bytes at host
        ``address``; ``None`` if it is not a model the runtime accepts.

        ``known`` skips the byte-for-byte comparison: the caller vouches that these bytes are
        that entry's model.
        """
        with self._lock:
            entry = known if known is not None else self._find(address, length)
            if entry is not None and entry.idle:
                self.reused += 1
                return entry, entry.idle.pop()
        if entry is None:
            entry = ModelEntry(ctypes.string_at(address, length))
        interpreter = self._build(entry)
        if interpreter is None:
            return None
        with self._lock:
            self.created += 1
            if known is None and self._find(address, length) is None:
                self._remember(entry)
        return entry, interpreter

    def release(self, entry: ModelEntry, interpreter: Any) -> None:
        """Gives an interpreter back once its session is deleted."""
        with self._lock:
            if len(entry.idle) < self.max_idle:
                entry.idle.append(interpreter)

    def _find(self, address: int, length: int) -> ModelEntry | None:
        entries = self._models.get(length)
        if entries is None:
            return None
        self._models.move_to_end(length)
        for entry in entries:
            if entry.matches(address, length):
                return entry
        return None

    def _remember(self, entry: ModelEntry) -> None:
        self._models.setdefault(len(entry.content), []).append(entry)
        self._count += 1
        while self._count > self.max_models:
            length, entries = next(iter(self._models.items()))
            entries.pop(0)
            self._count -= 1
            if not entries:
                del self._models[length]

    def _build(self, entry: ModelEntry) -> Any:
        interpreter_type = interpreter_class()
        if interpreter_type is None:
            return None
        try:
            interpreter = interpreter_type(
                model_content=entry.content, num_threads=self.num_threads
            )
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            logger.error("wasmedge_tensorflowlite_create_session: cannot import the model: %s", exc)
            return None
        if not entry.inputs:
            entry.inputs = {d["name"]: d["index"] for d in interpreter.get_input_details()}
            entry.outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
        return interpreter

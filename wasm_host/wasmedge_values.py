"""The values of wasmedge-bindgen's convention: how an argument is written into guest
memory, and how a result triple's bytes read back by its type code (:class:`ResultType`)."""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import TrapCause, WasmTrap

__all__ = ["Argument", "Result", "ResultType", "decode_result", "encode_argument"]


class ResultType(IntEnum):
    """wasmedge-bindgen's type codes of results."""

    U8 = 1
    I8 = 2
    U16 = 3
    I16 = 4
    U32 = 5
    I32 = 6
    U64 = 7
    I64 = 8
    F32 = 9
    F64 = 10
    BOOL = 11
    CHAR = 12
    U8_ARRAY = 21
    I8_ARRAY = 22
    U16_ARRAY = 23
    I16_ARRAY = 24
    U32_ARRAY = 25
    I32_ARRAY = 26
    U64_ARRAY = 27
    I64_ARRAY = 28
    STRING = 31


_SCALARS = {
    ResultType.U8: "<B",
    ResultType.I8: "<b",
    ResultType.U16: "<H",
    ResultType.I16: "<h",
    ResultType.U32: "<I",
    ResultType.I32: "<i",
    ResultType.U64: "<Q",
    ResultType.I64: "<q",
    ResultType.F32: "<f",
    ResultType.F64: "<d",
}
_ARRAYS = {
    ResultType.I8_ARRAY: "<i1",
    ResultType.U16_ARRAY: "<u2",
    ResultType.I16_ARRAY: "<i2",
    ResultType.U32_ARRAY: "<u4",
    ResultType.I32_ARRAY: "<i4",
    ResultType.U64_ARRAY: "<u8",
    ResultType.I64_ARRAY: "<i8",
}

Argument = bytes | bytearray | memoryview | str | bool | int | float | npt.NDArray[Any] | np.generic
Result = bytes | str | bool | int | float | npt.NDArray[Any]


def encode_argument(arg: Argument) -> tuple[bytes, int]:
    """An argument's bytes and its element count."""
    if isinstance(arg, str):
        data = arg.encode()
        return data, len(data)
    if isinstance(arg, (bytes, bytearray, memoryview)):
        data = bytes(arg)
        return data, len(data)
    if isinstance(arg, bool):
        return bytes([arg]), 1
    if isinstance(arg, int):
        return (
            (struct.pack("<i", arg), 1) if -(2**31) <= arg < 2**31 else (struct.pack("<q", arg), 1)
        )
    if isinstance(arg, float):
        return struct.pack("<d", arg), 1
    array = np.ascontiguousarray(arg)
    return array.astype(array.dtype.newbyteorder("<")).tobytes(), max(array.size, 1)


def decode_result(index: int, code: int, data: bytes) -> Result:
    """Result ``index`` of type ``code`` from its bytes; a nonsensical one traps the call."""
    try:
        kind = ResultType(code)
    except ValueError:
        raise WasmTrap(
            TrapCause.GUEST_TRAP, f"result {index} has unknown type code {code}"
        ) from None
    try:
        if kind in _SCALARS:
            value: Result = struct.unpack(_SCALARS[kind], data)[0]
            return value
        if kind is ResultType.BOOL:
            return data[0] == 1
        if kind is ResultType.CHAR:
            return chr(struct.unpack("<I", data)[0])
    except (struct.error, IndexError, ValueError):
        raise WasmTrap(
            TrapCause.GUEST_TRAP, f"result {index} ({kind.name}) has {len(data)} bytes"
        ) from None
    if kind is ResultType.STRING:
        return data.decode("utf-8", "replace")
    if kind is ResultType.U8_ARRAY:
        return data
    dtype = np.dtype(_ARRAYS[kind])
    if len(data) % dtype.itemsize:
        raise WasmTrap(TrapCause.GUEST_TRAP, f"result {index} ({kind.name}) has {len(data)} bytes")
    return np.frombuffer(data, dtype).copy()

"""The two wire dialects and the value kinds the codec knows."""

from __future__ import annotations

import enum

__all__ = ["Dialect", "Kind"]


class Dialect(enum.Enum):
    """Which Y3 variant to speak; always chosen explicitly.

    ``CODEC_GOLANG``: ``yomorun/y3-codec-golang``, the seed era (YoMo v1.0-v1.4): integers are
    PVarInt, node children keep their order (the first of duplicate keys wins on lookup).

    ``V1``: ``yomorun/y3`` v1.0.x, YoMo's frames from v1.5 to v1.22: integers are NVarInt,
    node children are a map (the last of duplicate keys wins), an empty bool reads as false.
    """

    CODEC_GOLANG = "codec-golang"
    V1 = "y3-v1"


class Kind(enum.Enum):
    """A Y3 primitive value type, with Go's width."""

    INT32 = "int32"
    INT64 = "int64"
    UINT32 = "uint32"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"
    STR = "str"
    BYTES = "bytes"

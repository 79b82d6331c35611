"""Data-frame metadata: a msgpack map of str to str, as YoMo's ``core/metadata`` encodes it.

An empty map encodes to no bytes at all and no bytes decode to an empty map, as in Go.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import msgpack

__all__ = [
    "SOURCE_ID",
    "SPAN_ID",
    "TARGET",
    "TID",
    "TRACE_ID",
    "WANTED_TARGET",
    "MetadataError",
    "decode_metadata",
    "encode_metadata",
    "new_tid",
]

# YoMo's reserved metadata keys.
SOURCE_ID = "yomo-source-id"
TID = "yomo-tid"
TRACE_ID = "yomo-trace-id"
SPAN_ID = "yomo-span-id"
TARGET = "yomo-target"
WANTED_TARGET = "yomo-wanted-target"

# go-nanoid's default alphabet and length, which YoMo's id.New uses for transaction ids.
_NANOID_SIZE = 21


class MetadataError(ValueError):
    """Metadata that is not a msgpack map of strings to strings."""


def encode_metadata(metadata: Mapping[str, str]) -> bytes:
    """The msgpack bytes of ``metadata`` (``b""`` for an empty map)."""
    if not metadata:
        return b""
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise MetadataError(
                f"metadata must map str to str, got {type(key).__name__} -> {type(value).__name__}"
            )
    try:
        packed: bytes = msgpack.packb(dict(metadata), use_bin_type=True)
    except (ValueError, TypeError) as exc:  # e.g. a str that cannot be UTF-8 encoded
        raise MetadataError(f"cannot encode metadata: {exc}") from exc
    return packed


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):  # Go's msgpack decodes bin into a string too
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MetadataError(f"metadata bytes are not UTF-8: {exc}") from exc
    raise MetadataError(f"metadata keys and values must be strings, got {type(value).__name__}")


def decode_metadata(data: bytes | bytearray | memoryview) -> dict[str, str]:
    """Decode msgpack metadata; raises MetadataError for anything but one map of strings."""
    if len(data) == 0:
        return {}
    try:
        decoded = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises a dozen unrelated types for bad input
        raise MetadataError(f"metadata is not valid msgpack: {exc}") from exc
    if decoded is None:  # Go decodes nil into an empty map
        return {}
    if not isinstance(decoded, dict):
        raise MetadataError(f"metadata must be a msgpack map, got {type(decoded).__name__}")
    return {_text(key): _text(value) for key, value in decoded.items()}


def new_tid() -> str:
    """A fresh transaction id: 21 random URL-safe characters, like YoMo's ``id.New()``."""
    # URL-safe base64 of 16 random bytes: the same 64-character alphabet and
    # 126 bits in 21 characters, built in C rather than a character at a time.
    return secrets.token_urlsafe(16)[:_NANOID_SIZE]

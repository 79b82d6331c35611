"""Data-frame metadata: msgpack str->str maps with Go's empty-map rules."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxyomo.protocol.metadata import (
    SOURCE_ID,
    SPAN_ID,
    TARGET,
    TID,
    TRACE_ID,
    MetadataError,
    decode_metadata,
    encode_metadata,
    new_tid,
)

# A generous deadline: it still catches a hang, but does not fail on a busy machine.
PATIENT = settings(deadline=2000)


def test_keys_are_yomos() -> None:
    # yomorun/yomo v1.22.3 core/metadata/metadata.go
    assert (SOURCE_ID, TID, TRACE_ID, SPAN_ID, TARGET) == (
        "yomo-source-id",
        "yomo-tid",
        "yomo-trace-id",
        "yomo-span-id",
        "yomo-target",
    )


def test_empty_metadata_is_no_bytes_and_back() -> None:
    # yomorun/yomo v1.22.3 core/metadata/metadata_test.go "Encode Decode/nil"
    assert encode_metadata({}) == b""
    assert decode_metadata(b"") == {}


def test_metadata_round_trips() -> None:
    # yomorun/yomo v1.22.3 core/metadata/metadata_test.go "Encode Decode"
    md = {"aaa": "bbb", "ccc": "ddd", SOURCE_ID: "src", TID: "t1"}
    assert decode_metadata(encode_metadata(md)) == md


def test_encoding_is_a_msgpack_map() -> None:
    assert msgpack.unpackb(encode_metadata({"a": "b"})) == {"a": "b"}


def test_binary_strings_decode_as_text() -> None:
    # Go's msgpack decodes a bin value into a string field.
    assert decode_metadata(msgpack.packb({b"k": b"v"}, use_bin_type=True)) == {"k": "v"}


def test_nil_decodes_as_empty() -> None:
    assert decode_metadata(msgpack.packb(None)) == {}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xc1", "not valid msgpack"),
        (msgpack.packb([1, 2]), "must be a msgpack map"),
        (msgpack.packb({"a": 1}), "must be strings"),
        (msgpack.packb({"a": "b"}) + b"\x00", "not valid msgpack"),
        (msgpack.packb({b"\xff": "b"}, use_bin_type=True), "not UTF-8"),
        (b"\x81", "not valid msgpack"),
    ],
)
def test_bad_metadata_raises_metadata_error(data: bytes, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        decode_metadata(data)


def test_non_string_metadata_cannot_be_encoded() -> None:
    with pytest.raises(MetadataError, match="str to str"):
        encode_metadata({"a": 1})  # type: ignore[dict-item]


def test_tids_are_21_url_safe_characters_and_differ() -> None:
    tids = {new_tid() for _ in range(50)}
    assert len(tids) == 50
    for tid in tids:
        assert len(tid) == 21
        assert set(tid) <= set("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@PATIENT
@given(st.dictionaries(st.text(), st.text()))
def test_any_string_map_round_trips(md: dict[str, str]) -> None:
    assert decode_metadata(encode_metadata(md)) == md


@PATIENT
@given(st.binary(max_size=100))
def test_arbitrary_bytes_raise_only_metadata_errors(data: bytes) -> None:
    try:
        decoded = decode_metadata(data)
    except MetadataError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in decoded.items())

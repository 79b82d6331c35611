"""The example's live-view preview pairs images with their results in both payload forms."""

from __future__ import annotations

import io

import y3
from frames import (
    IMAGE_KEY,
    LABEL_KEY,
    WARM_UP,
    ImageFrame,
    Recognition,
    encode_frame,
    image_metadata,
)
from PIL import Image
from preview import ImagePreview

from rxyomo.protocol.metadata import encode_metadata

SENTENCE = "It is very likely a <a href='https://example.org'>espresso</a> in the picture"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def test_y3_nodes_are_paired_by_index() -> None:
    preview = ImagePreview()
    jpeg = _jpeg()
    preview.frame(IMAGE_KEY, encode_frame(ImageFrame(3, 1_000_000_000, jpeg)), b"", 1.0)
    result = Recognition(index=3, sent_ns=1_000_000_000, sentence=SENTENCE)
    preview.frame(LABEL_KEY, y3.Codec(LABEL_KEY).marshal(result), b"", 1.5)
    (item,) = preview.items()
    assert item["key"] == "3"
    assert item["label"] == "espresso"
    assert item["image"] is True
    assert round(item["latency_ms"]) == 500
    thumbnail = preview.image("3")
    assert thumbnail is not None
    with Image.open(io.BytesIO(thumbnail)) as picture:
        assert picture.format == "JPEG"


def test_raw_jpegs_and_sentences_are_paired_by_their_metadata() -> None:
    preview = ImagePreview()
    jpeg = _jpeg()
    metadata = encode_metadata(image_metadata(7, 2_000_000_000))
    preview.frame(IMAGE_KEY, jpeg, metadata, 2.0)
    # The served function's answer carries the image's metadata on, plus its version.
    answer = encode_metadata({**image_metadata(7, 2_000_000_000), "rxyomo-fn-version": "ab"})
    preview.frame(LABEL_KEY, SENTENCE.encode(), answer, 2.25)
    (item,) = preview.items()
    assert (item["key"], item["label"], item["image"]) == ("7", "espresso", True)
    assert round(item["latency_ms"]) == 250
    assert preview.image("7") is not None


def test_warm_up_frames_and_foreign_payloads_show_nothing() -> None:
    preview = ImagePreview()
    warm = encode_metadata({WARM_UP: "1"})
    preview.frame(IMAGE_KEY, _jpeg(), warm, 1.0)
    preview.frame(LABEL_KEY, SENTENCE.encode(), warm, 1.1)
    preview.frame(IMAGE_KEY, b"not an image", b"", 1.2)
    preview.frame(LABEL_KEY, b"\x00\x01", b"\xc1", 1.3)  # bad metadata too
    assert preview.items() == []
    assert preview.image("0") is None

"""The demo's preview on the zipper's live view: the latest frames as thumbnails, each with
its label and its latency (source send to the result reaching the zipper).

``rxyomo serve --dashboard HOST:PORT --dashboard-preview preview:ImagePreview`` loads it
(with this folder on ``PYTHONPATH``). The zipper's loop only keeps the latest payloads;
they are decoded, and thumbnails made, when the page asks.
"""

from __future__ import annotations

import collections
import html
import io
from typing import Any

import y3
from frames import (
    IMAGE_KEY,
    LABEL_KEY,
    ImageFrame,
    Recognition,
    is_raw,
    raw_image,
    raw_recognition,
    read_sentence,
)
from PIL import Image

from rxyomo.protocol.metadata import MetadataError, decode_metadata

__all__ = ["ImagePreview"]

#: Frames shown, and payloads kept to find them.
SHOWN = 8
KEPT = 64
THUMBNAIL = (180, 135)


class ImagePreview:
    """Pairs each image (0x10) with its result (0x11) by the frame's index: this example's
    Y3 nodes, or the raw JPEG and sentence of the guest served as it is, whose index is in
    the frame's metadata."""

    tags = (IMAGE_KEY, LABEL_KEY)

    def __init__(self) -> None:
        self._images: collections.deque[tuple[bytes, bytes]] = collections.deque(maxlen=KEPT)
        self._results: collections.deque[tuple[bytes, bytes, float]] = collections.deque(
            maxlen=KEPT
        )
        self._jpegs: dict[int, bytes] = {}
        self._thumbnails: dict[str, bytes] = {}
        self._shown: list[dict[str, Any]] = []

    def frame(self, tag: int, payload: bytes, metadata: bytes, now: float) -> None:
        if tag == IMAGE_KEY:
            self._images.append((payload, metadata))
        else:
            self._results.append((payload, metadata, now))

    def items(self) -> list[dict[str, Any]]:
        while self._images:
            image = _image(*self._images.popleft())
            if image is not None:
                self._jpegs[image.index] = image.jpeg
        shown = {item["key"]: item for item in self._shown}
        while self._results:
            payload, metadata, arrived = self._results.popleft()
            result = _result(payload, metadata)
            if result is None:
                continue
            found = read_sentence(result.sentence)
            label = html.unescape(found[1]) if found else "nothing recognised"
            shown[str(result.index)] = {
                "key": str(result.index),
                "label": label if not result.error else "could not be classified",
                "detail": f"frame {result.index}" + (f" · {found[0]}" if found else ""),
                "latency_ms": (arrived - result.sent_ns / 1e9) * 1e3 if result.sent_ns else None,
                "image": result.index in self._jpegs,
            }
        self._shown = sorted(shown.values(), key=lambda item: -int(item["key"]))[:SHOWN]
        keep = {int(item["key"]) for item in self._shown}
        newest = max(self._jpegs, default=0)
        # Images still waiting for their result stay; older ones not shown go.
        self._jpegs = {i: j for i, j in self._jpegs.items() if i in keep or i > newest - KEPT}
        self._thumbnails = {k: v for k, v in self._thumbnails.items() if int(k) in keep}
        return self._shown

    def image(self, key: str) -> bytes | None:
        if key in self._thumbnails:
            return self._thumbnails[key]
        try:
            jpeg = self._jpegs.get(int(key))
        except ValueError:
            return None
        if jpeg is None:
            return None
        with Image.open(io.BytesIO(jpeg)) as picture:
            picture.thumbnail(THUMBNAIL)
            out = io.BytesIO()
            picture.convert("RGB").save(out, "JPEG", quality=80)
        self._thumbnails[key] = out.getvalue()
        return self._thumbnails[key]


def _metadata(data: bytes) -> dict[str, str]:
    try:
        return decode_metadata(data)
    except MetadataError:
        return {}


def _image(payload: bytes, metadata: bytes) -> ImageFrame | None:
    raw = raw_image(payload, _metadata(metadata)) if metadata else None
    if raw is not None:
        return raw
    try:
        image: ImageFrame = y3.Codec(IMAGE_KEY).unmarshal(payload, ImageFrame)
    except (y3.Y3Error, ValueError, TypeError):
        return None  # the article's form, or not this demo's: nothing to show
    return image


def _result(payload: bytes, metadata: bytes) -> Recognition | None:
    meta = _metadata(metadata) if metadata else {}
    if is_raw(meta):
        return raw_recognition(payload, meta)
    try:
        result: Recognition = y3.Codec(LABEL_KEY).unmarshal(payload, Recognition)
    except (y3.Y3Error, ValueError, TypeError):
        return None
    return result

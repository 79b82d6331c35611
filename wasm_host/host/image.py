"""``wasmedge_image``: decode a JPEG or PNG held in guest memory, resize it, write pixels.

``wasmedge_image_load_{jpg,png}_to_{rgb8,bgr8,rgb32f,bgr32f}(img_ptr, img_len, width, height,
dst_ptr) -> i32`` decodes (Pillow), converts to RGB or BGR, resizes to exactly
``width x height`` and writes the pixels at ``dst_ptr``; the ``32f`` variants write f32
``u8 / 255``. They return 1 when the image cannot be decoded as the named format, else 0.

The default resize reproduces WasmEdge's byte for byte (see :mod:`._resize`), so a guest's
labels match; ``resize="pillow"`` uses Pillow's antialiasing bilinear filter instead, which
differs by a few levels per pixel. Unlike WasmEdge's reader, grey, palette and RGBA images
are converted to RGB rather than refused.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..engine import FuncType
from ._base import I32, HostContext, HostModule
from ._resize import resize_like_wasmedge

__all__ = ["ImageHost", "decode_and_resize"]

logger = logging.getLogger(__name__)

_PREFIX = "wasmedge_image_load_"
_FORMATS = {"jpg": "JPEG", "png": "PNG"}
_LAYOUTS = ("rgb8", "bgr8", "rgb32f", "bgr32f")
_TYPE = FuncType((I32, I32, I32, I32, I32), (I32,))

ResizeMethod = Literal["wasmedge", "pillow"]


def decode_and_resize(
    data: bytes | memoryview, image_format: str, width: int, height: int, resize: ResizeMethod
) -> npt.NDArray[np.uint8] | None:
    """RGB pixels, ``height x width x 3``, or ``None`` if ``data`` is not that format."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            rgb = image.convert("RGB") if image.mode != "RGB" else image
            if resize == "pillow":
                rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
                return np.asarray(rgb, dtype=np.uint8)
            pixels = np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        logger.error("wasmedge_image: cannot decode the %s image: %s", image_format, exc)
        return None
    return resize_like_wasmedge(pixels, width, height)


class ImageHost(HostModule):
    """The eight ``wasmedge_image`` load functions."""

    name = "wasmedge_image"

    def __init__(self, resize: ResizeMethod = "wasmedge") -> None:
        if resize not in ("wasmedge", "pillow"):
            raise ValueError(f"resize must be 'wasmedge' or 'pillow', not {resize!r}")
        self.resize: ResizeMethod = resize

    def signatures(self) -> dict[str, FuncType]:
        return {f"{_PREFIX}{fmt}_to_{layout}": _TYPE for fmt in _FORMATS for layout in _LAYOUTS}

    def bind(self, context: HostContext) -> dict[str, Callable[..., Any]]:
        return {
            f"{_PREFIX}{fmt}_to_{layout}": self._loader(context, _FORMATS[fmt], layout)
            for fmt in _FORMATS
            for layout in _LAYOUTS
        }

    def _loader(self, context: HostContext, image_format: str, layout: str) -> Callable[..., int]:
        bgr = layout.startswith("bgr")
        floats = layout.endswith("32f")
        item_size = 4 if floats else 1

        def load(img_ptr: int, img_len: int, width: int, height: int, dst_ptr: int) -> int:
            memory = context.memory
            source = memory.view(img_ptr, img_len)
            # Check the destination before decoding, so that a guest cannot make the host
            # allocate an image larger than its own memory.
            memory.address(dst_ptr, width * height * 3 * item_size)
            pixels = decode_and_resize(bytes(source), image_format, width, height, self.resize)
            if pixels is None:
                return 1
            if width == 0 or height == 0:
                return 0
            if bgr:
                pixels = pixels[:, :, ::-1]
            if floats:
                # WasmEdge divides in double precision and stores floats.
                out = (pixels.astype(np.float64) / 255.0).astype("<f4")
            else:
                out = np.ascontiguousarray(pixels)
            memory.write(dst_ptr, out.data.cast("B"))
            return 0

        return load

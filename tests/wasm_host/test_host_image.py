"""wasmedge_image: decoding, the WasmEdge-compatible resize, layouts, bounds."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from wasm_host import HostContext, ImageHost, TrapCause, WasmTrap
from wasm_host.host._resize import resize_like_wasmedge

from .conftest import BufferMemory

IMAGE_AT = 1024
DST_AT = 1 << 20


def gil_bilinear(image: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """boost::gil's resize_view + bilinear_sampler, one pixel at a time, branch by branch."""
    rows, columns, channels = image.shape
    out = np.zeros((height, width, channels), np.uint8)
    src_w, src_h = max(columns - 1, 1), max(rows - 1, 1)
    dst_w, dst_h = max(width - 1, 1), max(height - 1, 1)
    sx, sy = src_w / dst_w, src_h / dst_h
    tx, ty = -(dst_w / 2.0) * sx + src_w / 2.0, -(dst_h / 2.0) * sy + src_h / 2.0
    for y in range(height):
        for x in range(width):
            px, py = x * sx + tx, y * sy + ty
            x0, y0 = math.floor(px), math.floor(py)
            fx, fy = px - x0, py - y0
            terms: list[tuple[int, int, float]] = []
            if x0 == -1:
                col = 0
                if y0 == -1:
                    terms = [(0, col, 1.0)]
                elif y0 + 1 < rows:
                    terms = [(y0, col, 1 - fy), (y0 + 1, col, fy)]
                else:
                    terms = [(y0, col, 1.0)]
            elif x0 + 1 < columns:
                if y0 == -1:
                    terms = [(0, x0, 1 - fx), (0, x0 + 1, fx)]
                elif y0 + 1 < rows:
                    terms = [
                        (y0, x0, (1 - fx) * (1 - fy)),
                        (y0, x0 + 1, fx * (1 - fy)),
                        (y0 + 1, x0, (1 - fx) * fy),
                        (y0 + 1, x0 + 1, fx * fy),
                    ]
                else:
                    terms = [(y0, x0, 1 - fx), (y0, x0 + 1, fx)]
            else:
                if y0 == -1:
                    terms = [(0, x0, 1.0)]
                elif y0 + 1 < rows:
                    terms = [(y0, x0, 1 - fy), (y0 + 1, x0, fy)]
                else:
                    terms = [(y0, x0, 1.0)]
            for c in range(channels):
                total = 0.0
                for r, k, weight in terms:
                    total += float(image[r, k, c]) * weight
                out[y, x, c] = int(total)
    return out


def test_the_centre_of_a_two_by_two_upscale_is_the_truncated_mean() -> None:
    image = np.array([[[0], [100]], [[200], [255]]], np.uint8)
    resized = resize_like_wasmedge(image, 3, 3)
    assert resized[1, 1, 0] == 138  # (0 + 100 + 200 + 255) / 4 = 138.75, truncated
    assert resized[0, 0, 0] == 0
    assert resized[2, 2, 0] == 255


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(2, 12),
    columns=st.integers(2, 12),
    width=st.integers(1, 15),
    height=st.integers(1, 15),
    seed=st.integers(0, 2**32 - 1),
)
def test_resize_matches_gils_sampler_byte_for_byte(
    rows: int, columns: int, width: int, height: int, seed: int
) -> None:
    image = np.random.default_rng(seed).integers(0, 256, (rows, columns, 3), np.uint8)
    assert np.array_equal(
        resize_like_wasmedge(image, width, height), gil_bilinear(image, width, height)
    )


def test_resize_matches_gil_on_a_photo_downscale(photos: Path) -> None:
    with Image.open(photos / "coffee.png") as photo:
        image = np.asarray(photo.convert("RGB"))[::8, ::8]  # keep the scalar reference quick
    expected = gil_bilinear(image, 24, 20)
    assert np.array_equal(resize_like_wasmedge(image, 24, 20), expected)


class Loader:
    def __init__(self, host: ImageHost, memory: BufferMemory) -> None:
        self.memory = memory
        context = HostContext()
        context.bind(memory)
        self.functions = host.bind(context)

    def __call__(self, name: str, data: bytes, width: int, height: int, dst: int = DST_AT) -> Any:
        self.memory.write(IMAGE_AT, data)
        return self.functions[f"wasmedge_image_load_{name}"](
            IMAGE_AT, len(data), width, height, dst
        )


@pytest.fixture
def load(buffer_memory: Callable[[int], BufferMemory]) -> Loader:
    return Loader(ImageHost(), buffer_memory(4 << 20))


def _encoded(image: npt.NDArray[np.uint8], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def picture() -> npt.NDArray[np.uint8]:
    return np.random.default_rng(1).integers(0, 256, (37, 53, 3), np.uint8)


def test_png_loads_in_all_four_layouts(load: Loader, picture: npt.NDArray[np.uint8]) -> None:
    png = _encoded(picture, "PNG")
    expected = resize_like_wasmedge(picture, 16, 12)
    assert load("png_to_rgb8", png, 16, 12) == 0
    assert load.memory.read(DST_AT, expected.size) == expected.tobytes()
    assert load("png_to_bgr8", png, 16, 12) == 0
    assert load.memory.read(DST_AT, expected.size) == expected[:, :, ::-1].tobytes()
    assert load("png_to_rgb32f", png, 16, 12) == 0
    floats = np.frombuffer(load.memory.read(DST_AT, 4 * expected.size), "<f4")
    assert np.array_equal(floats, (expected.reshape(-1) / 255.0).astype(np.float32))
    assert load("png_to_bgr32f", png, 16, 12) == 0
    floats = np.frombuffer(load.memory.read(DST_AT, 4 * expected.size), "<f4")
    assert np.array_equal(floats, (expected[:, :, ::-1].reshape(-1) / 255.0).astype(np.float32))


def test_jpeg_decodes_like_pillow(load: Loader, picture: npt.NDArray[np.uint8]) -> None:
    jpeg = _encoded(picture, "JPEG")
    with Image.open(io.BytesIO(jpeg)) as decoded:
        expected = resize_like_wasmedge(np.asarray(decoded), 20, 20)
    assert load("jpg_to_rgb8", jpeg, 20, 20) == 0
    assert load.memory.read(DST_AT, expected.size) == expected.tobytes()


def test_grey_images_are_converted_to_rgb(load: Loader) -> None:
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert load("png_to_rgb8", _encoded(grey, "PNG"), 8, 8) == 0
    pixels = np.frombuffer(load.memory.read(DST_AT, 8 * 8 * 3), np.uint8).reshape(8, 8, 3)
    assert np.array_equal(pixels[:, :, 0], grey)
    assert np.array_equal(pixels[:, :, 2], grey)


def test_the_wrong_format_or_garbage_returns_one(
    load: Loader, picture: npt.NDArray[np.uint8]
) -> None:
    assert load("jpg_to_rgb8", _encoded(picture, "PNG"), 8, 8) == 1
    assert load("png_to_rgb8", _encoded(picture, "JPEG"), 8, 8) == 1
    assert load("png_to_rgb8", b"\x89PNG\r\n\x1a\n but then nothing", 8, 8) == 1


def test_the_destination_is_bounds_checked_before_decoding(load: Loader) -> None:
    with pytest.raises(WasmTrap) as trapped:
        load("png_to_rgb8", b"not even an image", 4000, 4000)
    assert trapped.value.cause is TrapCause.BAD_POINTER
    with pytest.raises(WasmTrap):
        load.functions["wasmedge_image_load_jpg_to_rgb8"]((4 << 20) - 4, 100, 1, 1, DST_AT)


def test_pillow_resize_is_an_option(
    buffer_memory: Callable[[int], BufferMemory], picture: npt.NDArray[np.uint8]
) -> None:
    load = Loader(ImageHost(resize="pillow"), buffer_memory(4 << 20))
    assert load("png_to_rgb8", _encoded(picture, "PNG"), 16, 12) == 0
    expected = np.asarray(Image.fromarray(picture).resize((16, 12), Image.Resampling.BILINEAR))
    assert load.memory.read(DST_AT, expected.size) == expected.tobytes()
    with pytest.raises(ValueError, match="resize"):
        ImageHost(resize="bicubic")  # type: ignore[arg-type]

"""Bilinear resizing that reproduces WasmEdge's (boost::gil's ``resize_view`` with its
``bilinear_sampler``), vectorised with numpy.

gil maps destination pixel ``d`` to source position ``d·s + (S'/2 - (D'/2)·s)`` with
``S' = max(S-1, 1)``, ``D' = max(D-1, 1)``, ``s = S'/D'`` (corners aligned, no
antialiasing), sums the four neighbours in double precision in a fixed order, with weights
``(1-fx)(1-fy)``, ``fx(1-fy)``, ``(1-fx)fy``, ``fx·fy``, and truncates to 8 bits. Positions
on or past the last row or column use that row or column alone. Doing the same arithmetic in
the same order gives the same bytes, so labels match WasmEdge's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["resize_like_wasmedge"]


@lru_cache(maxsize=64)
def _axis(
    source: int, target: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """First and second neighbour and the fraction, for each target position on one axis."""
    span_source = float(max(source - 1, 1))
    span_target = float(max(target - 1, 1))
    scale = span_source / span_target
    offset = -(span_target / 2.0) * scale + span_source / 2.0
    position = np.arange(target, dtype=np.float64) * scale + offset
    first = np.floor(position).astype(np.intp)
    fraction = position - first
    # Before the first or on/after the last sample, gil takes that edge sample alone.
    at_edge = (first < 0) | (first >= source - 1)
    first = np.clip(first, 0, source - 1)
    fraction[at_edge] = 0.0
    second = np.minimum(first + 1, source - 1)
    return first, second, fraction


# A plan for 224 x 224 x 3 holds about 7 MB of indices and weights.
@lru_cache(maxsize=8)
def _plan(
    rows: int, columns: int, channels: int, width: int, height: int
) -> tuple[tuple[npt.NDArray[np.int32], ...], tuple[npt.NDArray[np.float64], ...]]:
    """Flat sample indices and weights of the four neighbours, in gil's summation order."""
    y0, y1, fy = _axis(rows, height)
    x0, x1, fx = _axis(columns, width)
    top, bottom = (y0 * columns)[:, None], (y1 * columns)[:, None]
    channel = np.arange(channels)[None, None, :]
    indices = tuple(
        ((pixel[:, :, None] * channels) + channel).astype(np.int32)
        for pixel in (top + x0, top + x1, bottom + x0, bottom + x1)
    )
    wy0, wy1 = (1.0 - fy)[:, None], fy[:, None]
    wx0, wx1 = (1.0 - fx)[None, :], fx[None, :]
    shape = (height, width, channels)
    weights = tuple(
        np.ascontiguousarray(np.broadcast_to(w[:, :, None], shape))
        for w in (wx0 * wy0, wx1 * wy0, wx0 * wy1, wx1 * wy1)
    )
    return indices, weights


def resize_like_wasmedge(
    image: npt.NDArray[np.uint8], width: int, height: int
) -> npt.NDArray[np.uint8]:
    """``image`` (rows x columns x channels, uint8) resized to ``height x width``."""
    rows, columns, channels = image.shape
    samples = np.ascontiguousarray(image).reshape(-1)
    indices, weights = _plan(rows, columns, channels, width, height)
    total = np.take(samples, indices[0]) * weights[0]
    for index, weight in zip(indices[1:], weights[1:], strict=True):
        total += np.take(samples, index) * weight
    return total.astype(np.uint8)

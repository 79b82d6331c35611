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


def resize_like_wasmedge(
    image: npt.NDArray[np.uint8], width: int, height: int
) -> npt.NDArray[np.uint8]:
    """``image`` (rows x columns x channels, uint8) resized to ``height x width``."""
    rows, columns = image.shape[:2]
    y0, y1, fy = _axis(rows, height)
    x0, x1, fx = _axis(columns, width)
    wy0 = (1.0 - fy)[:, None, None]
    wy1 = fy[:, None, None]
    wx0 = (1.0 - fx)[None, :, None]
    wx1 = fx[None, :, None]
    top = image[y0]
    bottom = image[y1]
    total = top[:, x0] * (wx0 * wy0)
    total += top[:, x1] * (wx1 * wy0)
    total += bottom[:, x0] * (wx0 * wy1)
    total += bottom[:, x1] * (wx1 * wy1)
    return total.astype(np.uint8)

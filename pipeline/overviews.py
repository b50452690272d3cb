"""Overview levels of a map, made window by window while the map is written.

A Cloud-Optimised GeoTIFF carries reduced-resolution copies of its map (overviews): factor 2, 4, 8,
... until the map fits one 256-px tile. GDAL's COG driver would make them after the pass by reading
the whole staged map back, resampling it and encoding every level twice (a temporary file, then the
COG). The pass already holds each window of the map in memory, so it makes the levels there and
the COG driver only copies them (:class:`pipeline.io.rasters.StagedMap`).

Level k of a map holds ceil(H / 2**k) x ceil(W / 2**k) pixels; its pixel (i, j) summarises the
base pixels [2**k i, 2**k (i + 1)) x [2**k j, 2**k (j + 1)) (fewer at the map's last row and
column). A window whose top-left corner is a multiple of 2**k therefore gives its own part of level
k, independently of the other windows.

- Densities (``AVERAGE``): the mean of the footprint's valid (non-NaN) base pixels, summed in
  float64 directly from the base (not a mean of means, so a footprint half NaN is still the mean of
  its valid pixels); NaN when none is valid.
- Categorical maps (``NEAREST``): the base pixel nearest the footprint's centre (row and column
  2**k i + 2**(k-1), the last one at the map's edge).
"""

from __future__ import annotations

import numba
import numpy as np

#: The COG driver's stopping rule: levels are made until the map fits one tile of this many pixels.
OVERVIEW_TILE = 256


def overview_shapes(shape: tuple[int, int], tile: int = OVERVIEW_TILE) -> list[tuple[int, int]]:
    """(rows, cols) of each overview level of a map of ``shape``: halved (rounding up) until both
    fit in ``tile``; none for a map that already fits."""
    h, w = shape
    out = []
    while h > tile or w > tile:
        h, w = -(-h // 2), -(-w // 2)
        out.append((h, w))
    return out


@numba.njit(cache=True, nogil=True)
def _halve_values(a):  # pragma: no cover (compiled)
    """Sum and count of the valid (non-NaN) pixels of each 2 x 2 footprint of ``a``."""
    h, w = a.shape
    s = np.zeros(((h + 1) // 2, (w + 1) // 2))
    n = np.zeros(((h + 1) // 2, (w + 1) // 2), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            v = a[i, j]
            if v == v:
                s[i >> 1, j >> 1] += v
                n[i >> 1, j >> 1] += 1
    return s, n


@numba.njit(cache=True, nogil=True)
def _halve_sums(s, n):  # pragma: no cover (compiled)
    """Sums and counts of each 2 x 2 footprint of per-pixel sums ``s`` and counts ``n``."""
    h, w = s.shape
    s2 = np.zeros(((h + 1) // 2, (w + 1) // 2))
    n2 = np.zeros(((h + 1) // 2, (w + 1) // 2), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            s2[i >> 1, j >> 1] += s[i, j]
            n2[i >> 1, j >> 1] += n[i, j]
    return s2, n2


def _means(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    out = np.full(s.shape, np.nan, dtype=np.float32)
    np.divide(s, n, out=out, where=n > 0, casting="unsafe")
    return out


def average_levels(window: np.ndarray, levels: int) -> list[np.ndarray]:
    """Levels 1..``levels`` of a window of densities (float32, NaN = no data), as float32 arrays:
    the mean of the valid base pixels of each footprint (see the module's docstring)."""
    out = []
    if levels < 1:
        return out
    s, n = _halve_values(np.ascontiguousarray(window, dtype=np.float32))
    out.append(_means(s, n))
    for _ in range(levels - 1):
        s, n = _halve_sums(s, n)
        out.append(_means(s, n))
    return out


def nearest_levels(window: np.ndarray, levels: int) -> list[np.ndarray]:
    """Levels 1..``levels`` of a window of categories: the base pixel nearest each footprint's centre."""
    h, w = window.shape
    out = []
    for k in range(1, levels + 1):
        f = 1 << k
        rows = np.minimum(np.arange(-(-h // f)) * f + f // 2, h - 1)
        cols = np.minimum(np.arange(-(-w // f)) * f + f // 2, w - 1)
        out.append(window[np.ix_(rows, cols)])
    return out

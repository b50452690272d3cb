"""Stream the run's single pass over the grid one strip of chunk rows at a time.

Every lazy product of a run is either a map (written window by window) or a reduction. Reductions
are kept as per-block partials (one small array per chunk, stacked on two leading block axes), so a
strip's partials are a slice of them: computing the maps and the partials strip by strip reads every
input block exactly once, like one ``dask.compute`` over the whole graph, while memory stays bounded
by a strip (whatever the size of the map) instead of growing with the graph's shared intermediates.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

#: How per-block partials combine across blocks (NaN, i.e. no data, adds nothing to a sum).
COMBINE = {"sum": np.nansum, "max": np.max}


def block_partials(a: da.Array, how: str) -> da.Array:
    """One value per chunk of the 2-D array ``a`` (its sum or max), shaped (blocks y, blocks x);
    counts of a boolean mask are integers."""
    f = COMBINE[how]
    dtype = np.int64 if a.dtype == bool else np.float64
    nby, nbx = a.numblocks

    def part(b: np.ndarray) -> np.ndarray:
        return np.full((1, 1), f(b) if b.size else 0, dtype=dtype)

    return a.map_blocks(part, chunks=((1,) * nby, (1,) * nbx), dtype=dtype)


def strips(numblocks_y: int, numblocks_x: int, workers: int = 2) -> list[tuple[int, int]]:
    """Ranges of chunk rows computed together: enough blocks per strip to keep ``workers`` busy."""
    rows = max(1, -(-2 * workers // max(numblocks_x, 1)))
    return [(i, min(i + rows, numblocks_y)) for i in range(0, numblocks_y, rows)]


def reduce_strip(partials: da.Array, how: str, i0: int, i1: int) -> da.Array:
    """The combined partials of chunk rows i0..i1 (lazy), keeping any trailing axes."""
    part = partials[i0:i1]
    return part.sum(axis=(0, 1)) if how == "sum" else part.max(axis=(0, 1))

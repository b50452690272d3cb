"""Stream the run's single pass over the grid one group of blocks at a time.

Every lazy product of a run is either a map (written window by window) or a reduction. Reductions
are kept as per-block partials (one small array per chunk, stacked on two leading block axes), so a
group's partials are a slice of them: computing the maps and the partials group by group reads every
input block exactly once, like one ``dask.compute`` over the whole graph, while memory stays bounded
by a group of blocks (whatever the size of the map) instead of growing with the graph's shared
intermediates.
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


#: Most blocks computed together by one ``dask.compute`` of the pass, whatever the number of workers:
#: the driver holds every map window of a group, so this caps its memory.
MAX_GROUP_BLOCKS = 64


def windows(numblocks_y: int, numblocks_x: int, workers: int = 2) -> list[tuple[int, int, int, int]]:
    """Groups of blocks computed together, as block ranges (i0, i1, j0, j1), row-major.

    A group holds about ``8 * workers`` blocks (enough to keep every worker busy and amortise the
    per-compute overhead), never more than ``MAX_GROUP_BLOCKS``: several chunk rows when the map is
    narrow, whole rows, or pieces of a row (a multiple of ``workers`` blocks wide, so no worker
    idles at the end of a piece) when it is wide. Memory therefore depends on the chunk size and the
    workers, not on the size of the map.
    """
    workers = max(workers, 1)
    target = max(1, min(8 * workers, MAX_GROUP_BLOCKS))
    nbx = max(numblocks_x, 1)
    if target >= nbx:  # whole chunk rows
        rows = target // nbx
        return [(i, min(i + rows, numblocks_y), 0, nbx) for i in range(0, numblocks_y, rows)]
    n_parts = -(-nbx // target)
    width = -(-nbx // n_parts)
    width = min(-(-width // workers) * workers, target)  # a multiple of the workers where possible
    return [(i, i + 1, j, min(j + width, nbx)) for i in range(numblocks_y) for j in range(0, nbx, width)]


def reduce_window(partials: da.Array, how: str, i0: int, i1: int, j0: int, j1: int) -> da.Array:
    """The combined partials of blocks [i0:i1, j0:j1] (lazy), keeping any trailing axes."""
    part = partials[i0:i1, j0:j1]
    return part.sum(axis=(0, 1)) if how == "sum" else part.max(axis=(0, 1))

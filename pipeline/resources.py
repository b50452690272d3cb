"""What a run on an analysis grid will cost, checked before any work (``run`` and ``validate``).

The pass's memory is bounded by the chunk size and the workers, but three things grow with the grid:
the task graph (built for every block before the first one is computed), the maps on disk, and the
time. :func:`estimate` gives the numbers; :func:`check_resources` refuses a grid whose graph cannot fit
in this machine's memory or whose maps cannot fit on the output disk, warns above the thresholds below,
and warns when the pixels are so large that regions are under-resolved.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np

from .errors import ConfigError
from .grid import AnalysisGrid

#: Bytes of task graph per block of the grid, an upper estimate of the run's lazy graph (about 30 tasks per
#: block of a few hundred bytes each, with their keys and dependencies).
GRAPH_BYTES_PER_BLOCK = 20_000
#: Bytes per pixel of the run's maps as written, before compression: four float32 density maps and the
#: int32 region map, plus a third for the overview levels.
MAP_BYTES_PER_PIXEL = 5 * 4 * 4 / 3
#: The smallest compression the maps get (DEFLATE with a predictor on noisy densities): the disk check
#: assumes the maps shrink to no less than this share of their raw size.
MIN_COMPRESSED_SHARE = 0.25
#: Warm-run seconds per million pixels on 2 cores (benchmarks/results: 0.38-0.51 s per Mpx); a time
#: estimate, scaled by the number of cores.
SECONDS_PER_MPX_2_CORES = 0.5
#: Warn when the maps exceed this many bytes before compression, or the run would take longer than this.
WARN_MAP_BYTES = 10 * 2**30
WARN_SECONDS = 3600.0
#: A region covering fewer pixels than this is under-resolved (its sink is mostly border fractions).
MIN_REGION_PIXELS = 10


def estimate(grid: AnalysisGrid, cores: int | None = None) -> dict[str, float]:
    """Pixels, blocks, task-graph bytes, raw map bytes and a time estimate for a run on ``grid``."""
    cores = cores or os.cpu_count() or 1
    ny, nx = grid.shape
    pixels = float(ny) * float(nx)
    blocks = float(-(-ny // grid.chunks)) * float(-(-nx // grid.chunks))
    return {"pixels": pixels, "blocks": blocks, "graph_bytes": blocks * GRAPH_BYTES_PER_BLOCK,
            "map_bytes": pixels * MAP_BYTES_PER_PIXEL,
            "seconds": pixels / 1e6 * SECONDS_PER_MPX_2_CORES * 2.0 / cores}


def _size(n: float) -> str:
    for unit, f in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= f:
            return f"{n / f:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"


def _memory_bytes() -> float:
    from distributed.system import MEMORY_LIMIT  # total memory, cgroup limits included

    return float(MEMORY_LIMIT)


def check_resources(grid: AnalysisGrid, regions: gpd.GeoDataFrame | None = None, out_parent: Path | None = None,
                    memory_bytes: float | None = None, free_bytes: float | None = None) -> dict[str, float]:
    """Refuse (ConfigError, with the numbers and what to change) a grid whose task graph would not fit in
    half the machine's memory, or whose maps would not fit on the disk of ``out_parent`` even compressed;
    warn when the maps or the time exceed the thresholds, and when regions span fewer than
    :data:`MIN_REGION_PIXELS` pixels. Returns :func:`estimate`."""
    est = estimate(grid)
    memory = memory_bytes if memory_bytes is not None else _memory_bytes()
    shape = f"{grid.shape[0]:,} x {grid.shape[1]:,} px ({est['pixels'] / 1e6:,.0f} Mpx, {est['blocks']:,.0f} blocks " \
            f"of {grid.chunks} px)"
    advice = ("Fix: a coarser grid.resolution, grid.bounds around the regions, larger grid.chunks, or a "
              "dask cluster (--scheduler) on a machine with more memory")
    if est["graph_bytes"] > 0.5 * memory:
        raise ConfigError(f"grid: the analysis grid is {shape}; its task graph alone needs about "
                          f"{_size(est['graph_bytes'])}, more than half of this machine's {_size(memory)}. {advice}")
    if free_bytes is None and out_parent is not None:
        probe = Path(out_parent)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free_bytes = float(shutil.disk_usage(probe).free)
    if free_bytes is not None and est["map_bytes"] * MIN_COMPRESSED_SHARE > free_bytes:
        raise ConfigError(f"grid: the maps of a grid of {shape} take about {_size(est['map_bytes'])} before "
                          f"compression (at least {_size(est['map_bytes'] * MIN_COMPRESSED_SHARE)} compressed), more "
                          f"than the {_size(free_bytes)} free where --out is. Fix: free disk space, another --out, "
                          "or a coarser grid.resolution or smaller grid.bounds")
    if est["map_bytes"] > WARN_MAP_BYTES or est["seconds"] > WARN_SECONDS:
        warnings.warn(f"the analysis grid is {shape}: maps of about {_size(est['map_bytes'])} before compression, "
                      f"and roughly {est['seconds'] / 3600:,.1f} h of computing on {os.cpu_count() or 1} cores "
                      "(measured rate of the benchmarks). Check that this is the resolution you mean", UserWarning,
                      stacklevel=2)
    if regions is not None and len(regions):
        pixel_m2 = abs(grid.transform.a * grid.transform.e)
        if grid.crs.is_geographic:  # degrees: the pixel area at the grid's mid latitude
            pixel_m2 = float(np.median(grid.row_area()))
        areas = regions.to_crs(grid.crs if not grid.crs.is_geographic else  # land polygons (no offshore zone)
                               "+proj=cea +datum=WGS84 +units=m").area
        small = areas[areas < MIN_REGION_PIXELS * pixel_m2]
        if len(small):
            names = regions.loc[small.index, "region_name"].astype(str).tolist()
            warnings.warn(f"{len(small)} of {len(regions)} regions cover fewer than {MIN_REGION_PIXELS} pixels of the "
                          f"analysis grid ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}): their sums "
                          "are mostly border fractions of pixels shared with neighbours, so their sinks and areas "
                          "are under-resolved. Fix: a finer grid.resolution", UserWarning, stacklevel=2)
    return est

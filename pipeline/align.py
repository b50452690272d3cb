"""Stage ``align``: build the analysis grid and put every raster on it, lazily.

GDAL warps each chunk on demand (a ``WarpedVRT`` per worker); categorical rasters resample with
nearest or mode, densities with average (or bilinear). No input is read here.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import xarray as xr
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.warp import transform_bounds

from .config import GridSpec
from .errors import ConfigError, GridError
from .grid import DEFAULT_CHUNKS, AnalysisGrid, choose_chunks
from .io.rasters import open_on_grid, totals_to_density
from .units import DENSITY_UNITS, is_total
from .load import RasterSource


def grid_from_spec(spec: GridSpec, regions: gpd.GeoDataFrame, rasters: dict | None = None,
                   workers: int | None = None) -> AnalysisGrid:
    """The analysis grid of a run: ``spec.bounds``, or the regions' extent (land and offshore); chunks
    from ``spec.chunks``, or chosen from the inputs' tiles and the memory (:func:`chunk_choice`)."""
    try:
        crs = CRS.from_user_input(spec.crs)
    except CRSError as exc:
        raise ConfigError(f"grid.crs = '{spec.crs}' is not a CRS pyproj understands ({exc}). "
                          "Fix: give an EPSG code or a PROJ string") from None
    bounds = spec.bounds or tuple(regions.set_geometry("allocation").to_crs(crs).total_bounds)
    grid = AnalysisGrid.from_bounds(crs, spec.resolution, bounds, DEFAULT_CHUNKS)
    return grid.with_chunks(chunk_choice(spec, grid, rasters, workers)[0])


def chunk_choice(spec: GridSpec, grid: AnalysisGrid, rasters: dict | None = None,
                 workers: int | None = None) -> tuple[int, str]:
    """``grid.chunks`` of the config, or (``auto``) a multiple of the tiles of the first input raster
    that lies on the grid, within the machine's memory (:func:`~pipeline.grid.choose_chunks`)."""
    if spec.chunks != "auto":
        return int(spec.chunks), "grid.chunks in the config"
    blocks = [src.info["block"][0] for src in (rasters or {}).values() if _on_grid_tiles(src.info, grid)]
    from distributed.system import MEMORY_LIMIT  # total memory, cgroup limits included

    memory = float(MEMORY_LIMIT)
    return choose_chunks(blocks, workers or os.cpu_count() or 1, memory)


def _on_grid_tiles(info: dict, grid: AnalysisGrid) -> bool:
    """Whether a raster lies on ``grid`` (same CRS and pixel size, offset by whole tiles) with square
    tiles, so chunks of a multiple of its tile side read whole tiles."""
    block, t = info.get("block"), info.get("transform")
    if block is None or t is None or block[0] != block[1] or block[0] % 16:
        return False
    g = grid.transform
    if info["crs"] is None or CRS.from_user_input(info["crs"]) != grid.crs:
        return False
    if not (math.isclose(t.a, g.a, rel_tol=1e-9) and math.isclose(t.e, g.e, rel_tol=1e-9)):
        return False
    dx, dy = (g.c - t.c) / g.a / block[0], (t.f - g.f) / g.a / block[0]  # grid origin in source tiles
    return abs(dx - round(dx)) < 1e-6 and abs(dy - round(dy)) < 1e-6


def align(rasters: dict[str, RasterSource], grid: AnalysisGrid, cache_dir=None) -> dict[str, xr.DataArray]:
    """Every raster on ``grid`` as a lazy DataArray with dims (y, x), keyed like ``rasters``.

    Raises
    ------
    GridError
        If a raster does not overlap the grid at all.
    """
    out = {}
    for key, src in rasters.items():
        check_overlap(src, grid)
        path, band, units, nodata = src.path, src.band, src.units, src.nodata
        if units is not None and is_total(units):  # per-pixel totals: densities on their own grid first
            path = totals_to_density(src.path, src.band, units, src.nodata, cache_dir or Path(tempfile.gettempdir()))
            band, units, nodata = 1, DENSITY_UNITS, None
        arr = open_on_grid(path, grid, src.resampling, band, nodata)
        arr.attrs.update({"units": units or "class code", "sign_convention": src.sign or "",
                          "name": src.name, "declared_units": src.units or ""})
        out[key] = arr
    return out


def check_overlap(src: RasterSource, grid: AnalysisGrid) -> None:
    """Fail unless the raster's extent, reprojected to the grid's CRS, overlaps the grid."""
    xmin, ymin, xmax, ymax = transform_bounds(src.info["crs"], grid.crs, *src.info["bounds"], densify_pts=21)
    gx0, gy0, gx1, gy1 = grid.bounds
    if xmax <= gx0 or xmin >= gx1 or ymax <= gy0 or ymin >= gy1:
        raster_bounds = tuple(round(b, 4) for b in src.info["bounds"])
        raise GridError(f"{src.path}: the raster (bounds {raster_bounds} in {_crs_name(src.info['crs'])}) does "
                        f"not overlap the analysis grid (bounds {tuple(round(b) for b in grid.bounds)} in "
                        f"{_crs_name(grid.crs)}). Fix: check the file, its CRS, or grid.bounds")


def _crs_name(crs) -> str:
    """A short name for a CRS in messages: its EPSG code when it has one, else its name."""
    import warnings

    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    if crs.name and crs.name != "unknown":
        return f"'{crs.name}'"
    with warnings.catch_warnings():  # PROJ strings are lossy, but short and readable in a message
        warnings.simplefilter("ignore", UserWarning)
        return f"'{crs.to_proj4()}'"

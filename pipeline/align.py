"""Stage ``align``: build the analysis grid and put every raster on it, lazily.

GDAL warps each chunk on demand (a ``WarpedVRT`` per worker); categorical rasters resample with
nearest or mode, densities with average (or bilinear). No input is read here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import xarray as xr
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.warp import transform_bounds

from .config import GridSpec
from .errors import ConfigError, GridError
from .grid import AnalysisGrid
from .io.rasters import open_on_grid, totals_to_density
from .units import DENSITY_UNITS, is_total
from .load import RasterSource


def grid_from_spec(spec: GridSpec, regions: gpd.GeoDataFrame) -> AnalysisGrid:
    """The analysis grid of a run: ``spec.bounds``, or the regions' extent (land and offshore)."""
    try:
        crs = CRS.from_user_input(spec.crs)
    except CRSError as exc:
        raise ConfigError(f"grid.crs = '{spec.crs}' is not a CRS pyproj understands ({exc}). "
                          "Fix: give an EPSG code or a PROJ string") from None
    bounds = spec.bounds or tuple(regions.set_geometry("allocation").to_crs(crs).total_bounds)
    return AnalysisGrid.from_bounds(crs, spec.resolution, bounds, spec.chunks)


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

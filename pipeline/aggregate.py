"""Stage ``aggregate``: region x ecosystem sums of area, gross removal and gross emission.

Border pixels are shared between regions by their exactly covered fraction (exactextract), and
whatever no region covers goes to the extra region ``unallocated``, so regions plus unallocated
always add up to the whole grid. The sums come from one streaming pass: per chunk, one combined
integer label (region x ecosystem) and weighted ``bincount`` s, then the small per-chunk tables
are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from .errors import GridError
from .grid import AnalysisGrid
from .units import grams_to_Mg, m2_to_km2

UNALLOCATED = "unallocated"
#: Coverage this close to 1 counts as whole (exactextract's interior cells are exactly 1).
_WHOLE = 1.0 - 1e-12
#: Quantities summed per (region, ecosystem), in this order.
QUANTITIES = ("area_m2", "removal_gC_yr", "emission_gC_yr")


@dataclass(frozen=True)
class RegionLabels:
    """Which region each pixel belongs to, with border pixels split by covered fraction.

    ``whole[y, x]`` is a region index for pixels inside one region only (``len(region_ids) - 1``,
    the last, is *unallocated*), or -1 for pixels shared between regions. Shared pixels are listed
    in ``cell`` (flat index), ``region`` and ``fraction``; each pixel's fractions add up to 1.
    """

    region_ids: tuple[str, ...]
    whole: np.ndarray
    cell: np.ndarray
    region: np.ndarray
    fraction: np.ndarray
    overlap_px: float  # pixel-equivalents where polygons overlapped (fractions were scaled down)


def region_labels(regions: gpd.GeoDataFrame, grid: AnalysisGrid, geometry: str = "allocation") -> RegionLabels:
    """Coverage fractions of every region's polygon on ``grid``, in the grid's CRS.

    Raises
    ------
    GridError
        If no region touches the grid.
    """
    polys = regions.set_geometry(geometry)[[geometry]].to_crs(grid.crs)
    xmin, ymin, xmax, ymax = grid.bounds
    dummy = NumPyRasterSource(np.zeros(grid.shape, dtype=np.uint8), xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax,
                              srs_wkt=grid.crs_wkt)
    cov = exact_extract(dummy, polys, ["cell_id", "coverage"], output="pandas")
    n = len(regions)
    counts = cov["cell_id"].map(len).to_numpy()
    cells = np.concatenate([np.asarray(c, dtype=np.int64) for c in cov["cell_id"]] or [np.empty(0, np.int64)])
    fracs = np.concatenate([np.asarray(c, dtype=np.float64) for c in cov["coverage"]] or [np.empty(0)])
    regs = np.repeat(np.arange(n, dtype=np.int32), counts)
    keep = fracs > 0
    cells, fracs, regs = cells[keep], fracs[keep], regs[keep]
    if cells.size == 0:
        raise GridError(f"no region overlaps the analysis grid (bounds {grid.bounds}). Fix: check the regions "
                        "file's CRS and grid.bounds")
    order = np.lexsort((regs, cells))
    cells, fracs, regs = cells[order], fracs[order], regs[order]
    uniq, start, per_cell = np.unique(cells, return_index=True, return_counts=True)
    total = np.add.reduceat(fracs, start)
    over = total > 1.0 + 1e-9
    overlap_px = float((total[over] - 1.0).sum())
    scale = np.where(total > 1.0, 1.0 / total, 1.0)  # overlapping polygons: share the pixel, never count it twice
    fracs = fracs * np.repeat(scale, per_cell)
    total = np.minimum(total, 1.0)

    whole = np.full(grid.shape, n, dtype=np.int32)  # default: unallocated
    flat = whole.reshape(-1)
    is_whole = (per_cell == 1) & (total >= _WHOLE)
    flat[uniq[is_whole]] = regs[start[is_whole]]
    shared = np.repeat(~is_whole, per_cell)
    flat[uniq[~is_whole]] = -1
    b_cell, b_reg, b_frac = cells[shared], regs[shared], fracs[shared]
    rest = 1.0 - total[~is_whole]
    has_rest = rest > 0
    b_cell = np.concatenate([b_cell, uniq[~is_whole][has_rest]])
    b_reg = np.concatenate([b_reg, np.full(has_rest.sum(), n, dtype=np.int32)])
    b_frac = np.concatenate([b_frac, rest[has_rest]])
    order = np.argsort(b_cell, kind="stable")
    ids = tuple(regions["region_id"].astype(str)) + (UNALLOCATED,)
    return RegionLabels(ids, whole, b_cell[order], b_reg[order], b_frac[order], overlap_px)


def _block_sums(eco, removal, emission, area, whole, *, labels: RegionLabels, n_eco: int, nx: int,
                block_info=None) -> np.ndarray:
    """Sums of area, removal x area and emission x area per (region, ecosystem) in one chunk."""
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    n_reg = len(labels.region_ids)
    size = n_reg * n_eco
    out = np.zeros((size, len(QUANTITIES)))
    valid = eco >= 0
    w_rem = removal * area
    w_emi = emission * area

    m = valid & (whole >= 0)
    idx = whole[m].astype(np.int64) * n_eco + eco[m]
    for q, w in enumerate((area[m], w_rem[m], w_emi[m])):
        out[:, q] += np.bincount(idx, weights=w, minlength=size)

    lo, hi = np.searchsorted(labels.cell, [r0 * nx, r1 * nx])  # shared pixels in the chunk's rows
    cell = labels.cell[lo:hi]
    rows, cols = cell // nx, cell % nx
    inside = (cols >= c0) & (cols < c1)
    if inside.any():
        lr, lc = rows[inside] - r0, cols[inside] - c0
        e = eco[lr, lc]
        ok = e >= 0
        frac = labels.fraction[lo:hi][inside][ok]
        lr, lc = lr[ok], lc[ok]
        idx = labels.region[lo:hi][inside][ok].astype(np.int64) * n_eco + e[ok]
        for q, w in enumerate((area, w_rem, w_emi)):
            out[:, q] += np.bincount(idx, weights=w[lr, lc] * frac, minlength=size)
    return out[None, None]


def aggregate(eco: xr.DataArray, removal: xr.DataArray, emission: xr.DataArray, area: xr.DataArray,
              labels: RegionLabels, n_eco: int) -> da.Array:
    """Lazy array (region, ecosystem, quantity) of sums in m2 and g C yr-1 (see ``QUANTITIES``).

    Parameters
    ----------
    eco : DataArray [ecosystem index], removal, emission : DataArray [g C m-2 yr-1],
    area : DataArray [m2]
        All on the same grid and chunks.
    """
    chunks = eco.data.chunks
    whole = da.from_array(labels.whole, chunks=chunks)
    n_reg = len(labels.region_ids)
    parts = da.map_blocks(
        _block_sums, eco.data, removal.data.astype(np.float64), emission.data.astype(np.float64),
        area.data.rechunk(chunks), whole, labels=labels, n_eco=n_eco, nx=eco.shape[1],
        dtype=np.float64, new_axis=[2, 3], chunks=(1, 1, n_reg * n_eco, len(QUANTITIES)),
        meta=np.empty((0, 0, 0, 0)),
    )
    return parts.sum(axis=(0, 1)).reshape(n_reg, n_eco, len(QUANTITIES))


def region_ecosystem_table(sums: np.ndarray, labels: RegionLabels, region_names: dict[str, str],
                           ecosystems: tuple[str, ...], ecosystem_realm: tuple[str, ...]) -> pd.DataFrame:
    """The computed sums as a tidy table: one row per (region, ecosystem), units in column names."""
    n_reg, n_eco, _ = sums.shape
    reg = np.repeat(labels.region_ids, n_eco)
    df = pd.DataFrame({
        "region_id": reg,
        "region": [region_names.get(r, r) for r in reg],
        "realm": np.tile(ecosystem_realm, n_reg),
        "ecosystem": np.tile(ecosystems, n_reg),
        "area_km2": m2_to_km2(sums[:, :, 0]).ravel(),
        "removal_MgC_yr": grams_to_Mg(sums[:, :, 1]).ravel(),
        "emission_MgC_yr": grams_to_Mg(sums[:, :, 2]).ravel(),
    })
    df["sink_MgC_yr"] = df["removal_MgC_yr"] - df["emission_MgC_yr"]
    return df

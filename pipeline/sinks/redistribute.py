"""Redistribute a flux product's mass, cell by cell, onto the ecosystems it is applied to.

A coarse product cell (e.g. 0.5 deg of a DGVM land sink) holds lakes, rivers and unmapped pixels whose
share of the cell's flux the flux method does not apply (they belong to another realm's method, or to
no ecosystem). With ``sinks.<realm>.redistribute: true`` that share moves onto the applied ecosystems
of the same cell, so each cell's mass over the product's domain is kept:

    d'_p = d_p + (M_domain,s - M_applied,s) / A_applied,s      for every applied pixel p of cell s

where ``d_p`` is the product's density on the analysis grid [g C m-2 yr-1], ``M`` the mass
(density x pixel area) over the cell's pixels of the product's domain where it has data, or over its
applied ones, and ``A_applied,s`` their area. Then sum_p d'_p A_p over the applied pixels of ``s`` =
``M_domain,s`` exactly (up to float rounding). The domain here is the pixels the land cover maps to the
product's domain realms (:data:`pipeline.sinks.products.DOMAIN_REALMS`): pixels without land cover are
left out (beyond a national land-cover map they are other countries' land), and their mass, like that
of a cell with no applied pixel, is listed as not applied in ``tables/flux_products.csv``. A pixel's
cell is the product cell holding the pixel's centre; mass is kept per cell, so it may move across a
region border inside a cell. The cell sums need one pass of their own over the land cover and the product before
the run's pass (the option costs one more read of both).
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr
from pyproj import Transformer

from ..grid import AnalysisGrid


def source_cells(grid: AnalysisGrid, src_crs, src_transform, src_shape: tuple[int, int]) -> xr.DataArray:
    """The index ``row * width + col`` of the product cell holding each analysis pixel's centre (-1
    outside the product), lazily per chunk of the grid."""
    to_src = Transformer.from_crs(grid.crs, src_crs, always_xy=True)
    inv = ~src_transform
    h, w = src_shape
    coords = grid.coords()

    def block(_, block_info=None):
        (r0, r1), (c0, c1) = block_info[0]["array-location"]
        xx, yy = np.meshgrid(coords["x"][c0:c1], coords["y"][r0:r1])
        sx, sy = to_src.transform(xx, yy)
        col, row = inv * (sx, sy)
        col, row = np.floor(col), np.floor(row)
        inside = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        out = np.where(inside, row * w + col, -1)
        return out.astype(np.int64)

    shell = da.zeros(grid.shape, chunks=grid.dask_chunks, dtype=np.int8)
    cells = da.map_blocks(block, shell, dtype=np.int64, name=f"source-cells-{dask.base.tokenize(grid, str(src_crs), tuple(src_transform), src_shape)}")
    return xr.DataArray(cells, dims=("y", "x"), coords=coords)


def cell_sums(cells: xr.DataArray, density: xr.DataArray, area: xr.DataArray, domain: xr.DataArray,
              applied: xr.DataArray, n_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per product cell: mass over the domain pixels with data, mass and area over the applied pixels
    with data [g C yr-1, g C yr-1, m2] (computed now: one pass over the inputs)."""
    has = np.isfinite(density)
    d = density.where(has, 0.0)
    mass = d * area

    def block(c, m, a, dom, app, ok):
        c = c.ravel()
        keep = c >= 0
        c, m, a = c[keep], m.ravel()[keep], a.ravel()[keep]
        dom, app = (dom.ravel()[keep] & ok.ravel()[keep]), (app.ravel()[keep] & ok.ravel()[keep])
        out = np.zeros((3, n_cells))
        out[0] = np.bincount(c, weights=np.where(dom, m, 0.0), minlength=n_cells)
        out[1] = np.bincount(c, weights=np.where(app, m, 0.0), minlength=n_cells)
        out[2] = np.bincount(c, weights=np.where(app, a, 0.0), minlength=n_cells)
        return out[None, None]

    arrays = [x.data.rechunk(cells.data.chunks) for x in (cells, mass, area, domain, applied, has)]
    nby, nbx = arrays[0].numblocks
    parts = da.map_blocks(block, *arrays, new_axis=[2, 3], chunks=((1,) * nby, (1,) * nbx, (3,), (n_cells,)),
                          dtype=np.float64)
    total = parts.sum(axis=(0, 1)).compute()
    return total[0], total[1], total[2]


def redistributed(density: xr.DataArray, cells: xr.DataArray, applied: xr.DataArray,
                  sums: tuple[np.ndarray, np.ndarray, np.ndarray]) -> xr.DataArray:
    """The density with each cell's not-applied mass spread evenly per m2 over its applied pixels
    (module docstring); unchanged elsewhere (NaN where the product has no data stays NaN)."""
    m_domain, m_applied, a_applied = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.where(a_applied > 0, (m_domain - m_applied) / a_applied, 0.0)
    add = np.concatenate([add, [0.0]])  # index -1 (outside the product) adds nothing

    def lookup(c):
        return add[c]

    extra = xr.apply_ufunc(lookup, cells, dask="parallelized", output_dtypes=[np.float64])
    out = density + extra.where(applied, 0.0)
    out.attrs = {**density.attrs, "units": "g C m-2 yr-1", "sign_convention": "uptake_positive", "nodata": None}
    return out

"""Stage ``aggregate``: region x ecosystem sums of area, gross removal and gross emission.

Border pixels are shared between regions by their exactly covered fraction (exactextract), and
whatever no region covers goes to the extra region ``unallocated``, so regions plus unallocated
always add up to the whole grid. The sums come from one streaming pass: per chunk, one combined
integer label (region x ecosystem) and weighted ``bincount`` s, then the small per-chunk tables
are summed.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from .grid import AnalysisGrid
from .labels import UNALLOCATED, RegionLabels
from .units import grams_to_Mg, m2_to_km2

#: Quantities summed per (region, ecosystem), in this order.
QUANTITIES = ("area_m2", "removal_gC_yr", "emission_gC_yr")


def quanta(grid: AnalysisGrid, max_density: float) -> np.ndarray:
    """Power-of-two quantum per quantity that makes every sum exact, whatever its order.

    Each pixel's contribution is rounded to a multiple of q (a power of two, so the scaling is
    exact). While the sum of |contributions| stays below 2**52 q, every partial sum of such
    multiples is exactly representable in float64: the totals are then independent of chunking
    and scheduler, bit for bit. The bound is the grid's area (for areas) and the grid's area times
    ``max_density`` [g C m-2 yr-1] (for masses), so q is about 2e-16 of the largest possible
    total: far below the 1e-9 the invariants ask for.
    """
    area = float(grid.row_area().sum()) * grid.width
    bounds = np.array([area, area * max_density, area * max_density])
    return np.exp2(np.ceil(np.log2(bounds / 2.0**52)))


def _block_sums(eco, removal, emission, area, whole, shared, n_reg: int, n_eco: int, q: np.ndarray) -> np.ndarray:
    """Sums of area, removal x area and emission x area per (region, ecosystem) in one block."""
    size = n_reg * n_eco
    out = np.zeros((size, len(QUANTITIES)))
    valid = eco >= 0
    weights = (area, removal * area, emission * area)
    m = valid & (whole >= 0)
    idx = whole[m].astype(np.int64) * n_eco + eco[m]
    for k, w in enumerate(weights):
        out[:, k] += np.bincount(idx, weights=np.rint(w[m] / q[k]) * q[k], minlength=size)
    if shared is not None:
        lr, lc, reg, frac = shared
        e = eco[lr, lc]
        ok = e >= 0
        lr, lc, frac = lr[ok], lc[ok], frac[ok]
        idx = reg[ok].astype(np.int64) * n_eco + e[ok]
        for k, w in enumerate(weights):
            out[:, k] += np.bincount(idx, weights=np.rint(w[lr, lc] * frac / q[k]) * q[k], minlength=size)
    return out


def aggregate(eco: xr.DataArray, removal: xr.DataArray, emission: xr.DataArray, area: xr.DataArray,
              labels: RegionLabels, grid: AnalysisGrid, n_eco: int, max_density: float = 5000.0) -> da.Array:
    """Lazy array (region, ecosystem, quantity) of sums in m2 and g C yr-1 (see ``QUANTITIES``).

    One task per block reads the block's ecosystem, removal, emission, area and labels and
    returns a small table; the tables are summed. Sums are exact (see :func:`quanta`), so the
    result is the same bit for bit for any chunking and any scheduler.

    Parameters
    ----------
    eco : DataArray [ecosystem index]; removal, emission : DataArray [g C m-2 yr-1];
    area : DataArray [m2]
        All on ``grid`` with its chunks.
    max_density : float [g C m-2 yr-1]
        Bound on |removal| and |emission| used to choose the quanta.
    """
    chunks = grid.dask_chunks
    arrays = [x.data.rechunk(chunks) for x in (eco, removal.astype(np.float64), emission.astype(np.float64), area)]
    arrays.append(labels.whole.rechunk(chunks))
    blocks = [a.to_delayed() for a in arrays]
    shared = labels.shared_by_block(grid)
    n_reg = len(labels.region_ids)
    q = quanta(grid, max_density)
    task = dask.delayed(_block_sums, pure=True)
    parts = []
    for (i, j) in np.ndindex(*blocks[0].shape):
        t = task(*(b[i, j] for b in blocks), shared.get((i, j)), n_reg, n_eco, q)
        parts.append(da.from_delayed(t, shape=(n_reg * n_eco, len(QUANTITIES)), dtype=np.float64))
    return da.stack(parts).sum(axis=0).reshape(n_reg, n_eco, len(QUANTITIES))


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

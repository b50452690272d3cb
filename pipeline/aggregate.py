"""Stage ``aggregate``: region x ecosystem sums of area, gross removal and gross emission.

Border pixels are shared between regions by their exactly covered fraction (exactextract), and
whatever no region covers goes to the extra region ``unallocated``, so regions plus unallocated
always add up to the whole grid. The sums come from one streaming pass: per chunk, one combined
integer label (region x ecosystem) and weighted ``bincount`` s, then the small per-chunk tables
are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as da
import numba
import numpy as np
import pandas as pd
import xarray as xr

from .grid import AnalysisGrid
from .io import label_cache
from .labels import RegionLabels
from .units import grams_to_Mg, m2_to_km2

#: Quantities summed per (region, ecosystem), in this order.
QUANTITIES = ("area_m2", "removal_gC_yr", "emission_gC_yr")


#: Each contribution is split into a coarse and a fine part (see :func:`_block_sums`); the fine
#: quantum is the coarse one / 2**SPLIT_BITS.
SPLIT_BITS = 19


def quanta(grid: AnalysisGrid, max_density: float, n_densities: int = 2) -> np.ndarray:
    """Power-of-two quantum Q per quantity (area, then each density x area), such that every partial
    sum of multiples of Q is exact whatever its order.

    The bound is the grid's area (for areas) and the grid's area times ``max_density``
    [g C m-2 yr-1] (for masses): while the sum of |contributions| stays below 2**52 Q, sums of
    multiples of Q are exactly representable in float64. Contributions are counted in units of
    Q / 2**SPLIT_BITS (see :func:`_block_sums`), so the rounding of each pixel is about 1e-22 of the
    largest possible total: even a coarse flux product repeated over millions of pixels (the same
    rounding error each time) stays far below the 1e-9 the invariants ask for.
    """
    area = float(grid.row_area().sum()) * grid.width
    bounds = np.array([area] + [area * max_density] * n_densities)
    return np.exp2(np.ceil(np.log2(bounds / 2.0**51)))


#: Low bits of a pixel's count of fine quanta (see :func:`_dense_sums`).
_LOW_MASK = (1 << SPLIT_BITS) - 1
#: Densities one compiled pass takes (removal, emission, and one more).
MAX_DENSITIES = 3
#: What the compiled pass gets in the density slots a call does not use.
_NO_DENSITY = np.zeros((1, 1))


@numba.njit(cache=True, nogil=True, inline="always")
def _row_area_counts(xa):  # pragma: no cover
    """(coarse, fine, not finite) counts of a row's pixel area ``xa`` [fine quanta]."""
    if abs(xa) < 4.6e18:
        x = np.int64(np.rint(xa))
        return x >> SPLIT_BITS, x & _LOW_MASK, False
    if xa - xa == 0.0:
        hi, lo = _count_split(xa)
        return hi, lo, False
    return np.int64(0), np.int64(0), True


@numba.njit(cache=True, nogil=True)
def _dense_sums(cls, whole, r_const, area, d0, d1, d2, kd, n_cls, inv_fine, out, nan):  # pragma: no cover
    """Add every pixel of a block with a class and a whole region to ``out`` (bin, 2k), in one pass:
    area, then each of the ``kd`` densities (``d0``, ``d1``, ``d2``) x area. ``r_const`` >= 0 is the
    region of every pixel of the block (``whole`` is then not read); -2 means read ``whole``.

    Each contribution w is counted in fine quanta, x = rint(w / q), split as (x >> SPLIT_BITS,
    x & mask): coarse and fine counts, integers summed exactly in int64, so the total
    x = hi * 2**SPLIT_BITS + lo is exact whatever the order of the pixels, blocks or chunks. A NaN or
    infinite contribution marks its bin (its sum becomes NaN, never a wrapped integer).

    Because the sums are exact integers, the order of the additions is free, and two orders make the
    loop faster than adding each pixel to ``out``: a row's pixels share one area, so its count is
    found once per row; and a run of pixels of the same bin along a row is summed in local variables,
    added to ``out`` when the bin changes (no chain of additions through memory)."""
    ny, nx = cls.shape
    k_n = kd + 1
    if r_const == -1:  # every pixel shared: only the border entries count
        return
    for i in range(ny):
        a = area[i]
        a_hi, a_lo, a_bad = _row_area_counts(a * inv_fine[0])
        cur = -1  # the bin of the run being summed
        n = 0
        h1 = h2 = h3 = l1 = l2 = l3 = np.int64(0)
        for j in range(nx + 1):
            b = -1
            if j < nx:
                c = cls[i, j]
                r = r_const if r_const >= 0 else whole[i, j]
                if c >= 0 and r >= 0:
                    b = r * n_cls + c
            if b != cur:  # the run ends: add it
                if cur >= 0:
                    out[cur, 0] += n * a_hi
                    out[cur, k_n] += n * a_lo
                    if a_bad:
                        nan[cur, 0] = True
                    if kd >= 1:
                        out[cur, 1] += h1
                        out[cur, k_n + 1] += l1
                    if kd >= 2:
                        out[cur, 2] += h2
                        out[cur, k_n + 2] += l2
                    if kd >= 3:
                        out[cur, 3] += h3
                        out[cur, k_n + 3] += l3
                cur = b
                n = 0
                h1 = h2 = h3 = l1 = l2 = l3 = np.int64(0)
            if b < 0:
                continue
            n += 1
            for k in range(1, k_n):
                xf = (d0[i, j] if k == 1 else (d1[i, j] if k == 2 else d2[i, j])) * a * inv_fine[k]
                if abs(xf) < 4.6e18:  # below 2**62: fits an int64 (False for NaN and inf)
                    x = np.int64(np.rint(xf))
                    if k == 1:
                        h1 += x >> SPLIT_BITS
                        l1 += x & _LOW_MASK
                    elif k == 2:
                        h2 += x >> SPLIT_BITS
                        l2 += x & _LOW_MASK
                    else:
                        h3 += x >> SPLIT_BITS
                        l3 += x & _LOW_MASK
                elif xf - xf == 0.0:  # finite: one pixel holding most of a tiny grid's total
                    hi, lo = _count_split(xf)
                    out[b, k] += hi
                    out[b, k_n + k] += lo
                else:  # NaN or inf: the bin's sum becomes NaN
                    nan[b, k] = True


@numba.njit(cache=True, nogil=True)
def _dense_sums_signed(cls, whole, r_const, area, d0, n_cls, inv_fine, out, nan):  # pragma: no cover
    """:func:`_dense_sums` of one signed density ``d0``: the quantities are area, its positive part x
    area and its negative part x area (as if given ``d0.clip(min=0)`` and ``(-d0).clip(min=0)``,
    without making them). A NaN marks both parts; +inf the positive one, -inf the negative one."""
    ny, nx = cls.shape
    if r_const == -1:
        return
    for i in range(ny):
        a = area[i]
        a_hi, a_lo, a_bad = _row_area_counts(a * inv_fine[0])
        cur = -1
        n = 0
        h1 = h2 = l1 = l2 = np.int64(0)
        for j in range(nx + 1):
            b = -1
            if j < nx:
                c = cls[i, j]
                r = r_const if r_const >= 0 else whole[i, j]
                if c >= 0 and r >= 0:
                    b = r * n_cls + c
            if b != cur:
                if cur >= 0:
                    out[cur, 0] += n * a_hi
                    out[cur, 3] += n * a_lo
                    if a_bad:
                        nan[cur, 0] = True
                    out[cur, 1] += h1
                    out[cur, 4] += l1
                    out[cur, 2] += h2
                    out[cur, 5] += l2
                cur = b
                n = 0
                h1 = h2 = l1 = l2 = np.int64(0)
            if b < 0:
                continue
            n += 1
            w = d0[i, j] * a
            neg = w < 0.0  # the negative part; a zero adds nothing to either
            k = 2 if neg else 1
            xf = abs(w) * inv_fine[k]  # (-d0) x a is exactly -(d0 x a)
            if xf < 4.6e18:
                x = np.int64(np.rint(xf))
                if neg:
                    h2 += x >> SPLIT_BITS
                    l2 += x & _LOW_MASK
                else:
                    h1 += x >> SPLIT_BITS
                    l1 += x & _LOW_MASK
            elif xf - xf == 0.0:
                hi, lo = _count_split(xf)
                out[b, k] += hi
                out[b, 3 + k] += lo
            elif xf != xf:  # NaN: both parts
                nan[b, 1] = True
                nan[b, 2] = True
            else:
                nan[b, k] = True


@numba.njit(cache=True, nogil=True)
def _count_split(xf):  # pragma: no cover
    """(coarse, fine) counts of a finite contribution of at least 2**62 fine quanta, split before the
    conversion to int64 (only on tiny grids, where one pixel holds most of the total)."""
    hf = np.floor(xf * 2.0**-SPLIT_BITS)
    return np.int64(hf), np.int64(np.rint(xf - hf * 2.0**SPLIT_BITS))


@numba.njit(cache=True, nogil=True)
def _shared_sums(cls, area, d0, d1, d2, kd, split, lr, lc, reg, frac, n_cls, inv_fine, out, nan):  # pragma: no cover
    """Add the border pixels (row ``lr``, column ``lc``, region ``reg``, covered fraction ``frac``)
    of a block to ``out``, like :func:`_dense_sums` with the area scaled by the fraction."""
    k_n = 3 if split else kd + 1
    for s in range(lr.shape[0]):
        i = lr[s]
        j = lc[s]
        c = cls[i, j]
        if c < 0:
            continue
        b = reg[s] * n_cls + c
        a = area[i] * frac[s]
        for k in range(k_n):
            if k == 0:
                w = a
            elif split:
                w = (d0[i, j] if k == 1 else -d0[i, j]) * a
                if w <= 0.0:
                    continue
            else:
                w = d0[i, j] * a if k == 1 else (d1[i, j] * a if k == 2 else d2[i, j] * a)
            # the same counting as in _dense_sums
            xf = w * inv_fine[k]
            if abs(xf) < 4.6e18:
                x = np.int64(np.rint(xf))
                out[b, k] += x >> SPLIT_BITS
                out[b, k_n + k] += x & _LOW_MASK
            elif xf - xf == 0.0:
                hf = np.floor(xf * 2.0**-SPLIT_BITS)
                out[b, k] += np.int64(hf)
                out[b, k_n + k] += np.int64(np.rint(xf - hf * 2.0**SPLIT_BITS))
            else:
                nan[b, k] = True


def _block_sums(cls, area, whole, *rest, split: bool = False) -> np.ndarray:
    """Exact sums of area and of each density x area per (region, class) in one block, as counts of
    the coarse quantum (first half of the columns) and of the fine quantum (second half).

    ``area`` is the pixel area [m2] of each of the block's rows (a north-up grid's pixels have the
    same area along a row).

    ``rest`` is the densities' blocks (at most ``MAX_DENSITIES``, any float dtype; with ``split``,
    one signed density, summed as its positive and its negative part) followed by
    (shared, n_reg, n_cls, q). Pixels of no class or no whole region are left out; border pixels
    (``shared``) add their covered fraction to each of their regions. One compiled pass per block
    (numba), no temporaries: about 4-5 ns per pixel (2 densities, one thread). A label block of one
    region (``label_cache.is_constant``) is not read pixel by pixel.
    """
    *dens, shared, n_reg, n_cls, q = rest
    kd = len(dens)
    if kd > MAX_DENSITIES:
        raise ValueError(f"at most {MAX_DENSITIES} densities per aggregation, got {kd}")
    if split and kd != 1:
        raise ValueError(f"a signed aggregation takes one density, got {kd}")
    k_n = 3 if split else 1 + kd
    inv_fine = 2.0**SPLIT_BITS / np.asarray(q, dtype=np.float64)  # powers of two: exact
    size = n_reg * n_cls
    out = np.zeros((size, 2 * k_n), dtype=np.int64)
    nan = np.zeros((size, k_n), dtype=np.bool_)
    d = [np.asarray(x) for x in dens] + [_NO_DENSITY] * (MAX_DENSITIES - kd)
    area = np.ascontiguousarray(area, dtype=np.float64)
    r_const = -2
    if label_cache.is_constant(whole):  # one label over the block: no pixel-by-pixel label reads
        r_const = int(whole[0, 0])
        whole = np.full((1, 1), r_const, dtype=whole.dtype)  # C-contiguous: the kernel compiled for it
    if split:
        _dense_sums_signed(cls, whole, r_const, area, d[0], n_cls, inv_fine, out, nan)
    else:
        _dense_sums(cls, whole, r_const, area, d[0], d[1], d[2], kd, n_cls, inv_fine, out, nan)
    if shared is not None:
        lr, lc, reg, frac = shared
        _shared_sums(cls, area, d[0], d[1], d[2], kd, split, lr, lc, reg, frac, n_cls, inv_fine, out, nan)
    out[:, :k_n] += out[:, k_n:] >> SPLIT_BITS  # carry: the block's fine counts < 2**19, so summing
    out[:, k_n:] &= _LOW_MASK                    # them over any number of blocks stays exact in float64
    res = out.astype(np.float64)  # exact: |coarse| < 2**53 (bounded by the quanta), 0 <= fine < 2**19
    if nan.any():
        res[:, :k_n][nan] = np.nan
        res[:, k_n:][nan] = np.nan
    return res


def aggregate(cls: xr.DataArray, densities: list[xr.DataArray], labels: RegionLabels, grid: AnalysisGrid,
              n_cls: int, max_density: float = 5000.0, signed: bool = False) -> da.Array:
    """Lazy array (region, class, quantity) of sums: area [m2], then each density x area [g C yr-1].

    One task per block reads the block's class, densities and labels and returns a small table of
    exact integer counts; the tables are summed (exactly) and scaled once. Pixel areas are the
    grid's (:meth:`AnalysisGrid.row_area`, per row). The result is the same bit for bit for any
    chunking and any scheduler.

    Parameters
    ----------
    cls : DataArray of int
        Class per pixel in 0..n_cls-1 (e.g. the ecosystem index, or a transition index); negative
        values (nodata) are left out.
    densities : list of DataArray [g C m-2 yr-1]
        e.g. ``[removal, emission]`` (see ``QUANTITIES``); may be empty (areas only). All on
        ``grid``.
    max_density : float [g C m-2 yr-1]
        Bound on |density| used to choose the quanta.
    signed : bool
        ``densities`` is one signed density (e.g. NEP, positive = uptake): the quantities are area,
        its positive part x area and its negative part x area, the same numbers as passing
        ``[d.clip(min=0), (-d).clip(min=0)]`` without computing those two rasters.
    """
    parts = aggregate_parts(cls, densities, labels, grid, n_cls, max_density, signed)
    return parts.finish(parts.counts.sum(axis=(0, 1)))


@dataclass
class Parts:
    """Per-block exact counts of an aggregation, (blocks y, blocks x, region x class, 2k), and how to
    turn their sum into the (region, class, quantity) totals."""

    counts: da.Array
    q: np.ndarray
    n_reg: int
    n_cls: int

    def finish(self, counts):
        """Totals (region, class, quantity) from summed counts (numpy or dask)."""
        k_n = len(self.q)
        fine = self.q / 2.0**SPLIT_BITS
        total = counts[:, :k_n] * self.q + counts[:, k_n:] * fine  # one rounding, the same for every chunking
        return total.reshape(self.n_reg, self.n_cls, k_n)


def aggregate_parts(cls: xr.DataArray, densities: list[xr.DataArray], labels: RegionLabels, grid: AnalysisGrid,
                    n_cls: int, max_density: float = 5000.0, signed: bool = False) -> Parts:
    """The per-block counts of :func:`aggregate`, to be summed over any set of blocks (e.g. a strip)."""
    chunks = grid.dask_chunks
    arrays = [cls.data, labels.whole] + [d.data for d in densities]  # float32 or 64: the kernel widens
    arrays = [a.rechunk(chunks) for a in arrays]
    shared = dask.delayed(labels.shared_by_block(grid), pure=True)  # one key, read by every block
    n_reg = len(labels.region_ids)
    if signed and len(densities) != 1:
        raise ValueError(f"a signed aggregation takes one density, got {len(densities)}")
    n_dens = 2 if signed else len(densities)
    k_n = 1 + n_dens
    q = quanta(grid, max_density, n_dens)
    nby, nbx = arrays[0].numblocks
    size = n_reg * n_cls
    # one blockwise task per block, in the same array graph as the maps: dask fuses the per-block
    # chain (read, classify, sinks, sums)
    rows = grid.row_area()  # [m2] per row: no area raster in the graph
    counts = da.map_blocks(_located_block_sums, *arrays, shared, rows=rows, n_reg=n_reg, n_cls=n_cls, q=q, split=signed,
                           new_axis=[2, 3], chunks=((1,) * nby, (1,) * nbx, (size,), (2 * k_n,)), dtype=np.float64,
                           name=f"block-sums-{dask.base.tokenize(*arrays, n_cls, q, signed)}")
    return Parts(counts, q, n_reg, n_cls)


def _located_block_sums(cls, whole, *rest, rows, n_reg, n_cls, q, split=False, block_info=None):
    """:func:`_block_sums` of the block at ``block_info``'s location, shaped (1, 1, size, 2k)."""
    *dens, shared = rest
    loc = tuple(block_info[0]["chunk-location"])
    (r0, r1), _ = block_info[0]["array-location"]
    out = _block_sums(cls, rows[r0:r1], whole, *dens, shared.get(loc), n_reg, n_cls, q, split=split)
    return out[None, None]


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

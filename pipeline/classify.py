"""Stage ``classify``: land-cover codes -> ecosystem index and realm index per pixel."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

from .tables import REALMS, Scheme

#: Ecosystem index of pixels with no data, and of pixels whose code the scheme lacks.
NODATA, UNKNOWN = -1, -2


def classify(codes: xr.DataArray, scheme: Scheme, nodata, run_scheme: Scheme | None = None
             ) -> tuple[xr.DataArray, da.Array]:
    """Map land-cover codes to ecosystem indices (of ``run_scheme``, default ``scheme``), lazily.

    Returns
    -------
    ecosystem : DataArray of int16, dims (y, x)
        Index into ``scheme.ecosystems``; ``NODATA`` (-1) for nodata, ``UNKNOWN`` (-2) for codes
        the scheme lacks.
    code_counts : dask array of int64, (blocks y, blocks x, codes + 2)
        Pixel count per code value (length 2**bits of the code dtype, or the scheme's largest code + 1)
        per block, then the count of negative codes and of codes past that length (nodata excluded), so
        unknown codes are listed after the single pass without another read.
    """
    size = 1 << (8 * codes.dtype.itemsize) if codes.dtype.itemsize <= 2 else int(scheme.table["code"].max()) + 1
    target = run_scheme or scheme
    lut = scheme.lookup(size, target.ecosystems)
    nodata_code = int(nodata) if nodata is not None and np.isfinite(nodata) else None

    def _classify(block: np.ndarray) -> np.ndarray:
        b = block.astype(np.int64, copy=False)
        inside = (b >= 0) & (b < size)
        eco = np.where(inside, lut[np.clip(b, 0, size - 1)], UNKNOWN).astype(np.int16)
        if nodata_code is not None:
            eco[b == nodata_code] = NODATA
        return eco

    def _count(block: np.ndarray) -> np.ndarray:
        b = block.astype(np.int64, copy=False).ravel()
        if nodata_code is not None:
            b = b[b != nodata_code]
        inside = (b >= 0) & (b < size)
        out = np.zeros(size + 2, dtype=np.int64)  # then the negative codes, then the codes past the table
        out[:size] = np.bincount(b[inside], minlength=size)
        out[size] = np.count_nonzero(b < 0)
        out[size + 1] = np.count_nonzero(b >= size)
        return out[None, :]

    data = codes.data
    eco = xr.DataArray(da.map_blocks(_classify, data, dtype=np.int16), dims=codes.dims, coords=codes.coords,
                       attrs={"long_name": "ecosystem index", "flag_values": list(range(len(target.ecosystems))),
                              "flag_meanings": " ".join(target.ecosystems)})
    return eco, _code_counts(data, _count, size + 2)


def _code_counts(data: da.Array, count, size: int) -> da.Array:
    """Per-block code histograms, shaped (blocks y, blocks x, size): sum them over blocks."""
    nby, nbx = data.numblocks
    return data.map_blocks(lambda b: count(b)[None], new_axis=[2], chunks=((1,) * nby, (1,) * nbx, (size,)),
                           dtype=np.int64)


def realm_of(eco: xr.DataArray, scheme: Scheme) -> xr.DataArray:
    """Realm index per pixel (index into ``REALMS``), -1 where the ecosystem is nodata/unknown."""
    realms = list(REALMS)
    lut = np.array([realms.index(r) for r in scheme.ecosystem_realm] + [-1, -1], dtype=np.int8)
    return xr.apply_ufunc(lambda e: lut[e], eco, dask="parallelized", output_dtypes=[np.int8])


def overlay(eco: xr.DataArray, habitat: xr.DataArray) -> xr.DataArray:
    """The ecosystem index with the habitat raster's classes wherever it has data (e.g. seagrass
    meadows mapped over sea pixels, mangroves over land-cover wetland or forest)."""
    return xr.where(habitat >= 0, habitat, eco).astype(np.int16).assign_attrs(eco.attrs)

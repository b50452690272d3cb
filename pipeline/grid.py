"""The analysis grid: one immutable value that every stage takes its geometry from."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS

from .errors import GridError

#: China Albers equal-area conic, the default analysis CRS (DESIGN.md section 2).
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs"


#: Chunk side [px] when nothing else decides: 512 x 512 blocks amortise dask's per-task overhead
#: while a group of them in flight stays well under a GiB.
DEFAULT_CHUNKS = 512
#: Working memory per pixel of a block in flight during the pass [bytes], measured on the 1 km China
#: benchmark (inputs, float64 intermediates, map windows; about 200 B/px).
BYTES_PER_PX_IN_FLIGHT = 200
#: Blocks in flight per worker (see ``pipeline.streaming.windows``).
BLOCKS_PER_WORKER = 8


def choose_chunks(input_blocks: list[int], workers: int, memory_bytes: float,
                  default: int = DEFAULT_CHUNKS) -> tuple[int, str]:
    """The chunk side [px] of a run, and why.

    ``input_blocks``: the square tile sides of the input rasters that lie on the analysis grid (same
    CRS, pixel size and a whole-tile offset), in config order. The chunk is the multiple of the first
    one closest to ``default``, so each chunk reads whole tiles of that file; without such an input it
    is ``default``. Then memory: the pass holds ``BLOCKS_PER_WORKER * workers`` blocks of
    ``BYTES_PER_PX_IN_FLIGHT`` bytes per pixel, which must stay within a quarter of ``memory_bytes``;
    the chunk is halved (to a multiple of 16, the TIFF tile quantum, at least 64) until it does.
    """
    if input_blocks:
        b = int(input_blocks[0])
        c = b * max(1, round(default / b))
        why = f"a multiple of the {b}-px tiles of the first input on the grid"
    else:
        c = default
        why = "default (no input on the analysis grid with square tiles)"
    budget = memory_bytes / 4
    per_block = BLOCKS_PER_WORKER * max(workers, 1) * BYTES_PER_PX_IN_FLIGHT
    capped = False
    while c > 64 and c * c * per_block > budget:
        c = max(64, (c // 2) // 16 * 16)
        capped = True
    if capped:
        why += f"; halved to fit a quarter of {memory_bytes / 2**30:.1f} GiB with {workers} workers"
    return int(c), why


@dataclass(frozen=True)
class AnalysisGrid:
    """A north-up raster grid: CRS, affine transform, shape and dask chunk size.

    Parameters
    ----------
    crs_wkt : str
        The grid's CRS as WKT (a string, so the grid is hashable and pickles cleanly).
    transform : Affine
        Pixel-corner affine transform; ``transform.e`` must be negative (north-up).
    shape : tuple[int, int]
        ``(ny, nx)``.
    chunks : int
        Square chunk size in pixels for every lazy array on this grid.
    """

    crs_wkt: str
    transform: Affine
    shape: tuple[int, int]
    chunks: int = 512

    def __post_init__(self) -> None:
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise GridError(f"the analysis grid must be north-up without rotation; got transform {tuple(t)[:6]}")
        if self.shape[0] <= 0 or self.shape[1] <= 0:
            raise GridError(f"the analysis grid is empty (shape {self.shape}); check grid.bounds")

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def from_bounds(cls, crs, resolution: float, bounds: tuple[float, float, float, float],
                    chunks: int = 512) -> AnalysisGrid:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outwards to whole pixels."""
        crs = CRS.from_user_input(crs)
        xmin, ymin, xmax, ymax = bounds
        r = float(resolution)
        eps = 1e-9  # bounds on a pixel edge up to floating noise (0.15 / 0.05 = 2.9999999999999996) stay there
        i0, j0 = math.floor(xmin / r + eps), math.floor(ymin / r + eps)
        i1, j1 = math.ceil(xmax / r - eps), math.ceil(ymax / r - eps)
        x0, y1 = i0 * r, j1 * r
        shape = (j1 - j0, i1 - i0)
        return cls(crs.to_wkt(), Affine(r, 0.0, x0, 0.0, -r, y1), shape, int(chunks))

    def with_chunks(self, chunks: int) -> AnalysisGrid:
        """The same grid with another chunk size."""
        return replace(self, chunks=int(chunks))

    # --- properties -----------------------------------------------------------------------
    @cached_property
    def crs(self) -> CRS:
        return CRS.from_wkt(self.crs_wkt)

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def resolution(self) -> tuple[float, float]:
        return self.transform.a, -self.transform.e

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t = self.transform
        return t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f

    @property
    def dask_chunks(self) -> tuple[int, int]:
        return (self.chunks, self.chunks)

    def coords(self) -> dict[str, np.ndarray]:
        """Pixel-centre coordinates ``{"y": ..., "x": ...}``."""
        t = self.transform
        x = t.c + t.a * (np.arange(self.width) + 0.5)
        y = t.f + t.e * (np.arange(self.height) + 0.5)
        return {"y": y, "x": x}

    # --- pixel area -----------------------------------------------------------------------
    def row_area(self) -> np.ndarray:
        """Area of one pixel in each row [m2], a 1-D vector of length ``height``.

        Equal-area CRS: ``|a * e|``, the same in every row (exact). Geographic CRS: the area of
        the ellipsoidal quadrangle between the row's edge latitudes, which depends on latitude
        only (Snyder 1987, *Map Projections: A Working Manual*, eq. 3-12 and 14-15):

            A = (b^2 * dlon / 2) * [q(lat2) - q(lat1)],
            q(phi) = sin(phi) / (1 - e^2 sin^2 phi) + ln((1 + e sin phi) / (1 - e sin phi)) / (2e)
        """
        crs = self.crs
        if crs.is_geographic:
            ell = crs.ellipsoid
            a, inv_f = ell.semi_major_metre, ell.inverse_flattening
            f = 1.0 / inv_f if inv_f else 0.0
            e2 = f * (2 - f)
            e = math.sqrt(e2)
            b2 = a * a * (1 - e2)
            edges = np.radians(self.transform.f + self.transform.e * np.arange(self.height + 1))
            s = np.sin(edges)
            q = s / (1 - e2 * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e)
            dlon = math.radians(self.transform.a)
            return np.abs(b2 * dlon / 2 * np.diff(q))
        if not _is_equal_area(crs):
            raise GridError(
                f"the analysis CRS '{crs.name}' is neither geographic nor equal-area, so pixel areas "
                "would vary across the map. Fix: use an equal-area CRS (default China Albers: "
                f"'{CHINA_ALBERS}') or EPSG:4326."
            )
        return np.full(self.height, abs(self.transform.a * self.transform.e))

    def pixel_area(self) -> xr.DataArray:
        """Lazy pixel area [m2] on the grid, dims (y, x): the row vector broadcast, nothing stored."""
        rows = da.from_array(self.row_area(), chunks=self.chunks)
        area = da.broadcast_to(rows[:, None], self.shape, chunks=self.dask_chunks)
        return xr.DataArray(area, dims=("y", "x"), coords=self.coords(),
                            attrs={"units": "m2", "long_name": "pixel area", "quantity_kind": "total"})

    def template(self, dtype="float32", fill=0) -> xr.DataArray:
        """A lazy constant raster on the grid (for tests and examples)."""
        import rioxarray  # noqa: F401 (registers the .rio accessor)

        arr = da.full(self.shape, fill, dtype=dtype, chunks=self.dask_chunks)
        out = xr.DataArray(arr, dims=("y", "x"), coords=self.coords())
        return out.rio.write_crs(self.crs_wkt).rio.write_transform(self.transform)


def _is_equal_area(crs: CRS) -> bool:
    method = (crs.coordinate_operation.method_name.lower() if crs.coordinate_operation else "")
    return "equal area" in method or "albers" in method or "mollweide" in method or "sinusoidal" in method

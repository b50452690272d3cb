"""Raster edges: open inputs lazily on the analysis grid, write maps chunk by chunk, then as COGs."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from ..errors import GridError, InputError
from ..grid import AnalysisGrid

#: Creation options of the staging GeoTIFF each map is first written to, chunk by chunk, before the
#: COG copy encodes it for good: ZSTD level 1 is cheap to encode and decode (about 7x faster than
#: DEFLATE with a predictor) and still halves the temporary disk use of an uncompressed stage.
STAGE_OPTIONS = {"compress": "ZSTD", "zstd_level": 1}
#: GDAL creation options of every output map (COG driver). DEFLATE with the floating-point
#: predictor: lossless, half the size of plain DEFLATE on smooth sink fields, and readable by every
#: GIS (ZSTD is faster but older QGIS/ArcGIS builds cannot open it). Compression runs on every core
#: (NUM_THREADS does not change the bytes written).
COG_OPTIONS = {"COMPRESS": "DEFLATE", "PREDICTOR": "YES", "BLOCKSIZE": "256",
               "OVERVIEWS": "AUTO", "RESAMPLING": "AVERAGE", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS"}


#: GDAL block cache [MB] during the pass over the grid. GDAL's default (5 % of RAM, 1.2 GB here)
#: fills with decoded input blocks and dirty staging tiles that are never needed again (every block
#: is read once, every tile written once): at 500 m over China it was most of the pass's 2 GB.
PASS_CACHE_MB = 256

#: GDAL block cache [MB] while a map is copied into a COG (GDAL's default, 5 % of RAM, grows with the
#: map up to that cap; the copy needs only a few strips of tiles).
COG_CACHE_MB = 256


def _square_tiles(src) -> tuple[int, int] | None:
    """The (rows, cols) of a raster's square internal tiles, or None (strips, or no bands)."""
    if not src.count:
        return None
    bh, bw = src.block_shapes[0]
    return (bh, bw) if bh == bw and bh > 1 else None


def raster_info(path: Path) -> dict:
    """Open a raster's header (no pixels) and return CRS, bounds, shape, nodata, dtype and tags.

    Raises
    ------
    InputError
        If the file cannot be opened as a raster or has no CRS.
    """
    try:
        with rasterio.open(path) as src:
            _check_complete(src, path)
            info = {"crs": src.crs, "bounds": tuple(src.bounds), "shape": (src.height, src.width),
                    "nodata": src.nodata, "dtype": src.dtypes[0], "count": src.count,
                    "tags": src.tags(1) if src.count else {}, "transform": src.transform,
                    "block": _square_tiles(src)}
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot be opened as a raster ({exc}). Fix: give a GeoTIFF or another "
                         "GDAL-readable raster") from None
    if info["crs"] is None:
        raise GridError(f"{path}: the raster has no CRS, so it cannot be placed on the analysis grid. "
                        "Fix: assign one, e.g. `gdal_edit.py -a_srs EPSG:4326 FILE`")
    return info


def _check_complete(src, path: Path) -> None:
    """Fail if a GeoTIFF's blocks reach past the end of the file (a truncated download or copy)."""
    if src.driver != "GTiff":
        return
    size = Path(path).stat().st_size
    (bh, bw), = set(src.block_shapes[:1])
    nby, nbx = -(-src.height // bh), -(-src.width // bw)
    if nby * nbx * src.count > 100_000:
        return
    end = 0
    for band in range(1, src.count + 1):
        for i in range(nby):
            for j in range(nbx):
                off = src.get_tag_item(f"BLOCK_OFFSET_{j}_{i}", "TIFF", bidx=band)
                n = src.get_tag_item(f"BLOCK_SIZE_{j}_{i}", "TIFF", bidx=band)
                if off and n:
                    end = max(end, int(off) + int(n))
    if end > size:
        raise InputError(f"{path}: the file is truncated ({size:,} bytes, but its pixel blocks reach byte {end:,}). "
                         "Fix: re-download or re-export it (check with `gdalinfo -checksum FILE`)")


def open_on_grid(path: Path, grid: AnalysisGrid, resampling: str, band: int = 1,
                 nodata: float | None = None) -> xr.DataArray:
    """Open band ``band`` of ``path`` lazily, warped by GDAL onto ``grid`` chunk by chunk.

    A raster already on the grid is read directly; any other is read through a ``WarpedVRT``. Each
    block is one task that reads its window (:func:`lazy_band`), so no full array is ever held in
    memory. Pixels the source does not cover are the source's nodata (NaN for floats without one);
    ``nodata`` overrides the file's.
    """
    info = raster_info(path)
    nodata = info["nodata"] if nodata is None else nodata
    if nodata is None and np.issubdtype(np.dtype(info["dtype"]), np.floating):
        nodata = np.nan
    with rasterio.open(path) as src:
        same = (_same_value(nodata, info["nodata"]) and src.crs == grid.crs
                and src.transform.almost_equals(grid.transform) and (src.height, src.width) == grid.shape)
        count = src.count
        dtype = src.dtypes[band - 1] if band <= count else None
    if band > count:
        raise InputError(f"{path}: band {band} requested but the raster has {count} band(s). "
                         f"Fix: set 'band' to 1..{count}")
    nodata_s = "None" if nodata is None else repr(float(nodata))  # hashable and equal to itself (NaN too)
    warp = None if same else (grid.crs_wkt, tuple(grid.transform)[:6], grid.width, grid.height, resampling,
                              nodata_s, nodata_s)
    data = lazy_band(path, band, grid, np.dtype(dtype), warp)
    out = xr.DataArray(data, dims=("y", "x"), coords=grid.coords())  # exact grid coordinates
    out.attrs.update({"source": str(path), "nodata": nodata})
    return out


#: Datasets each thread has open, keyed by (path, file state, warp): the tasks of a lazy raster
#: share one handle, and one ``WarpedVRT``, per thread instead of opening the file for every block.
_HANDLES = threading.local()
#: At most this many per thread (least recently used closed first): more than the rasters of a run.
MAX_HANDLES = 64
#: Every thread's cache, so that :func:`close_handles` can release them after a run.
_ALL_CACHES: list[OrderedDict] = []
_ALL_LOCK = threading.Lock()


def _handle(spec):
    cache = getattr(_HANDLES, "open", None)
    if cache is None:
        cache = _HANDLES.open = OrderedDict()
        with _ALL_LOCK:
            _ALL_CACHES.append(cache)
    ds = cache.get(spec)
    if ds is not None:
        cache.move_to_end(spec)
        return ds[0]
    path, _state, warp = spec
    src = rasterio.open(path)
    if warp is None:
        ds = (src, src)
    else:
        crs, transform, width, height, resampling, vrt_nodata, src_nodata = warp
        try:
            vrt = WarpedVRT(src, crs=crs, transform=rasterio.Affine(*transform), width=width, height=height,
                            resampling=Resampling[resampling],
                            nodata=float(vrt_nodata) if vrt_nodata != "None" else None,
                            src_nodata=float(src_nodata) if src_nodata != "None" else None)
        except BaseException:
            src.close()
            raise
        ds = (vrt, src)
    cache[spec] = ds
    while len(cache) > MAX_HANDLES:
        _, (a, b) = cache.popitem(last=False)
        a.close()
        b.close()
    return ds[0]


_PASSES = [0]  # passes over the grid running in this process (see :func:`reading`)


@contextlib.contextmanager
def reading():
    """Around a pass that reads lazy rasters: when the last pass of the process ends normally, the
    datasets every thread kept open are closed (the next read opens them again), so finished runs
    do not hold their files. After an error they stay open (an interrupted worker thread may still
    be reading one), at most ``MAX_HANDLES`` per thread."""
    with _ALL_LOCK:
        _PASSES[0] += 1
    ok = False
    try:
        yield
        ok = True
    finally:
        with _ALL_LOCK:
            _PASSES[0] -= 1
            last = _PASSES[0] == 0
            caches = list(_ALL_CACHES) if ok and last else []
        for cache in caches:
            while cache:
                _, (a, b) = cache.popitem()
                a.close()
                b.close()


def _read_window(spec, band: int, window: tuple[int, int, int, int]) -> np.ndarray:
    r0, r1, c0, c1 = window
    return _handle(spec).read(band, window=Window(c0, r0, c1 - c0, r1 - r0))


def lazy_band(path: Path, band: int, grid: AnalysisGrid, dtype, warp: tuple | None = None) -> da.Array:
    """Band ``band`` of ``path`` (through a ``WarpedVRT`` made from ``warp``, when given) as a dask
    array in the grid's chunks: one task per block, reading its window with rasterio.

    The file's size, modification and change times and inode are part of the task keys and of the
    handle cache's key, so a file rewritten between two runs of one process is read afresh, never
    from a stale handle (the change time cannot be set back by ``touch`` or ``cp -p``).
    """
    st = os.stat(path)
    spec = (str(path), (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino), warp)
    rows, cols = da.core.normalize_chunks(grid.dask_chunks, grid.shape)
    name = f"read-{Path(path).stem}-" + dask.base.tokenize(spec, band, rows, cols)
    r_edges, c_edges = np.cumsum((0,) + rows), np.cumsum((0,) + cols)
    graph = {(name, i, j): (_read_window, spec, band,
                            (int(r_edges[i]), int(r_edges[i + 1]), int(c_edges[j]), int(c_edges[j + 1])))
             for i in range(len(rows)) for j in range(len(cols))}
    return da.Array(graph, name, (rows, cols), dtype=np.dtype(dtype))


def _same_value(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (np.isnan(a) and np.isnan(b))


def to_cog(src_path: Path, dst_path: Path, description: str, categorical: bool = False) -> None:
    """Copy a tiled GeoTIFF into a Cloud-Optimised GeoTIFF with overviews (GDAL COG driver); a
    categorical raster (labels) gets nearest-neighbour overviews and no floating-point predictor."""
    with rasterio.open(src_path, "r+") as src:
        src.set_band_description(1, description)
    options = dict(COG_OPTIONS)
    if categorical:
        options.update(RESAMPLING="NEAREST", PREDICTOR="NO")
    with rasterio.Env(GDAL_CACHEMAX=COG_CACHE_MB):  # the copy streams: a small block cache keeps memory flat
        rasterio.shutil.copy(src_path, dst_path, driver="COG", **options)


def totals_to_density(path: Path, band: int, units: str, nodata: float | None, cache_dir: Path) -> Path:
    """A per-pixel total raster (e.g. Tg C per 1-degree cell per year) as a density GeoTIFF on its own
    grid [g C m-2 yr-1], written once into ``cache_dir`` and reused.

    Totals must be divided by their own pixel's area *before* any resampling (averaging totals onto
    another grid would be wrong), so this runs on the source grid, a strip of rows at a time: memory
    stays bounded whatever the raster's size. Pixel areas are geodesic per row for geographic
    rasters, constant for equal-area ones (:meth:`pipeline.grid.AnalysisGrid.row_area`).
    """
    import hashlib
    import os

    from ..grid import AnalysisGrid
    from ..units import DENSITY_UNITS, total_factor

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(f"{band}|{units}|{nodata}".encode())
    out = Path(cache_dir) / "densities" / f"{h.hexdigest()[:32]}.tif"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    factor = total_factor(units)
    with rasterio.open(path) as src:
        grid = AnalysisGrid(src.crs.to_wkt(), src.transform, (src.height, src.width))
        try:
            areas = grid.row_area()
        except GridError as exc:
            raise InputError(f"{path}: per-pixel totals need pixel areas, but {exc}") from None
        nd = src.nodata if nodata is None else nodata
        profile = {"driver": "GTiff", "height": src.height, "width": src.width, "count": 1, "dtype": "float32",
                   "crs": src.crs, "transform": src.transform, "nodata": np.nan, "tiled": True,
                   "blockxsize": 256, "blockysize": 256, "compress": "DEFLATE", "predictor": 3}
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        with rasterio.open(tmp, "w", **profile) as dst:
            for row in range(0, src.height, 256):
                win = rasterio.windows.Window(0, row, src.width, min(256, src.height - row))
                data = src.read(band, window=win).astype(np.float64)
                if nd is not None:
                    data[data == nd] = np.nan
                dens = data * factor / areas[row:row + win.height, None]
                dst.write(dens.astype("float32"), 1, window=win)
            dst.update_tags(1, units=DENSITY_UNITS, kind="density", sign="as the source",
                            derived_from=f"{path} band {band} [{units}] / pixel area")
        os.replace(tmp, out)
    return out


def open_stage(path: Path, grid: AnalysisGrid, dtype: str, nodata, tags: dict):
    """Open a staging GeoTIFF on ``grid`` for window-by-window writes (see ``STAGE_OPTIONS``).

    Its tiles divide the chunks (256 px, or the chunk size when that is not a multiple of 256 but is a
    multiple of 16, as TIFF tiles must be), so the pass's windows, which break at chunk edges, write
    whole tiles once."""
    c = grid.chunks
    tile = 256 if c % 256 == 0 or c % 16 else c
    ds = rasterio.open(path, "w", driver="GTiff", height=grid.height, width=grid.width, count=1, dtype=dtype,
                       crs=grid.crs_wkt, transform=grid.transform, nodata=nodata, tiled=True, blockxsize=tile,
                       blockysize=tile, **STAGE_OPTIONS)
    ds.update_tags(**{k: str(v) for k, v in tags.items()})
    return ds


def write_rows(ds, rows: np.ndarray, row0: int, col0: int = 0) -> None:
    """Write a window of pixels whose top-left corner is (``row0``, ``col0``)."""
    ds.write(rows.astype(ds.dtypes[0], copy=False), 1,
             window=rasterio.windows.Window(col0, row0, rows.shape[1], rows.shape[0]))

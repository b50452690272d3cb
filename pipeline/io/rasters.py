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


def first_infinite(path: Path, band: int = 1) -> str:
    """Where the raster's first +-inf pixel is, in words (``''`` if none is found), read block by block:
    for error messages only."""
    with rasterio.open(path) as src:
        if not np.issubdtype(np.dtype(src.dtypes[band - 1]), np.floating):
            return ""
        for _, window in src.block_windows(band):
            rows, cols = np.nonzero(np.isinf(src.read(band, window=window)))
            if rows.size:
                r, c = int(rows[0] + window.row_off), int(cols[0] + window.col_off)
                x, y = src.xy(r, c)
                return f"; the first is at row {r}, column {c} of the file (x = {x:.6g}, y = {y:.6g} in its CRS)"
    return ""


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


def to_cog(src_path: Path, dst_path: Path, description: str, categorical: bool = False,
           overviews: list[Path] | None = None) -> None:
    """Copy a tiled GeoTIFF into a Cloud-Optimised GeoTIFF with overviews (GDAL COG driver); a
    categorical raster (labels) gets nearest-neighbour overviews and no floating-point predictor.

    ``overviews``: GeoTIFFs holding the overview levels already made (largest first, see
    :mod:`pipeline.overviews`); the COG driver then copies them instead of computing its own. They
    reach it as the overviews of a VRT over ``src_path``, next to it, removed afterwards."""
    options = dict(COG_OPTIONS)
    if categorical:
        options.update(RESAMPLING="NEAREST", PREDICTOR="NO")
    if overviews:
        source = Path(src_path).with_suffix(".vrt")
        source.write_text(_vrt_with_overviews(Path(src_path), description, overviews), encoding="utf-8")
    else:
        with rasterio.open(src_path, "r+") as src:
            src.set_band_description(1, description)
        source = src_path
    try:
        with rasterio.Env(GDAL_CACHEMAX=COG_CACHE_MB):  # the copy streams: a small block cache keeps memory flat
            rasterio.shutil.copy(source, dst_path, driver="COG", **options)
    finally:
        if source != src_path:
            Path(source).unlink(missing_ok=True)


#: GDAL's names of the numpy types a map can have.
_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32", "uint64": "UInt64", "int64": "Int64", "float32": "Float32", "float64": "Float64"}


def _vrt_with_overviews(path: Path, description: str, overviews: list[Path]) -> str:
    """A VRT of band 1 of ``path`` (its CRS, transform, nodata, tags) whose overviews are the
    files ``overviews``, with the band description ``description``."""
    from xml.etree import ElementTree as ET

    with rasterio.open(path) as src:
        root = ET.Element("VRTDataset", rasterXSize=str(src.width), rasterYSize=str(src.height))
        ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="1,2").text = src.crs.to_wkt(version="WKT2_2019")
        ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in src.transform.to_gdal())
        meta = ET.SubElement(root, "Metadata")
        for k, v in src.tags().items():
            ET.SubElement(meta, "MDI", key=k).text = v
        (bh, bw), dtype, nodata = src.block_shapes[0], src.dtypes[0], src.nodata
    band = ET.SubElement(root, "VRTRasterBand", dataType=_GDAL_TYPES[dtype], band="1", blockXSize=str(bw),
                         blockYSize=str(bh))
    if nodata is not None:
        ET.SubElement(band, "NoDataValue").text = "nan" if np.isnan(nodata) else repr(nodata)
    ET.SubElement(band, "Description").text = description
    source = ET.SubElement(band, "SimpleSource")
    ET.SubElement(source, "SourceFilename", relativeToVRT="1").text = path.name
    ET.SubElement(source, "SourceBand").text = "1"
    for ov in overviews:
        el = ET.SubElement(band, "Overview")
        ET.SubElement(el, "SourceFilename", relativeToVRT="1").text = Path(ov).name
        ET.SubElement(el, "SourceBand").text = "1"
    return ET.tostring(root, encoding="unicode")


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


#: Largest strip of a staged map [bytes, as float64] read back to make its overview levels after the
#: pass (see :class:`StagedMap`); a map whose aligned strips are larger gets GDAL's own levels.
FROM_STAGE_MAX_BYTES = 512 * 2**20


class StagedMap:
    """A map written window by window during the pass (:func:`open_stage`), with its overview
    levels (:mod:`pipeline.overviews`) staged in files of their own, then copied into a COG by
    :meth:`to_cog` (the COG driver copies the levels instead of computing its own).

    The levels are made in the pass, from the windows it writes, when every window's corner falls
    on a multiple of the coarsest level's factor (the pass's windows start on chunk edges: ``chunks``
    divisible by 2**levels). Otherwise :meth:`to_cog` makes them from the staged map, read back in
    aligned strips. The levels do not depend on the windows either way (each footprint lies inside
    one aligned window), so the COG is byte-identical whatever the chunk size. Exception: when such a
    strip (2**levels rows) would exceed ``FROM_STAGE_MAX_BYTES`` (maps of more than 131,072 px on a
    side, with chunks not divisible by 1024), GDAL's COG driver makes the levels (its averages of
    averages) and the COG then depends on whether the chunks are aligned."""

    def __init__(self, path: Path, grid: AnalysisGrid, dtype: str, nodata, tags: dict, categorical: bool = False):
        from ..overviews import overview_shapes

        self.path, self.grid, self.dtype, self.nodata = Path(path), grid, dtype, nodata
        self.categorical = categorical
        self.shapes = overview_shapes(grid.shape)
        f = 1 << len(self.shapes)
        self.in_pass = bool(self.shapes) and grid.chunks % f == 0
        if self.shapes and not self.in_pass and f * grid.width * 8 > FROM_STAGE_MAX_BYTES:
            self.shapes = []  # aligned strips of the staged map would be too large: GDAL makes the levels
        self.ds = open_stage(self.path, grid, dtype, nodata, tags)
        self.levels: list = []
        if self.in_pass:
            try:
                self.levels = self._open_levels(grid.chunks)
            except BaseException:
                self.close()
                raise

    def level_path(self, k: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.ov{k}.tif")

    def _open_levels(self, window: int) -> list:
        """The level files, tiled so that windows of ``window`` base pixels write whole tiles."""
        out = []
        try:
            for k, (h, w) in enumerate(self.shapes, 1):
                c = window >> k
                tiles = {"tiled": True, "blockxsize": min(256, c), "blockysize": min(256, c)} if c % 16 == 0 else {}
                out.append(rasterio.open(
                    self.level_path(k), "w", driver="GTiff", height=h, width=w, count=1, dtype=self.dtype,
                    crs=self.grid.crs_wkt, transform=self.grid.transform * rasterio.Affine.scale(1 << k),
                    nodata=self.nodata, **tiles, **STAGE_OPTIONS))
        except BaseException:
            for ds in out:
                ds.close()
            raise
        return out

    def write(self, rows: np.ndarray, row0: int, col0: int = 0) -> None:
        """Write a window whose top-left corner is (``row0``, ``col0``), and its part of every level."""
        write_rows(self.ds, rows, row0, col0)
        if self.levels:
            self._write_levels(self.levels, rows, row0, col0)

    def _write_levels(self, levels: list, rows: np.ndarray, row0: int, col0: int) -> None:
        from ..overviews import average_levels, nearest_levels

        n = len(levels)
        if (row0 | col0) % (1 << n):
            raise ValueError(f"window corner ({row0}, {col0}) is not a multiple of {1 << n}: overview levels "
                             "cannot be made window by window")
        parts = nearest_levels(rows, n) if self.categorical else average_levels(rows, n)
        for k, (ds, part) in enumerate(zip(levels, parts), 1):
            write_rows(ds, part, row0 >> k, col0 >> k)

    def close(self) -> None:
        for ds in [self.ds, *self.levels]:
            ds.close()

    def _levels_from_stage(self) -> None:
        """Make the level files from the closed stage, a strip of rows at a time (aligned)."""
        f = 1 << len(self.shapes)
        step = max(f, 512 // f * f)
        levels = self._open_levels(step)
        try:
            with rasterio.open(self.path) as src:
                for r0 in range(0, src.height, step):
                    win = Window(0, r0, src.width, min(step, src.height - r0))
                    self._write_levels(levels, src.read(1, window=win), r0, 0)
        finally:
            for ds in levels:
                ds.close()

    def to_cog(self, dst_path: Path, description: str) -> None:
        """The COG of the staged map and its levels; the staging files are removed."""
        if self.shapes and not self.in_pass:
            self._levels_from_stage()
        levels = [self.level_path(k) for k in range(1, len(self.shapes) + 1)]
        to_cog(self.path, dst_path, description, self.categorical, levels)
        for p in [self.path, *levels]:
            p.unlink()


def write_rows(ds, rows: np.ndarray, row0: int, col0: int = 0) -> None:
    """Write a window of pixels whose top-left corner is (``row0``, ``col0``)."""
    ds.write(rows.astype(ds.dtypes[0], copy=False), 1,
             window=rasterio.windows.Window(col0, row0, rows.shape[1], rows.shape[0]))

"""On-disk cache of region labels: ``<cache_dir>/labels-<key>/`` with ``whole.tif`` (int16 when the
regions fit, else int32; tiled, written strip by strip, read lazily) and ``shared.npz`` (the
shared-pixel entries)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import dask.array as da
import numpy as np
import rasterio
import rioxarray

from ..grid import AnalysisGrid


def _dir(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"labels-{key}"


def _open_whole(path: Path, grid: AnalysisGrid) -> da.Array:
    arr = rioxarray.open_rasterio(path, chunks={"band": 1, "y": grid.chunks, "x": grid.chunks}, lock=False)
    return arr.data[0]


def read(cache_dir: Path, key: str, grid: AnalysisGrid):
    """The cached labels for ``key``, or None when absent or incomplete."""
    d = _dir(cache_dir, key)
    if not (d / "meta.json").exists():
        return None
    with np.load(d / "shared.npz") as z:
        cell, region, fraction = z["cell"], z["region"], z["fraction"]
    meta = json.loads((d / "meta.json").read_text())
    return _open_whole(d / "whole.tif", grid), cell, region, fraction, meta


class Writer:
    """Write labels strip by strip into a temporary folder, then move it into the cache atomically.

    A half-written cache entry is never visible: readers look for ``meta.json``, written last.
    """

    def __init__(self, cache_dir: Path, key: str, grid: AnalysisGrid, n_regions: int = 0):
        self.grid, self.key = grid, key
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".labels-{key[:12]}-", dir=self.cache_dir))
        block = min(512, max(16, (min(grid.shape) // 16) * 16))
        # the smallest type that holds the region indices: half the bytes to decode on every read
        self.dtype = "int16" if n_regions < 2**15 - 1 else "int32"
        self.dst = rasterio.open(
            self.tmp / "whole.tif", "w", driver="GTiff", height=grid.height, width=grid.width, count=1,
            dtype=self.dtype, crs=grid.crs_wkt, transform=grid.transform, tiled=True, blockxsize=block,
            blockysize=block, compress="DEFLATE")

    def abort(self) -> None:
        self.dst.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_strip(self, whole: np.ndarray, row0: int) -> None:
        window = rasterio.windows.Window(0, row0, whole.shape[1], whole.shape[0])
        self.dst.write(whole.astype(self.dtype, copy=False), 1, window=window)

    def finish(self, cell, region, fraction, meta: dict):
        self.dst.close()
        np.savez(self.tmp / "shared.npz", cell=cell, region=region, fraction=fraction)
        (self.tmp / "meta.json").write_text(json.dumps(meta))
        final = _dir(self.cache_dir, self.key)
        if final.exists():  # another run built it meanwhile: keep theirs
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            os.replace(self.tmp, final)
        return _open_whole(final / "whole.tif", self.grid), cell, region, fraction, meta

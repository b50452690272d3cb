"""On-disk cache of region labels: ``<cache_dir>/labels-<key>/`` with ``whole.tif`` (int8, int16 or
int32, the smallest that holds the region indices; tiled, written strip by strip, read lazily) and
``shared.npz`` (the shared-pixel entries, and the smallest and largest label of each tile).

A dask block whose tiles all hold one and the same label (a block inside one region, or outside
every region: most blocks of a large grid) is not read from ``whole.tif``: it is that constant, as a
read-only broadcast array (see :func:`is_constant`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
from dask.highlevelgraph import HighLevelGraph

from ..grid import AnalysisGrid
from .rasters import lazy_band


def _dir(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"labels-{key}"


#: In a build's temporary folder: the host and process building it, locked (``flock``) by the
#: build while it runs.
OWNER = "owner.json"
#: A temporary build folder this old [s], not locked, is abandoned whatever its owner file says
#: (a build of another host sharing the cache, or of an older version without an owner file).
ABANDONED_S = 86_400


def _locked_by_someone(path: Path) -> bool:
    """True if another open file holds an ``flock`` on ``path`` (a build still running), or if
    that cannot be known (no such file system support): never treat a live build as dead."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the host, pid and age decide
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # locks not supported here
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_orphaned_builds(cache_dir: Path) -> list[Path]:
    """Remove the temporary folders of label builds that were killed outright. A folder goes only
    when no running build holds the lock on its owner file and either its owner was a process of
    this host that is gone, or it is older than ``ABANDONED_S``; builds running elsewhere (another
    container or host sharing the cache) keep their lock, so they are never removed. Returns the
    folders removed."""
    from .rundir import _pid_alive

    host, removed = socket.gethostname(), []
    for d in Path(cache_dir).glob(".labels-*"):
        owner_file = d / OWNER
        if _locked_by_someone(owner_file):
            continue
        try:
            old = time.time() - d.stat().st_mtime > ABANDONED_S
        except OSError:  # removed meanwhile
            continue
        try:
            owner = json.loads(owner_file.read_text())
            gone = owner.get("host") == host and not _pid_alive(int(owner["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            gone = False
        if gone or old:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


#: Marks a dask block of mixed labels in :func:`block_constants`.
MIXED = np.iinfo(np.int64).min


def block_constants(grid: AnalysisGrid, tile: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Label of each dask block of ``grid`` whose tiles (``tile`` px square, smallest and largest
    label ``lo``, ``hi``) all hold that one label, else ``MIXED``; shape (blocks y, blocks x)."""
    c = grid.chunks
    ny, nx = grid.shape
    nby, nbx = -(-ny // c), -(-nx // c)
    out = np.full((nby, nbx), MIXED, dtype=np.int64)
    if lo.size == 0:
        return out
    for bi in range(nby):
        t0, t1 = (bi * c) // tile, (min((bi + 1) * c, ny) - 1) // tile + 1
        for bj in range(nbx):
            s0, s1 = (bj * c) // tile, (min((bj + 1) * c, nx) - 1) // tile + 1
            a, b = lo[t0:t1, s0:s1], hi[t0:t1, s0:s1]
            if a.min() == b.max():
                out[bi, bj] = a.min()
    return out


def is_constant(block: np.ndarray) -> bool:
    """True for a label block made by :func:`_open_whole` from the tile summary (one label, not read)."""
    return block.ndim == 2 and block.size > 0 and block.strides == (0, 0)


def _open_whole(path: Path, grid: AnalysisGrid, tile: int | None = None, lo=None, hi=None) -> da.Array:
    """``whole.tif`` as a lazy array in the grid's chunks; a block of one label is that constant (a
    read-only broadcast array), not read: dask culls its read task."""
    with rasterio.open(path) as ds:
        dtype = ds.dtypes[0]
    tiff = lazy_band(path, 1, grid, dtype)
    if tile is None:
        return tiff
    const = block_constants(grid, tile, lo, hi)
    rows, cols = tiff.chunks
    name = "region-labels-" + dask.base.tokenize(tiff.name, const)
    layer = {}
    for i, h in enumerate(rows):
        for j, w in enumerate(cols):
            v = const[i, j]
            layer[(name, i, j)] = ((tiff.name, i, j) if v == MIXED
                                   else (np.broadcast_to, np.asarray(v, dtype=tiff.dtype), (h, w)))
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[tiff])
    return da.Array(graph, name, tiff.chunks, dtype=tiff.dtype)


def read(cache_dir: Path, key: str, grid: AnalysisGrid):
    """The cached labels for ``key``, or None when absent or incomplete."""
    d = _dir(cache_dir, key)
    if not (d / "meta.json").exists():
        return None
    with np.load(d / "shared.npz") as z:
        cell, region, fraction = z["cell"], z["region"], z["fraction"]
        lo, hi = (z["tile_lo"], z["tile_hi"]) if "tile_lo" in z else (None, None)
    meta = json.loads((d / "meta.json").read_text())
    tile = meta.get("tile") if lo is not None else None
    return _open_whole(d / "whole.tif", grid, tile, lo, hi), cell, region, fraction, meta


def _hold_owner_file(path: Path) -> int:
    """Write the owner file (host, pid) and hold an ``flock`` on it until the returned descriptor is
    closed (:func:`remove_orphaned_builds` leaves locked folders alone)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ImportError, OSError):  # no lock support: the host and pid, and the age, still tell
        pass
    os.write(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid()}).encode())
    return fd


def label_dtype(n_regions: int) -> str:
    """The smallest integer type that holds the labels of ``n_regions`` (indices 0..n_regions) and -1:
    fewer bytes to decode, and to send from a label worker."""
    return "int8" if n_regions < 2**7 - 1 else ("int16" if n_regions < 2**15 - 1 else "int32")


class Writer:
    """Write labels strip by strip into a temporary folder, then move it into the cache atomically.

    A half-written cache entry is never visible: readers look for ``meta.json``, written last.
    """

    def __init__(self, cache_dir: Path, key: str, grid: AnalysisGrid, n_regions: int = 0):
        self.grid, self.key = grid, key
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        remove_orphaned_builds(self.cache_dir)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".labels-{key[:12]}-", dir=self.cache_dir))
        self._owner = _hold_owner_file(self.tmp / OWNER)
        block = min(512, max(16, (min(grid.shape) // 16) * 16))
        self.tile = block
        self.dtype = label_dtype(n_regions)
        tiles = (-(-grid.height // block), -(-grid.width // block))
        self.lo = np.full(tiles, np.iinfo(np.int64).max, dtype=np.int64)  # smallest label of each tile
        self.hi = np.full(tiles, np.iinfo(np.int64).min, dtype=np.int64)  # and its largest
        self.dst = rasterio.open(
            self.tmp / "whole.tif", "w", driver="GTiff", height=grid.height, width=grid.width, count=1,
            dtype=self.dtype, crs=grid.crs_wkt, transform=grid.transform, tiled=True, blockxsize=block,
            blockysize=block, compress="DEFLATE")

    def abort(self) -> None:
        self.dst.close()
        os.close(self._owner)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_strip(self, whole: np.ndarray, row0: int) -> None:
        window = rasterio.windows.Window(0, row0, whole.shape[1], whole.shape[0])
        self.dst.write(whole.astype(self.dtype, copy=False), 1, window=window)
        t, edges = self.tile, np.arange(0, whole.shape[1], self.tile)
        for ti in range(row0 // t, (row0 + whole.shape[0] - 1) // t + 1):  # the tile rows this strip touches
            part = whole[max(ti * t - row0, 0):min((ti + 1) * t - row0, whole.shape[0])]
            self.lo[ti] = np.minimum(self.lo[ti], np.minimum.reduceat(part.min(axis=0), edges))
            self.hi[ti] = np.maximum(self.hi[ti], np.maximum.reduceat(part.max(axis=0), edges))

    def finish(self, cell, region, fraction, meta: dict):
        self.dst.close()
        np.savez(self.tmp / "shared.npz", cell=cell, region=region, fraction=fraction, tile_lo=self.lo,
                 tile_hi=self.hi)
        meta = dict(meta, tile=self.tile)
        os.close(self._owner)
        (self.tmp / OWNER).unlink()
        (self.tmp / "meta.json").write_text(json.dumps(meta))
        final = _dir(self.cache_dir, self.key)
        if final.exists():  # another run built it meanwhile: keep theirs
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            os.replace(self.tmp, final)
        return _open_whole(final / "whole.tif", self.grid, self.tile, self.lo, self.hi), cell, region, fraction, meta

"""Region labels on the analysis grid: which region each pixel belongs to, border pixels shared
by their exactly covered fraction (exactextract), built strip by strip and cached on disk.

A pixel inside one region only is stored in the integer raster ``whole`` (its region index; the
last index is *unallocated*, -1 marks shared pixels). Shared pixels are listed with one entry per
(region, fraction), the fractions of a pixel adding up to 1 (any remainder goes to
*unallocated*). Built once per (grid, polygons); a second run reads the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from .errors import GridError, InputError
from .grid import AnalysisGrid
from .io import label_cache

UNALLOCATED = "unallocated"
#: Coverage this close to 1 counts as whole (exactextract's interior cells are exactly 1).
_WHOLE = 1.0 - 1e-12
#: Bump when the label format or algorithm changes, so old caches are not reused.
LABELS_VERSION = "6"
#: Pixels labelled per exactextract call, about (bounds the memory of the build: exactextract's cell
#: lists and their sorting take about 100 bytes per pixel, 0.4 GB per strip), in whole rows ...
STRIP_PIXELS = 4 * 2**20
#: ... but at most this many rows.
STRIP_ROWS = 1024


def strip_rows(width: int) -> int:
    """Rows per exactextract call on a grid ``width`` pixels wide."""
    return int(max(1, min(STRIP_ROWS, STRIP_PIXELS // max(width, 1))))
#: Overlaps smaller than this fraction of the smaller polygon are numerical slivers, not errors.
SLIVER = 1e-6


@dataclass(frozen=True)
class RegionLabels:
    """Labels of one set of regions on one grid (see the module docstring)."""

    region_ids: tuple[str, ...]  # the last is UNALLOCATED
    whole: da.Array  # int16 or int32 (y, x), lazily read from the cache
    cell: np.ndarray  # flat pixel index of each shared-pixel entry, sorted
    region: np.ndarray  # region index of each entry
    fraction: np.ndarray  # covered fraction of each entry
    info: dict  # cache key, hit or miss, build time, shared pixel count, overlaps

    def shared_by_block(self, grid: AnalysisGrid) -> dict[tuple[int, int], tuple[np.ndarray, ...]]:
        """Shared-pixel entries grouped by dask block: (local row, local col, region, fraction)."""
        rows, cols = np.divmod(self.cell, grid.width)
        c = grid.chunks
        key = (rows // c) * ((grid.width + c - 1) // c) + cols // c
        order = np.argsort(key, kind="stable")
        key, rows, cols = key[order], rows[order], cols[order]
        reg, frac = self.region[order], self.fraction[order]
        uniq, start = np.unique(key, return_index=True)
        stop = np.append(start[1:], key.size)
        nbx = (grid.width + c - 1) // c
        out = {}
        for k, a, b in zip(uniq, start, stop):
            bi, bj = divmod(int(k), nbx)
            out[(bi, bj)] = (rows[a:b] - bi * c, cols[a:b] - bj * c, reg[a:b], frac[a:b])
        return out


def majority_labels(labels: "RegionLabels", grid: AnalysisGrid, values: np.ndarray) -> da.Array:
    """Lazy int32 raster of the region covering most of each pixel, as ``values[region index]`` (0 for
    *unallocated*): whole pixels from the label raster, shared pixels by their largest fraction (the
    uncovered remainder counts for *unallocated*)."""
    shared = labels.shared_by_block(grid)
    n = len(labels.region_ids)
    lut = np.append(np.asarray(values, dtype=np.int64), 0)  # index -1 (shared, resolved below) -> 0

    def block(whole: np.ndarray, block_info=None) -> np.ndarray:
        (r0, _), (c0, _) = block_info[0]["array-location"]
        out = lut[np.where(whole >= 0, whole, n)].astype(np.int32)
        entries = shared.get((r0 // grid.chunks, c0 // grid.chunks))
        if entries is not None:
            lr, lc, reg, frac = entries
            flat = lr.astype(np.int64) * whole.shape[1] + lc
            order = np.lexsort((frac, flat))  # by pixel, then fraction: the last of each pixel is its largest
            flat, reg, frac = flat[order], reg[order], frac[order]
            last = np.append(np.nonzero(np.diff(flat))[0], flat.size - 1)
            group = np.cumsum(np.r_[0, np.diff(flat) != 0])
            rest = 1.0 - np.bincount(group, weights=frac)  # the part no region covers
            pick = np.where(rest > frac[last], n - 1, reg[last])
            out.ravel()[flat[last]] = lut[pick]
        return out

    return labels.whole.rechunk(grid.dask_chunks).map_blocks(block, dtype=np.int32)


def polygonal(geom):
    """The polygons of a geometry (dropping the lines and points ``make_valid`` may leave)."""
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]  # Polygon, MultiPolygon
    return shapely.union_all(parts) if len(parts) else shapely.Polygon()


def resolve_overlaps(polys: gpd.GeoDataFrame, rule: str | None, what: str = "regions") -> tuple[gpd.GeoDataFrame, list]:
    """Detect overlapping polygons (in their equal-area CRS) and apply ``rule``.

    ``rule=None``: overlaps larger than a sliver are an error listing the pairs and areas.
    ``"first"``: an overlap belongs to the earlier polygon in file order. ``"largest"``: to the
    polygon of the largest original area (ties: the earlier one), so that with three or more
    overlapping polygons the result does not depend on the order of the pairs. Returns the
    polygons (overlaps removed when a rule applies) and the overlaps found as (id_a, id_b, km2).
    """
    # polygons valid in their own CRS can self-touch once projected (a coast and an offshore zone a
    # hair apart): repair them here, keeping the polygonal parts, before any overlay
    geoms = [g if shapely.is_valid(g) else polygonal(shapely.make_valid(g)) for g in polys.geometry.values]
    polys = polys.copy()
    polys["geometry"] = geoms
    ids = list(polys["region_id"])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    found = []
    for i, j in zip(left, right):
        if i >= j:
            continue
        inter = shapely.intersection(geoms[i], geoms[j]).area
        if inter > SLIVER * min(geoms[i].area, geoms[j].area):
            found.append((ids[i], ids[j], inter / 1e6, i, j))
    if not found:
        return polys, []
    if rule is None:
        pairs = "; ".join(f"{a} & {b}: {km2:,.3f} km2" for a, b, km2, *_ in found)
        raise InputError(f"{what}: {len(found)} overlapping pair(s): {pairs}. Fix: correct the polygons, or set "
                         "'overlap: first' (earlier feature wins) or 'overlap: largest' in the regions config")
    # rank every polygon once, on its *original* area (comparing areas already cut by earlier pairs
    # would make the result depend on the order of the pairs once three or more overlap); ties go to
    # the earlier feature. Each overlap then ends in the highest-ranked polygon holding it: a polygon
    # loses what every higher-ranked polygon it overlaps holds, whatever the order of the pairs.
    area = [g.area for g in geoms]
    out = list(geoms)
    for _, _, _, i, j in found:
        keep, cut = (i, j) if rule == "first" or area[i] >= area[j] else (j, i)
        out[cut] = shapely.difference(out[cut], out[keep])
    polys = polys.copy()
    polys["geometry"] = out
    return polys, [(a, b, km2) for a, b, km2, *_ in found]


def resolve_overlaps_cached(polys: gpd.GeoDataFrame, rule: str | None, what: str,
                            cache_dir: Path | None) -> tuple[gpd.GeoDataFrame, list]:
    """:func:`resolve_overlaps`, its result kept in ``cache_dir`` (``overlaps-<key>.npz``, keyed by the
    polygons, their CRS and the rule) so that a run on cached labels does not overlay the polygons
    again. Errors (overlaps without a rule) are never cached; an unwritable cache only costs time."""
    if cache_dir is None:
        return resolve_overlaps(polys, rule, what)
    h = hashlib.sha256(f"overlaps {LABELS_VERSION} {rule}".encode())
    h.update(polys.crs.to_wkt().encode() if polys.crs is not None else b"")
    for rid, geom in zip(polys["region_id"], polys.geometry.values):
        wkb = shapely.to_wkb(geom, hex=False, output_dimension=2) if geom is not None else b"null"
        h.update(str(rid).encode() + b"\0" + wkb)
    path = Path(cache_dir) / f"overlaps-{h.hexdigest()[:16]}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            blob, ends, found = z["wkb"].tobytes(), z["ends"], json.loads(str(z["overlaps"]))
        starts = np.concatenate([[0], ends[:-1]])
        out = polys.copy()
        out["geometry"] = shapely.from_wkb([blob[a:b] for a, b in zip(starts, ends)])
        return out, [tuple(f) for f in found]
    except Exception:  # absent, truncated or corrupt (e.g. a crash while writing): computed again
        pass
    out, found = resolve_overlaps(polys, rule, what)
    wkb = [shapely.to_wkb(g, hex=False) for g in out.geometry.values]
    tmp = None
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=f".{path.stem}-", dir=cache_dir)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, wkb=np.frombuffer(b"".join(wkb), dtype=np.uint8), ends=np.cumsum([len(w) for w in wkb]),
                     overlaps=np.array(json.dumps([list(pair) for pair in found])))
        os.replace(tmp, path)
    except OSError:  # an unwritable cache only costs time
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return out, found


def cache_key(polys: gpd.GeoDataFrame, grid: AnalysisGrid) -> str:
    """SHA-256 of the grid (CRS, transform, shape) and the polygons (ids and WKB): the cache key."""
    h = hashlib.sha256(LABELS_VERSION.encode())
    h.update(grid.crs_wkt.encode())
    h.update(np.asarray(tuple(grid.transform)[:6] + grid.shape, dtype=np.float64).tobytes())
    for rid, geom in zip(polys["region_id"], polys.geometry.values):
        h.update(str(rid).encode() + b"\0" + shapely.to_wkb(geom, hex=False, output_dimension=2))
    return h.hexdigest()


def region_labels(polys: gpd.GeoDataFrame, grid: AnalysisGrid, cache_dir: Path) -> RegionLabels:
    """Labels of ``polys`` (a GeoDataFrame with ``region_id``, in any CRS) on ``grid``, cached.

    Raises
    ------
    GridError
        If no polygon touches the grid.
    """
    polys = polys.to_crs(grid.crs)
    key = cache_key(polys, grid)
    ids = tuple(polys["region_id"].astype(str)) + (UNALLOCATED,)
    t0 = time.perf_counter()
    cached = label_cache.read(cache_dir, key, grid)
    hit = cached is not None
    if cached is None:
        cached = _build(polys, grid, cache_dir, key)
    whole, cell, region, fraction, meta = cached
    info = {"cache_key": key[:16], "cache_hit": hit, "seconds": time.perf_counter() - t0,
            "shared_px": _distinct_sorted(cell), "overlap_px": meta.get("overlap_px", 0.0)}
    if meta.get("covered_px", 1) == 0:
        raise GridError(f"no region overlaps the analysis grid (bounds {grid.bounds}). Fix: check the regions "
                        "file's CRS and grid.bounds")
    return RegionLabels(ids, whole, cell, region, fraction, info)


def _distinct_sorted(values: np.ndarray) -> int:
    """How many distinct values a sorted array holds."""
    return int(values.size and np.count_nonzero(values[1:] != values[:-1]) + 1)


def _build(polys: gpd.GeoDataFrame, grid: AnalysisGrid, cache_dir: Path, key: str):
    n = len(polys)
    writer = label_cache.Writer(cache_dir, key, grid, n + 1)
    try:
        strips = _label_strips(polys, grid, writer)
    except BaseException:
        writer.abort()
        raise
    cells, regs, fracs, overlap_px, covered = strips
    cell = np.concatenate(cells) if cells else np.empty(0, np.int64)
    region = np.concatenate(regs) if regs else np.empty(0, np.int32)
    fraction = np.concatenate(fracs) if fracs else np.empty(0)
    meta = {"overlap_px": overlap_px, "covered_px": covered, "n_regions": n}
    return writer.finish(cell, region, fraction, meta)


#: Label workers at most, unless ``CARBON_SINK_LABEL_PROCESSES`` asks for more (each holds one
#: strip of exactextract's cell lists, about 0.5 GB at ``STRIP_PIXELS``).
MAX_LABEL_PROCESSES = 8


def label_processes(n_strips: int) -> int:
    """Processes that label the strips: exactextract holds the GIL, so threads would run them one at
    a time. Forked workers (Linux) share the polygons without copying them; elsewhere, or for a
    single strip, or when this process already runs other threads (forking it could leave a child
    waiting on a lock one of them held), the strips are labelled in this process. One per CPU this
    process may use, at most ``MAX_LABEL_PROCESSES``; ``CARBON_SINK_LABEL_PROCESSES`` sets the cap
    (1 = no workers).

    Raises
    ------
    InputError
        If ``CARBON_SINK_LABEL_PROCESSES`` is not a whole number of at least 1.
    """
    import multiprocessing
    import sys
    import threading

    raw = os.environ.get("CARBON_SINK_LABEL_PROCESSES", "").strip()
    try:
        cap = int(raw) if raw else MAX_LABEL_PROCESSES
        if cap < 1:
            raise ValueError
    except ValueError:
        raise InputError(f"CARBON_SINK_LABEL_PROCESSES={raw!r} is not a whole number of at least 1. Fix: set it to "
                         "1 (no worker processes), 2, ... or unset it") from None
    if (not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods()
            or threading.active_count() > 1):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cap, cpus, n_strips))


def _die_with_parent(parent: int) -> None:
    """In a label worker: end when the run's process ends, even when it is killed outright (a
    worker waiting for strips would otherwise live on, holding its copy of the polygons)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent ended before the call above
        os._exit(1)


#: What forked label workers read (set just before the pool forks them): polygons, tree, grid.
_FORK_STATE: list = []


def _label_strip(polys, tree, grid, r0: int, r1: int):
    """Label rows ``r0:r1``: the strip's ``whole`` labels and its shared-pixel entries (grid cell ids)."""
    n = len(polys)
    nx = grid.shape[1]
    x0, _, x1, y_top = grid.bounds
    res_y = grid.resolution[1]
    top, bottom = y_top - r0 * res_y, y_top - r1 * res_y
    whole = np.full((r1 - r0, nx), n, dtype=label_cache.label_dtype(n + 1))  # as the cache stores it
    hits = np.sort(tree.query(shapely.box(x0, bottom, x1, top), predicate="intersects"))
    if not hits.size:
        return whole, None
    src = NumPyRasterSource(np.zeros((r1 - r0, nx), dtype=np.uint8), xmin=x0, ymin=bottom, xmax=x1, ymax=top,
                            srs_wkt=grid.crs_wkt)
    cov = exact_extract(src, _clipped(polys.iloc[hits][["geometry"]], x0, bottom, x1, top, grid.resolution),
                        ["cell_id", "coverage"], output="pandas")
    c, f, r, ov, cv = _strip_entries(cov, hits, whole, n)
    return whole, (c + r0 * nx, r, f, ov, cv)


def _clipped(polys: gpd.GeoDataFrame, x0: float, y0: float, x1: float, y1: float, res) -> gpd.GeoDataFrame:
    """The polygons cut to the strip's extent widened by a pixel on each side: exactextract then walks
    only the strip's part of every ring (a third less time at 1 km), and the cuts lie outside the
    strip's pixels. The fractions stay exact; exactextract's float32 coverage can differ in its last
    bit (at most 1.2e-7 of a pixel). A polygon GEOS cannot cut (invalid) is passed whole."""
    box = shapely.box(x0 - res[0], y0 - res[1], x1 + res[0], y1 + res[1])
    try:
        cut = shapely.intersection(polys.geometry.values, box)
    except shapely.errors.GEOSException:
        return polys
    return polys.set_geometry(cut)


def _forked_strip(r0: int, r1: int):
    polys, tree, grid = _FORK_STATE
    return _label_strip(polys, tree, grid, r0, r1)


def _label_strips(polys, grid, writer, processes: int | None = None):
    """Label the grid strip by strip (in worker processes when :func:`label_processes` allows),
    writing the strips in order; the strips and their labels do not depend on the workers."""
    ny, nx = grid.shape
    cells, regs, fracs = [], [], []
    overlap_px, covered = 0.0, 0
    tree = shapely.STRtree(polys.geometry.values)
    rows = strip_rows(nx)
    strips = [(r0, min(r0 + rows, ny)) for r0 in range(0, ny, rows)]

    def keep(r0, result):
        nonlocal overlap_px, covered
        whole, entries = result
        if entries is not None:
            c, r, f, ov, cv = entries
            cells.append(c)
            regs.append(r)
            fracs.append(f)
            overlap_px += ov
            covered += cv
        writer.write_strip(whole, r0)

    processes = label_processes(len(strips)) if processes is None else processes
    if processes <= 1:
        for r0, r1 in strips:
            keep(r0, _label_strip(polys, tree, grid, r0, r1))
        return cells, regs, fracs, overlap_px, covered
    import collections
    import concurrent.futures
    import multiprocessing

    _FORK_STATE[:] = [polys, tree, grid]
    pool = concurrent.futures.ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                                  initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        pending: collections.deque = collections.deque()
        for r0, r1 in strips:  # at most two strips per worker in flight: memory stays bounded
            pending.append((r0, pool.submit(_forked_strip, r0, r1)))
            if len(pending) > 2 * processes:
                r, fut = pending.popleft()
                keep(r, fut.result())
        while pending:
            r, fut = pending.popleft()
            keep(r, fut.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        _FORK_STATE.clear()
    pool.shutdown(wait=True)
    return cells, regs, fracs, overlap_px, covered


def _strip_entries(cov, feature_index: np.ndarray, whole: np.ndarray, n: int):
    """Fill ``whole`` for one strip; return its shared-pixel entries (strip-local cell ids).

    Per-pixel entry counts come from ``bincount`` over the strip (linear time); only the entries of
    shared pixels, a small fraction of the strip, are sorted, and their totals are summed in sorted
    order (``reduceat``, as the all-pixel version did: the same bits for pixels of 3 or more regions)."""
    counts = cov["cell_id"].map(len).to_numpy()
    cells = np.concatenate([np.asarray(c, dtype=np.int64) for c in cov["cell_id"]])
    fracs = np.concatenate([np.asarray(c, dtype=np.float64) for c in cov["coverage"]])
    regs = np.repeat(feature_index.astype(np.int32), counts)
    keep = fracs > 0
    if not keep.all():
        cells, fracs, regs = cells[keep], fracs[keep], regs[keep]
    if cells.size == 0:
        return cells, fracs, regs, 0.0, 0
    per_cell = np.bincount(cells, minlength=whole.size)
    flat = whole.reshape(-1)
    is_whole = (per_cell[cells] == 1) & (fracs >= _WHOLE)  # the pixel's only entry, and it covers the pixel
    whole_cells, whole_fracs = cells[is_whole], fracs[is_whole]
    flat[whole_cells] = regs[is_whole]
    shared = ~is_whole  # every entry of a pixel that is not whole
    cells, fracs, regs = cells[shared], fracs[shared], regs[shared]
    flat[cells] = -1
    order = np.lexsort((regs, cells))
    cells, fracs, regs = cells[order], fracs[order], regs[order]
    uniq, start, per = np.unique(cells, return_index=True, return_counts=True)
    total = np.add.reduceat(fracs, start) if cells.size else np.empty(0)
    # overcoverage of every covered pixel, summed in pixel order (whole pixels' single entry may exceed
    # 1); only the pixels above 1 are sorted, which adds the same numbers in the same order
    above, whole_above = total > 1.0, whole_fracs > 1.0
    over_cells = np.concatenate([uniq[above], whole_cells[whole_above]])
    over = np.concatenate([total[above], whole_fracs[whole_above]])[np.argsort(over_cells, kind="stable")]
    overlap = float((over - 1.0).sum())
    fracs = fracs * np.repeat(np.where(total > 1.0, 1.0 / total, 1.0), per)  # never count a pixel twice
    rest = 1.0 - np.minimum(total, 1.0)
    has_rest = rest > 0
    cell = np.concatenate([cells, uniq[has_rest]])
    reg = np.concatenate([regs, np.full(int(has_rest.sum()), n, dtype=np.int32)])
    frac = np.concatenate([fracs, rest[has_rest]])
    order = np.argsort(cell, kind="stable")
    return cell[order], frac[order], reg[order], overlap, int(np.count_nonzero(per_cell))

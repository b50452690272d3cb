"""Benchmark: regional aggregation on a China-wide grid (1 km at ``--scale 1``), label cache cold and warm.

Usage (from the repository root)::

    .venv/bin/python benchmarks/aggregation.py --scale 1     # 1 km,   4,840 x 5,530 px
    .venv/bin/python benchmarks/aggregation.py --scale 4     # 500 m,  9,680 x 11,060 px
    .venv/bin/python benchmarks/aggregation.py --scale 16    # 250 m, 19,360 x 22,120 px

What it does (see benchmarks/README.md):

1. Writes deterministic synthetic inputs (numpy seed) into ``--work`` (default ``benchmarks/.data/``)
   unless they exist: a uint8 land-cover raster (10 classes, 0 = nodata, blocky and spatially
   smooth) and a float32 NEP raster [g C m-2 yr-1] in -50..300 (NaN where the land cover is
   nodata), both on the analysis grid (China Albers), tiled 512 x 512, DEFLATE.
2. Runs each phase in a fresh Python process, so that the peak RSS (``os.wait4`` rusage of that
   process) is per phase: the read floor (both rasters read once, block by block, with rasterio),
   the label build with the cache cold and warm (``pipeline.labels.region_labels``), the
   aggregation with labels warm and with labels cold (``pipeline.aggregate.aggregate`` computed
   with dask's threaded scheduler, inputs opened with ``pipeline.io.rasters.open_on_grid``).
3. Checks conservation: regions + unallocated (removal - emission) against an independent numpy
   sum of NEP x pixel area over the valid pixels, to 1e-9 relative.
4. Prints a Markdown table and writes it to ``benchmarks/results/aggregation_<scale>x.md``.

The parent process imports only the standard library, so it stays small and does not inflate the
children's peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROVINCES = Path("../shared/data/china_admin_boundaries/china_provinces_coarse.geojson")
DEFAULT_WORK = Path("benchmarks/.data")
DEFAULT_RESULTS = Path("benchmarks/results")

#: China extent in China Albers [m] (xmin, ymin, xmax, ymax): the extent of the 34 coarse province
#: polygons (-2,625,743 407,206 2,207,163 5,921,601) snapped outwards to 10 km. Fixed here so the
#: synthetic inputs do not depend on the polygons file.
CHINA_BOUNDS = (-2_630_000.0, 400_000.0, 2_210_000.0, 5_930_000.0)
#: Pixel size at --scale 1 [m]; --scale s has s times as many pixels (size / sqrt(s)).
BASE_RESOLUTION = 1000.0
#: Grid chunks and GeoTIFF tiles [px].
CHUNKS = 512
SEED = 20240601
N_CLASSES = 10
LC_NODATA = 0
#: Lattice spacings of the synthetic fields [m], fixed on the ground so every scale shows the same map.
CLASS_CELL, DETAIL_CELL, MASK_CELL, NEP_CELL = 40_000.0, 10_000.0, 160_000.0, 80_000.0
#: Mean NEP per land-cover class 1..10 [g C m-2 yr-1].
CLASS_NEP = (180.0, 120.0, 60.0, 20.0, -30.0, 90.0, 150.0, 5.0, 40.0, 220.0)
NEP_RANGE = (-50.0, 300.0)
#: Rows generated and written at once (a multiple of the tile size).
GEN_ROWS = 512
GEN_VERSION = 1

PHASES = ("reference", "read", "labels", "aggregate", "exactextract", "rasterstats")


# ------------------------------------------------------------------------------------------------
# helpers shared by the parent and the children (standard library only)
# ------------------------------------------------------------------------------------------------
def resolution(scale: int) -> float:
    return BASE_RESOLUTION / math.sqrt(scale)


def grid_shape(scale: int) -> tuple[int, int]:
    """(ny, nx), as AnalysisGrid.from_bounds computes it (the bounds are whole pixels at 1, 4, 16)."""
    r = resolution(scale)
    xmin, ymin, xmax, ymax = CHINA_BOUNDS
    x0, y0 = math.floor(xmin / r) * r, math.floor(ymin / r) * r
    x1, y1 = math.ceil(xmax / r) * r, math.ceil(ymax / r) * r
    return int(round((y1 - y0) / r)), int(round((x1 - x0) / r))


def data_paths(work: Path, scale: int) -> dict[str, Path]:
    d = work / f"{scale}x"
    return {"dir": d, "landcover": d / "landcover.tif", "nep": d / "nep.tif", "cache": d / "label-cache",
            "sums": d / "sums"}


def make_grid(scale: int):
    from pipeline.grid import CHINA_ALBERS, AnalysisGrid

    return AnalysisGrid.from_bounds(CHINA_ALBERS, resolution(scale), CHINA_BOUNDS, chunks=CHUNKS)


# ------------------------------------------------------------------------------------------------
# input generator (child process)
# ------------------------------------------------------------------------------------------------
def _lattice_index(coord0: float, coords, cell: float):
    """Lattice cell index and fraction within it of each coordinate (distance from coord0)."""
    import numpy as np

    f = (np.asarray(coords) - coord0) / cell
    i = np.floor(f).astype(np.int64)
    return i, f - i


def _bilinear(lat, iy, ty, ix, tx):
    """Bilinear interpolation of lattice ``lat`` at rows (iy, ty) x columns (ix, tx)."""
    a = lat[iy][:, ix]
    b = lat[iy][:, ix + 1]
    c = lat[iy + 1][:, ix]
    d = lat[iy + 1][:, ix + 1]
    ty, tx = ty[:, None], tx[None, :]
    return (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty


def generate(scale: int, work: Path) -> dict:
    """Write landcover.tif and nep.tif for ``scale`` unless both exist; return what was done."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    paths = data_paths(work, scale)
    if paths["landcover"].exists() and paths["nep"].exists():
        return {"generated": False}
    paths["dir"].mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    grid = make_grid(scale)
    ny, nx = grid.shape
    xmin, _, _, ymax = grid.bounds
    res = grid.resolution[0]

    # lattices on the ground, the same for every scale (drawn in a fixed order from one seed)
    rng = np.random.default_rng(SEED)
    bx0, by0, bx1, by1 = CHINA_BOUNDS

    def lattice_shape(cell):  # one spare cell on each side: the grid may be snapped outwards by < 1 px
        return int(math.ceil((by1 - by0) / cell)) + 3, int(math.ceil((bx1 - bx0) / cell)) + 3

    classes = rng.integers(1, N_CLASSES + 1, size=lattice_shape(CLASS_CELL), dtype=np.uint8)
    detail = rng.integers(1, N_CLASSES + 1, size=lattice_shape(DETAIL_CELL), dtype=np.uint8)
    detail_on = rng.random(lattice_shape(DETAIL_CELL)) < 0.3
    mask = rng.random(lattice_shape(MASK_CELL))
    nep_field = rng.uniform(-40.0, 80.0, size=lattice_shape(NEP_CELL))
    class_nep = np.array((np.nan,) + CLASS_NEP)

    xs = xmin + res * (np.arange(nx) + 0.5)
    ix_c, _ = _lattice_index(bx0 - CLASS_CELL, xs, CLASS_CELL)
    ix_d, _ = _lattice_index(bx0 - DETAIL_CELL, xs, DETAIL_CELL)
    ix_m, tx_m = _lattice_index(bx0 - MASK_CELL, xs, MASK_CELL)
    ix_n, tx_n = _lattice_index(bx0 - NEP_CELL, xs, NEP_CELL)

    common = {"driver": "GTiff", "height": ny, "width": nx, "count": 1, "crs": grid.crs_wkt,
              "transform": grid.transform, "tiled": True, "blockxsize": CHUNKS, "blockysize": CHUNKS,
              "compress": "DEFLATE", "BIGTIFF": "IF_SAFER"}
    tmp_lc = paths["landcover"].with_suffix(".tif.part")
    tmp_nep = paths["nep"].with_suffix(".tif.part")
    with rasterio.open(tmp_lc, "w", dtype="uint8", nodata=LC_NODATA, **common) as lc_dst, \
            rasterio.open(tmp_nep, "w", dtype="float32", nodata=float("nan"), **common) as nep_dst:
        for strip, r0 in enumerate(range(0, ny, GEN_ROWS)):
            r1 = min(r0 + GEN_ROWS, ny)
            ys = ymax - res * (np.arange(r0, r1) + 0.5)  # pixel centres, north to south
            iy_c, _ = _lattice_index(-(by1 + CLASS_CELL), -ys, CLASS_CELL)  # rows count southwards
            iy_d, _ = _lattice_index(-(by1 + DETAIL_CELL), -ys, DETAIL_CELL)
            iy_m, ty_m = _lattice_index(-(by1 + MASK_CELL), -ys, MASK_CELL)
            iy_n, ty_n = _lattice_index(-(by1 + NEP_CELL), -ys, NEP_CELL)
            lc = classes[iy_c][:, ix_c]
            on = detail_on[iy_d][:, ix_d]
            lc = np.where(on, detail[iy_d][:, ix_d], lc)
            nodata = _bilinear(mask, iy_m, ty_m, ix_m, tx_m) < 0.3  # about a sixth of the map, smooth edges
            lc[nodata] = LC_NODATA
            noise = np.random.default_rng([SEED, scale, strip]).normal(0.0, 15.0, size=lc.shape)
            nep = class_nep[lc] + _bilinear(nep_field, iy_n, ty_n, ix_n, tx_n) + noise
            nep = np.clip(nep, *NEP_RANGE).astype(np.float32)  # NaN (class 0) stays NaN
            window = Window(0, r0, nx, r1 - r0)
            lc_dst.write(lc.astype(np.uint8), 1, window=window)
            nep_dst.write(nep, 1, window=window)
    os.replace(tmp_lc, paths["landcover"])
    os.replace(tmp_nep, paths["nep"])
    return {"generated": True, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------------
# phases (each runs in its own child process)
# ------------------------------------------------------------------------------------------------
def _read_polygons(provinces: Path, grid):
    import geopandas as gpd

    from pipeline.labels import resolve_overlaps

    polys = gpd.read_file(provinces)
    polys["region_id"] = polys["adcode"].astype(str)
    polys = polys[["region_id", "geometry"]].to_crs(grid.crs)
    polys, _ = resolve_overlaps(polys, None, str(provinces))  # as the runner does: overlaps are an error
    return polys


def phase_reference(scale: int, work: Path, **_) -> dict:
    """Independent numpy sums over the valid pixels (land cover not nodata): count, NEP, NEP x area."""
    import numpy as np
    import rasterio

    paths = data_paths(work, scale)
    t0 = time.perf_counter()
    sums, valid_px, nan_valid = [], 0, 0
    with rasterio.open(paths["landcover"]) as lc_src, rasterio.open(paths["nep"]) as nep_src:
        px_area = abs(lc_src.transform.a * lc_src.transform.e)
        for _, w in lc_src.block_windows(1):
            lc = lc_src.read(1, window=w)
            nep = nep_src.read(1, window=w).astype(np.float64)
            valid = lc != LC_NODATA
            nan_valid += int(np.isnan(nep[valid]).sum())
            valid_px += int(valid.sum())
            sums.append(float(nep[valid].sum()))
    nep_sum = math.fsum(sums)
    return {"seconds": time.perf_counter() - t0, "valid_px": valid_px, "nan_in_valid_px": nan_valid,
            "pixel_area_m2": px_area, "nep_x_area_gC_yr": nep_sum * px_area, "area_m2": valid_px * px_area,
            "versions": _versions()}


def phase_read(scale: int, work: Path, **_) -> dict:
    """The floor: read both rasters once, fully, block by block (rasterio windows, one thread)."""
    import rasterio

    paths = data_paths(work, scale)
    t0 = time.perf_counter()
    nbytes = 0
    for key in ("landcover", "nep"):
        with rasterio.open(paths[key]) as src:
            for _, w in src.block_windows(1):
                nbytes += src.read(1, window=w).nbytes
    return {"seconds": time.perf_counter() - t0, "decoded_MiB": nbytes / 2**20,
            "file_MiB": sum(paths[k].stat().st_size for k in ("landcover", "nep")) / 2**20}


def phase_labels(scale: int, work: Path, provinces: Path, **_) -> dict:
    """Region labels of the provinces (cold or warm depends on the cache the parent left)."""
    from pipeline.labels import region_labels

    paths = data_paths(work, scale)
    grid = make_grid(scale)
    t0 = time.perf_counter()
    polys = _read_polygons(provinces, grid)
    t1 = time.perf_counter()
    labels = region_labels(polys, grid, paths["cache"])
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "polygons_s": t1 - t0, "labels_s": t2 - t1, "info": _jsonable(labels.info),
            "n_entries": int(labels.cell.size)}


def phase_aggregate(scale: int, work: Path, provinces: Path, threads: int, tag: str, **_) -> dict:
    """Open the inputs lazily, labels (cache as the parent left it), aggregate, one dask.compute."""
    import dask
    import numpy as np

    from pipeline.aggregate import aggregate
    from pipeline.io.rasters import open_on_grid
    from pipeline.labels import region_labels

    paths = data_paths(work, scale)
    grid = make_grid(scale)
    t0 = time.perf_counter()
    polys = _read_polygons(provinces, grid)
    labels = region_labels(polys, grid, paths["cache"])
    t1 = time.perf_counter()
    lc = open_on_grid(paths["landcover"], grid, "nearest")
    nep = open_on_grid(paths["nep"], grid, "average")
    eco = (lc.astype("int16") - 1)  # codes 1..10 -> 0..9; nodata 0 -> -1
    # NEP is signed: removal = its positive part, emission = its negative part, split in the kernel
    lazy = aggregate(eco, [nep], labels, grid, n_cls=N_CLASSES, signed=True)
    t2 = time.perf_counter()
    (sums,) = dask.compute(lazy, scheduler="threads", num_workers=threads)
    t3 = time.perf_counter()
    paths["sums"].mkdir(parents=True, exist_ok=True)
    np.save(paths["sums"] / f"{tag}.npy", sums)
    region_ids = list(labels.region_ids)
    return {"seconds": t3 - t0, "labels_s": t1 - t0, "graph_s": t2 - t1, "compute_s": t3 - t2,
            "labels_info": _jsonable(labels.info), "n_tasks": len(lazy.__dask_graph__()),
            "shape": list(sums.shape),
            "removal_gC_yr": float(sums[:, :, 1].sum()), "emission_gC_yr": float(sums[:, :, 2].sum()),
            "net_gC_yr": float(sums[:, :, 1].sum() - sums[:, :, 2].sum()), "area_m2": float(sums[:, :, 0].sum()),
            "unallocated_area_m2": float(sums[region_ids.index("unallocated"), :, 0].sum()),
            "unallocated_net_gC_yr": float(sums[-1, :, 1].sum() - sums[-1, :, 2].sum()),
            "net_gC_yr_by_region": _region_net(sums, region_ids)}


def phase_exactextract(scale: int, work: Path, provinces: Path, **_) -> dict:
    """Peer: exactextract (exact coverage fractions) on the same files and polygons: per province the
    coverage-weighted NEP sum, and per province and class the covered pixel count."""
    from exactextract import exact_extract

    paths = data_paths(work, scale)
    grid = make_grid(scale)
    t0 = time.perf_counter()
    polys = _read_polygons(provinces, grid)
    t1 = time.perf_counter()
    nep = exact_extract(str(paths["nep"]), polys, ["sum"], include_cols=["region_id"], output="pandas")
    lc = exact_extract(str(paths["landcover"]), polys, ["unique", "frac", "count"], include_cols=["region_id"],
                       output="pandas")
    t2 = time.perf_counter()
    px_area = abs(grid.transform.a * grid.transform.e)
    return {"seconds": t2 - t0, "polygons_s": t1 - t0, "extract_s": t2 - t1,
            "net_gC_yr_by_region": {str(r): float(v) * px_area for r, v in zip(nep["region_id"], nep["sum"])},
            "class_px": float(lc["count"].sum())}


def phase_rasterstats(scale: int, work: Path, provinces: Path, **_) -> dict:
    """Peer: rasterstats (pixel centres, no fractions) on the same files and polygons: per province the
    NEP sum and the pixel count per class."""
    from rasterstats import zonal_stats

    paths = data_paths(work, scale)
    grid = make_grid(scale)
    t0 = time.perf_counter()
    polys = _read_polygons(provinces, grid)
    t1 = time.perf_counter()
    nep = zonal_stats(polys, str(paths["nep"]), stats=["sum", "count"], nodata=float("nan"))
    lc = zonal_stats(polys, str(paths["landcover"]), categorical=True, nodata=LC_NODATA)
    t2 = time.perf_counter()
    px_area = abs(grid.transform.a * grid.transform.e)
    return {"seconds": t2 - t0, "polygons_s": t1 - t0, "extract_s": t2 - t1,
            "net_gC_yr_by_region": {str(r): float(z["sum"] or 0.0) * px_area for r, z in zip(polys["region_id"], nep)},
            "class_px": float(sum(sum(v for k, v in z.items() if k != LC_NODATA) for z in lc))}


def _region_net(sums, labels_ids) -> dict:
    """Net (removal - emission) per region [g C yr-1] from an aggregation table, unallocated left out."""
    return {r: float(sums[i, :, 1].sum() - sums[i, :, 2].sum()) for i, r in enumerate(labels_ids) if r != "unallocated"}


def _jsonable(d: dict) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()}


def _versions() -> dict:
    from importlib.metadata import version

    import rasterio

    out = {"python": platform.python_version()}
    for dist in ("carbon-sink", "numpy", "dask", "xarray", "rioxarray", "rasterio", "exactextract", "geopandas",
                 "shapely"):
        try:
            out[dist] = version(dist)
        except Exception:  # noqa: BLE001 - a missing version is not worth failing the benchmark
            out[dist] = "?"
    out["GDAL"] = rasterio.__gdal_version__
    return out


def child_main(args: argparse.Namespace) -> int:
    """Entry point of a child process: run one phase, write its result as JSON."""
    import resource

    sys.path.insert(0, str(ROOT))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB (Linux): the imports so far
    if args.phase == "generate":
        out = generate(args.scale, args.work)
    else:
        # import the heavy stack before measuring the baseline, so it is the same for every phase
        import dask  # noqa: F401
        import geopandas  # noqa: F401
        import rioxarray  # noqa: F401

        import pipeline.aggregate  # noqa: F401
        import pipeline.io.rasters  # noqa: F401
        import pipeline.labels  # noqa: F401

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        func = {"reference": phase_reference, "read": phase_read, "labels": phase_labels,
                "aggregate": phase_aggregate, "exactextract": phase_exactextract,
                "rasterstats": phase_rasterstats}[args.phase]
        out = func(scale=args.scale, work=args.work, provinces=args.provinces, threads=args.threads, tag=args.tag)
    out["rss_after_imports_MiB"] = before / 1024
    Path(args.result_file).write_text(json.dumps(out))
    return 0


# ------------------------------------------------------------------------------------------------
# parent: orchestrate, measure, report
# ------------------------------------------------------------------------------------------------
def run_child(args: argparse.Namespace, phase: str, tag: str = "") -> dict:
    """Run one phase in a fresh interpreter; return its JSON plus wall time and peak RSS of that process."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_file = Path(f.name)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scale", str(args.scale), "--work", str(args.work),
           "--provinces", str(args.provinces), "--threads", str(args.threads), "--phase", phase,
           "--tag", tag or phase, "--result-file", str(result_file)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)  # the rusage of this child alone
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase!r} failed with exit code {proc.returncode}: {' '.join(cmd)}")
    out = json.loads(result_file.read_text())
    result_file.unlink()
    out["peak_rss_MiB"] = usage.ru_maxrss / 1024  # KiB on Linux
    out["process_wall_s"] = wall
    return out


def repeat(args: argparse.Namespace, phase: str, tag: str, label: str, before=None) -> dict:
    """Run a phase ``args.repeat`` times (``before`` runs first each time); median seconds, max peak RSS."""
    runs = []
    for i in range(args.repeat):
        if before:
            before()
        r = run_child(args, phase, tag)
        runs.append(r)
        extra = f" (labels {r['labels_s']:.1f} s, compute {r['compute_s']:.1f} s)" if "compute_s" in r else ""
        print(f"  {label} [{i + 1}/{args.repeat}]: {r['seconds']:.2f} s{extra}, peak RSS {r['peak_rss_MiB']:,.0f} MiB",
              flush=True)
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["all_seconds"] = [r["seconds"] for r in runs]
    out["peak_rss_MiB"] = max(r["peak_rss_MiB"] for r in runs)
    return out


def clear_cache(args: argparse.Namespace) -> None:
    shutil.rmtree(data_paths(args.work, args.scale)["cache"], ignore_errors=True)


def git_state() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "pipeline"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return rev + (" (pipeline/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))
        mem = f"{mem_kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        mem = "?"
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}"


def report(args, shape, ref, rows, checks) -> str:
    floor = rows[0][1]["seconds"]
    ny, nx = shape
    v = ref["versions"]
    lines = [
        f"# Aggregation benchmark, --scale {args.scale} ({resolution(args.scale):g} m, {nx:,} x {ny:,} px "
        f"= {nx * ny / 1e6:.1f} Mpx)",
        "",
        f"- Date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; commit {git_state()}",
        f"- Machine: {machine()}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Command: `.venv/bin/python benchmarks/aggregation.py --scale {args.scale}"
        + (f" --repeat {args.repeat}" if args.repeat != 1 else "")
        + (f" --threads {args.threads}" if args.threads != 2 else "") + "`",
        f"- Inputs: land cover uint8 + NEP float32, China Albers, tiles {CHUNKS} x {CHUNKS}, DEFLATE, "
        f"{rows[0][1]['file_MiB']:,.0f} MiB on disk, {rows[0][1]['decoded_MiB']:,.0f} MiB decoded; "
        f"{ref['valid_px'] / (nx * ny):.1%} of the pixels valid. Regions: {args.provinces.name} "
        f"(34 provinces). Grid chunks {CHUNKS}; dask threaded scheduler, {args.threads} threads; "
        f"GDAL_CACHEMAX {os.environ.get('GDAL_CACHEMAX', 'default (5 % of RAM)')}; OS file cache warm.",
        f"- Each phase runs in a fresh process; seconds exclude the interpreter start and imports "
        f"({'median of ' + str(args.repeat) + ' runs' if args.repeat > 1 else 'one run'}); peak RSS is the "
        f"whole process (`os.wait4` ru_maxrss), imports included.",
        "",
        "| phase | seconds | peak RSS MiB | RSS after imports MiB | x read floor | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r, note in rows:
        lines.append(f"| {name} | {r['seconds']:.2f} | {r['peak_rss_MiB']:,.0f} | {r['rss_after_imports_MiB']:,.0f} "
                     f"| {r['seconds'] / floor:.2f} | {note} |")
    lines += ["", "Checks:", ""] + [f"- {c}" for c in checks] + [""]
    return "\n".join(lines)


def parent_main(args: argparse.Namespace) -> int:
    if args.scale < 1:
        raise SystemExit("--scale must be a positive integer (1 = 1 km, 4 = 500 m, 16 = 250 m)")
    if not args.provinces.exists():
        raise SystemExit(f"--provinces {args.provinces}: no such file (run from the repository root, with "
                         "../shared beside it, or pass --provinces PATH)")
    shape = grid_shape(args.scale)
    print(f"aggregation benchmark --scale {args.scale}: {resolution(args.scale):g} m, {shape[1]:,} x {shape[0]:,} px, "
          f"work folder {args.work}", flush=True)
    gen = run_child(args, "generate")
    print("  inputs: " + (f"generated in {gen['seconds']:.1f} s" if gen["generated"] else "exist, reused"), flush=True)
    ref = run_child(args, "reference")
    print(f"  reference sum (numpy, {ref['seconds']:.1f} s): {ref['nep_x_area_gC_yr']:.12e} g C yr-1", flush=True)

    read = repeat(args, "read", "read", "read floor")
    cold = repeat(args, "labels", "labels-cold", "labels, cache cold", before=lambda: clear_cache(args))
    warm = repeat(args, "labels", "labels-warm", "labels, cache warm")
    agg_warm = repeat(args, "aggregate", "aggregate-warm", "aggregation, labels warm")
    agg_cold = repeat(args, "aggregate", "aggregate-cold", "aggregation, labels cold",
                      before=lambda: clear_cache(args))

    peers = {}
    for name in ("exactextract", "rasterstats"):
        try:
            __import__(name)
        except ImportError:
            print(f"  {name}: not installed, skipped (pip install '.[bench]')", flush=True)
            continue
        peers[name] = repeat(args, name, name, name)

    rows = [
        ("(a) read floor: both rasters, block by block", read,
         f"rasterio windows, 1 thread, {read['decoded_MiB']:,.0f} MiB decoded"),
        ("(b) labels, cache cold", cold,
         f"build {cold['labels_s']:.2f} s, {cold['info']['shared_px']:,} shared px, {cold['n_entries']:,} entries"),
        ("(b) labels, cache warm", warm, f"cache hit: {warm['info']['cache_hit']}"),
        ("(c) aggregation, labels warm", agg_warm,
         f"labels {agg_warm['labels_s']:.2f} s + graph {agg_warm['graph_s']:.2f} s + compute "
         f"{agg_warm['compute_s']:.2f} s; {agg_warm['n_tasks']:,} tasks"),
        ("(d) aggregation, labels cold (total incl. build)", agg_cold,
         f"labels {agg_cold['labels_s']:.2f} s + graph {agg_cold['graph_s']:.2f} s + compute "
         f"{agg_cold['compute_s']:.2f} s"),
    ]
    for name, r in peers.items():
        how = "exact coverage fractions" if name == "exactextract" else "pixel centres only"
        rows.append((f"(e) peer: {name}", r, f"{how}; polygons {r['polygons_s']:.2f} s + extract {r['extract_s']:.2f} s; "
                     f"{r['seconds'] / agg_warm['seconds']:.1f} x the time of (c)"))
    checks, ok = [], True
    for name, r in peers.items():
        ours = agg_warm["net_gC_yr_by_region"]
        rel = max(abs(r["net_gC_yr_by_region"][k] - v) / abs(v) for k, v in ours.items() if v)
        if name == "exactextract":
            good = rel <= 1e-6
            ok &= good
            checks.append(f"parity with exactextract: largest relative difference of a province's net NEP x area "
                          f"{rel:.1e} -> {'OK' if good else 'FAIL'} (tolerance 1e-6)")
        else:
            checks.append(f"rasterstats (pixel centres) vs exact fractions: largest relative difference of a "
                          f"province's net {rel:.1e} (not a check: centres are not exact)")
    for name, r in (("(c)", agg_warm), ("(d)", agg_cold)):
        rel = abs(r["net_gC_yr"] - ref["nep_x_area_gC_yr"]) / abs(ref["nep_x_area_gC_yr"])
        rel_area = abs(r["area_m2"] - ref["area_m2"]) / ref["area_m2"]
        good = rel <= 1e-9 and rel_area <= 1e-9
        ok &= good
        checks.append(f"conservation {name}: regions + unallocated removal - emission = {r['net_gC_yr']:.12e} g C yr-1; "
                      f"numpy sum of NEP x area over valid pixels = {ref['nep_x_area_gC_yr']:.12e}; relative "
                      f"difference {rel:.1e} (area {rel_area:.1e}) -> {'OK' if good else 'FAIL'} (tolerance 1e-9)")
    expected_hits = (("labels cold", cold, False), ("labels warm", warm, True), ("(c)", agg_warm, True),
                     ("(d)", agg_cold, False))
    for name, r, hit in expected_hits:
        info = r.get("info") or r.get("labels_info")
        if info["cache_hit"] != hit:
            ok = False
            checks.append(f"{name}: expected cache_hit={hit}, got {info['cache_hit']} -> FAIL")
    sums_dir = data_paths(args.work, args.scale)["sums"]
    same = (sums_dir / "aggregate-warm.npy").read_bytes() == (sums_dir / "aggregate-cold.npy").read_bytes()
    ok &= same
    checks.append(f"(c) and (d) tables byte-identical: {'OK' if same else 'FAIL'}")
    checks.append(f"unallocated (outside the 34 provinces): {agg_warm['unallocated_area_m2'] / 1e6:,.0f} km2 of "
                  f"{ref['area_m2'] / 1e6:,.0f} km2 valid; table shape {agg_warm['shape']} (regions + unallocated, "
                  "classes, quantities)")
    if ref["nan_in_valid_px"]:
        ok = False
        checks.append(f"{ref['nan_in_valid_px']} valid pixels have NaN NEP -> FAIL")

    text = report(args, shape, ref, rows, checks)
    print()
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"aggregation_{args.scale}x.md"
    out.write_text(text)
    print(f"written {out}")
    return 0 if ok else 1


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=1, help="pixels x this factor: 1 = 1 km, 4 = 500 m, 16 = 250 m")
    p.add_argument("--provinces", type=Path, default=DEFAULT_PROVINCES,
                   help="province polygons with an 'adcode' field (default: %(default)s, relative to the repo root)")
    p.add_argument("--work", type=Path, default=DEFAULT_WORK,
                   help="folder for the generated inputs and the label cache (default: %(default)s)")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder for the Markdown table")
    p.add_argument("--threads", type=int, default=2, help="dask threads for the aggregation (default: 2)")
    p.add_argument("--repeat", type=int, default=1, help="runs per phase; the table shows the median seconds")
    p.add_argument("--phase", choices=("generate",) + PHASES, help=argparse.SUPPRESS)
    p.add_argument("--tag", default="", help=argparse.SUPPRESS)
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("provinces", "work", "results"):  # relative paths are relative to the repository root
        path = getattr(args, name)
        setattr(args, name, path if path.is_absolute() else (ROOT / path))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return child_main(args) if args.phase else parent_main(args)


if __name__ == "__main__":
    sys.exit(main())

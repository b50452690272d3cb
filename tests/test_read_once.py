"""Inputs read once (issue 9, item 4): the map writes and the reductions share one graph, so a whole
``run`` reads every block of every input raster exactly once. Shown by counting the reads.

Where the reads are counted. Each chunk of a lazy input (``pipeline.io.rasters.lazy_band``) is one
task ending in ``ds.read(band, window=Window(col0, row0, width, height))``, where ``ds`` is the
thread's ``rasterio.io.DatasetReader`` for a raster already on the grid, or its
``rasterio.vrt.WarpedVRT`` around it for a raster that is reprojected. That ``read`` is the lowest
level Python sees: below it GDAL warps and decodes in C. The sample's three input rasters are
EPSG:4326 and all go through a ``WarpedVRT``, so their windows are windows of the VRT, which has the
grid's shape: one window per dask chunk of the grid. (The source file's pixels that GDAL reads for
a VRT window are not visible from Python. The warper needs a margin of source pixels around each
window, so source pixels along chunk edges are decoded for both neighbouring windows. That is part
of warping, not a second read of a block of the pass.)

Both classes are patched on their Python class (the Cython base ``DatasetReaderBase`` cannot be
patched, and ``DatasetReader`` and ``WarpedVRT`` each inherit ``read`` from it separately). So every
pixel read of every raster dataset in the process is recorded: the run's inputs, the region-label
rasters the run caches, and the figure's read of an output map.
"""

from __future__ import annotations

import collections
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.io
import rasterio.vrt
import rasterio.windows

import pipeline.runner as runner
from conftest import SAMPLE_CONFIG
from pipeline import load_config, run

RASTER_SUFFIXES = (".tif", ".tiff")


class ReadLog:
    """Every ``read`` of a rasterio dataset: (path, bands, window, dataset shape), thread-safe."""

    def __init__(self):
        self.records: list[tuple[str, tuple[int, ...], tuple[tuple[int, int], tuple[int, int]], tuple[int, int]]] = []
        self._lock = threading.Lock()

    def install(self, monkeypatch):
        for cls in (rasterio.io.DatasetReader, rasterio.vrt.WarpedVRT):
            monkeypatch.setattr(cls, "read", self._counting(cls.read))

    def _counting(self, original):
        log = self

        def read(self, indexes=None, out=None, window=None, *args, **kwargs):
            # the file the pixels come from: a WarpedVRT's name is its VRT XML, its source is the file
            src = self.src_dataset if isinstance(self, rasterio.vrt.WarpedVRT) else self
            path = str(Path(src.name).resolve())
            if indexes is None:
                bands = tuple(self.indexes)
            elif isinstance(indexes, (int, np.integer)):
                bands = (int(indexes),)
            else:
                bands = tuple(int(b) for b in indexes)
            if window is None:  # the whole dataset
                win = ((0, self.height), (0, self.width))
            elif isinstance(window, rasterio.windows.Window):
                (r0, r1), (c0, c1) = window.toranges()
                win = ((round(r0), round(r1)), (round(c0), round(c1)))
            else:
                (r0, r1), (c0, c1) = window
                win = ((int(r0), int(r1)), (int(c0), int(c1)))
            with log._lock:
                log.records.append((path, bands, win, (self.height, self.width)))
            return original(self, indexes, out, window, *args, **kwargs)

        return read


def _counted_run(tmp_path, monkeypatch, chunks: int | None):
    """The sample run (chunks from the config, or ``chunks``) with every raster read logged, and the
    plan of block groups its pass used (the spy on ``windows`` returns the plan unchanged)."""
    cfg = load_config(SAMPLE_CONFIG)
    if chunks is not None:
        cfg = cfg.model_copy(update={"grid": cfg.grid.model_copy(update={"chunks": chunks})})
    plans = []
    plan_of = runner.windows

    def spy(*args, **kwargs):
        plans.append(plan_of(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(runner, "windows", spy)
    log = ReadLog()
    log.install(monkeypatch)
    res = run(cfg, tmp_path / "run")
    monkeypatch.undo()  # stop counting: the checks below read rasters themselves
    return cfg, res, log.records, plans


def _chunk_windows(shape: tuple[int, int], c: int) -> set:
    """The windows of a grid of ``shape`` cut into ``c`` x ``c`` chunks (smaller at the bottom/right)."""
    h, w = shape
    return {((r, min(r + c, h)), (q, min(q + c, w))) for r in range(0, h, c) for q in range(0, w, c)}


@pytest.mark.parametrize("chunks", [None, 30], ids=["sample-chunks-64", "chunks-30"])
def test_run_reads_every_input_block_exactly_once(tmp_path, monkeypatch, chunks):
    cfg, res, records, plans = _counted_run(tmp_path, monkeypatch, chunks)
    c = cfg.grid.chunks
    manifest = json.loads((res.run_dir / "manifest.json").read_text())
    assert manifest["grid"]["chunks"] == c

    # The grid, read independently of the logged reads: the shape of an output map as rasterio sees it.
    with rasterio.open(res.run_dir / "maps" / "sink_total.tif") as m:
        grid_shape = (m.height, m.width)
    assert tuple(manifest["grid"]["shape"]) == grid_shape
    expected_windows = _chunk_windows(grid_shape, c)

    # The input rasters the run used, from its manifest (tables, schemes and vector layers dropped).
    inputs = {k: str(Path(v["path"]).resolve()) for k, v in manifest["inputs"].items()
              if Path(v["path"]).suffix.lower() in RASTER_SUFFIXES}
    assert {"landcover", "flux:sland", "land_use_scenario:afforestation"} <= set(inputs), inputs

    # Reads of the run's own outputs (the report's figure reads a map after the pass) are not input reads:
    # the run directory and its staging sibling are both under tmp_path.
    out_root = str(tmp_path.resolve())
    read = [r for r in records if not r[0].startswith(out_root)]
    by_path = collections.defaultdict(list)
    for path, bands, win, shape in read:
        by_path[path].append((bands, win, shape))

    # 3. reads happen at all, for every input raster (the test cannot pass vacuously)
    for key, path in inputs.items():
        assert by_path.get(path), f"{key} ({path}): no read was recorded"

    # 1. no window of any raster the run read (inputs and the cached region-label rasters) is read twice
    per_window = collections.Counter((path, win) for path, _, win, _ in read)
    twice = {k: n for k, n in per_window.items() if n > 1}
    assert not twice, f"windows read more than once (path, window): count -> {twice}"

    for key, path in inputs.items():
        reads = by_path[path]
        # every read is of band 1 of a dataset of the grid's shape: the WarpedVRT onto the grid (the
        # sample's inputs are EPSG:4326, the grid is China Albers), so the windows are on the grid
        assert {b for b, _, _ in reads} == {(1,)}, (key, {b for b, _, _ in reads})
        assert {s for _, _, s in reads} == {grid_shape}, (key, {s for _, _, s in reads})
        wins = [w for _, w, _ in reads]
        # 2. the windows tile the region used, the whole grid, exactly. Compared: the pixels of the
        # windows read (summed, and as a coverage count per pixel) against the grid's pixel count
        # height x width taken from the output map's shape, and the windows themselves against the
        # chunk windows computed here from that shape and grid.chunks.
        assert sum((r1 - r0) * (c1 - c0) for (r0, r1), (c0, c1) in wins) == grid_shape[0] * grid_shape[1], key
        cover = np.zeros(grid_shape, dtype=np.int32)
        for (r0, r1), (c0, c1) in wins:
            cover[r0:r1, c0:c1] += 1
        assert (cover == 1).all(), f"{key}: pixels read {cover.min()}..{cover.max()} times"
        assert set(wins) == expected_windows and len(wins) == len(expected_windows), key

    if chunks is not None:
        # 11 x 8 = 88 blocks > MAX_GROUP_BLOCKS (64): on any machine the pass is several dask.computes
        # (groups of blocks), so a block that two groups both needed would show up as read twice
        assert len(plans) == 1 and len(plans[0]) > 1, plans


def test_run__closes_the_datasets_its_threads_kept_open(tmp_path):
    """After a run, no input or label raster stays open in the process (finished runs must not hold
    their files: deleted inputs keep their disk space while a handle is open, and Windows cannot
    delete an open file)."""
    from conftest import tiny_case
    from pipeline.io import rasters

    run(tiny_case(tmp_path / "case"), tmp_path / "out")
    assert rasters._ALL_CACHES  # the pass read through the per-thread handles
    assert sum(len(c) for c in rasters._ALL_CACHES) == 0

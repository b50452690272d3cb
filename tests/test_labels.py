"""Region labels: exact coverage fractions, tiny and empty regions, overlaps, invalid polygons, cache."""

import itertools
import warnings

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import shapely

from pipeline.errors import InputError
from pipeline.grid import CHINA_ALBERS, AnalysisGrid
from pipeline.labels import UNALLOCATED, region_labels, resolve_overlaps

GRID = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 4000, 3000), chunks=2)  # 3 x 4 px of 1 km2


def _polys(*geoms, ids=None):
    ids = ids or [str(i + 1) for i in range(len(geoms))]
    return gpd.GeoDataFrame({"region_id": ids}, geometry=list(geoms), crs=CHINA_ALBERS)


def _pixel_area_km2(labels, n_regions):
    """Each region's area from the labels, independently of the aggregation code (numpy only)."""
    whole = labels.whole.compute()
    area = np.array([(whole == r).sum() for r in range(n_regions + 1)], dtype=float)
    np.add.at(area, labels.region, labels.fraction)
    return area  # km2, as pixels are 1 km2


def test_fractions__sum_to_one_per_pixel(tmp_path):
    labels = region_labels(_polys(shapely.box(0, 0, 1500, 3000), shapely.box(1500, 1000, 4000, 3000)), GRID, tmp_path)
    per_pixel = np.zeros(GRID.shape[0] * GRID.shape[1])
    per_pixel[labels.whole.compute().ravel() >= 0] = 1
    np.add.at(per_pixel, labels.cell, labels.fraction)
    np.testing.assert_allclose(per_pixel, 1.0, rtol=0, atol=1e-15)
    # West: 3 whole px + 3 halves = 4.5 km2; East: 2 halves (rows 0-1) + 4 whole = 5 km2; rest 2.5 km2
    np.testing.assert_allclose(_pixel_area_km2(labels, 2), [4.5, 5.0, 2.5], rtol=1e-12)


def test_area__random_polygon_matches_its_area(tmp_path):
    rng = np.random.default_rng(7)
    pts = rng.uniform([200, 200], [3800, 2800], size=(12, 2))
    poly = shapely.convex_hull(shapely.MultiPoint(pts))
    labels = region_labels(_polys(poly), GRID, tmp_path)
    assert _pixel_area_km2(labels, 1)[0] == pytest.approx(poly.area / 1e6, rel=1e-9)


def test_subpixel_region_keeps_its_share(tmp_path):
    tiny = shapely.box(1200, 1200, 1300, 1300)  # 100 m x 100 m = 0.01 km2 inside one pixel
    big = shapely.box(0, 0, 4000, 3000).difference(tiny)
    labels = region_labels(_polys(big, tiny), GRID, tmp_path)
    area = _pixel_area_km2(labels, 2)
    # exactextract reports coverage fractions in single precision: 1e-6 relative on 0.01 of a pixel
    assert area[1] == pytest.approx(0.01, rel=1e-6)
    assert area[0] + area[1] == pytest.approx(12.0, rel=1e-15)  # the pixel is shared, never lost
    assert area[0] == pytest.approx(12 - 0.01, rel=1e-9)


def test_empty_region_reports_zero_not_missing(tmp_path):
    from conftest import tiny_case
    from pipeline import run

    case = tmp_path / "case"
    cfg = tiny_case(case)
    far = gpd.GeoDataFrame({"code": [1, 2, 3], "name": ["West", "East", "Far"]},
                           geometry=[shapely.box(0, 0, 1500, 4000), shapely.box(1500, 1000, 4000, 4000),
                                     shapely.box(9000, 9000, 9500, 9500)], crs=CHINA_ALBERS)
    far.to_file(case / "regions.gpkg", layer="regions", driver="GPKG")
    budget = run(cfg, tmp_path / "out").budgets.set_index("region_id")
    assert "3" in budget.index
    assert budget.loc["3", "sink_total_MtCO2"] == 0.0 and budget.loc["3", "area_km2"] == 0.0
    assert not budget.loc[["1", "2", "3"], ["sink_total_MtCO2", "area_km2", "gross_removal_MtCO2"]].isna().any().any()


def test_overlaps__error_lists_pairs_and_areas():
    polys = _polys(shapely.box(0, 0, 2000, 3000), shapely.box(1500, 0, 4000, 3000), ids=["A", "B"])
    with pytest.raises(InputError, match=r"A & B: 1\.500 km2.*overlap: first"):
        resolve_overlaps(polys, None, "regions.gpkg")


@pytest.mark.parametrize("rule, expected", [("first", [6.0, 6.0]), ("largest", [4.5, 7.5])])
def test_overlaps__rules(tmp_path, rule, expected):
    # A: x 0-2000 (6 km2), B: x 1500-4000 (7.5 km2); the overlap x 1500-2000 is 1.5 km2
    polys = _polys(shapely.box(0, 0, 2000, 3000), shapely.box(1500, 0, 4000, 3000), ids=["A", "B"])
    fixed, found = resolve_overlaps(polys, rule)
    assert found == [("A", "B", pytest.approx(1.5))]
    labels = region_labels(fixed, GRID, tmp_path)
    np.testing.assert_allclose(_pixel_area_km2(labels, 2)[:2], expected, rtol=1e-12)


def test_overlaps__cached_result_is_the_computed_one(tmp_path, monkeypatch):
    """The cached overlay gives the same geometries (WKB) and pairs as computing it, is not recomputed,
    is keyed by the rule, and an overlap error is never cached."""
    import pipeline.labels as labels_mod

    polys = _polys(*(shapely.box(*(1000.0 * v for v in THREE[k])) for k in "ABC"), ids=list("ABC"))
    want, want_found = resolve_overlaps(polys, "largest")
    calls = []
    real = labels_mod.resolve_overlaps
    monkeypatch.setattr(labels_mod, "resolve_overlaps", lambda *a: calls.append(a[1]) or real(*a))
    for _ in range(2):
        got, found = labels_mod.resolve_overlaps_cached(polys, "largest", "regions", tmp_path)
        assert shapely.to_wkb(got.geometry.values).tolist() == shapely.to_wkb(want.geometry.values).tolist()
        assert found == want_found and list(got["region_id"]) == list("ABC")
    assert calls == ["largest"]  # computed once, then read back
    first, _ = labels_mod.resolve_overlaps_cached(polys, "first", "regions", tmp_path)
    assert calls == ["largest", "first"]
    assert shapely.area(first.geometry.values).tolist() != shapely.area(got.geometry.values).tolist()
    for _ in range(2):
        with pytest.raises(InputError, match="overlapping pair"):
            labels_mod.resolve_overlaps_cached(polys, None, "regions", tmp_path)
    assert calls == ["largest", "first", None, None]
    assert len(list(tmp_path.glob("overlaps-*.npz"))) == 2
    for f in tmp_path.glob("overlaps-*.npz"):  # a truncated file (a crash while writing) is computed again
        f.write_bytes(f.read_bytes()[:40])
    again, found = labels_mod.resolve_overlaps_cached(polys, "largest", "regions", tmp_path)
    assert calls[-1] == "largest" and found == want_found
    assert shapely.to_wkb(again.geometry.values).tolist() == shapely.to_wkb(want.geometry.values).tolist()


# Three mutually overlapping boxes (km): A 10 x 10 = 100 km2, B 10 x 9 = 90 km2, C 26 x 14 = 364 km2.
# Overlaps: A&C x 0-6, y 0-10 (60); A&B x 4-10, y 8-10 (12); B&C x 4-6, y 8-14 (12); all three
# x 4-6, y 8-10 (4). Rule 'largest' by original area (C > A > B): C keeps all 364 km2; A loses A&C:
# 100 - 60 = 40; B loses A&B and B&C: 90 - 12 - 12 + 4 (counted twice) = 70. Total = union 474.
# Comparing areas already cut (A cut by C first is 40 < 90) would hand A&B outside C to B instead.
THREE = {"A": (0, 0, 10, 10), "B": (4, 8, 14, 17), "C": (-20, 0, 6, 14)}


@pytest.mark.parametrize("order", list(itertools.permutations("ABC")), ids="".join)
def test_overlaps__largest_uses_original_areas_whatever_the_order(order):
    polys = _polys(*(shapely.box(*(1000.0 * v for v in THREE[k])) for k in order), ids=list(order))
    fixed, found = resolve_overlaps(polys, "largest")
    assert len(found) == 3
    area = dict(zip(fixed["region_id"], shapely.area(fixed.geometry.values) / 1e6))
    assert area == pytest.approx({"A": 40.0, "B": 70.0, "C": 364.0}, rel=1e-12)
    # nothing assigned twice, nothing lost
    for g1, g2 in itertools.combinations(fixed.geometry.values, 2):
        assert g1.intersection(g2).area < 1e-6
    assert shapely.union_all(fixed.geometry.values).area / 1e6 == pytest.approx(474.0, rel=1e-12)
    # A keeps the part of A&B outside C (x 6-10, y 8-10) although C cut A before A met B
    a = fixed.set_index("region_id").geometry["A"]
    assert a.contains(shapely.Point(8000, 9000)) and not a.contains(shapely.Point(5000, 9000))


def test_invalid_polygon_repaired_with_named_warning(tmp_path):
    from pipeline.io.vectors import read_regions

    bowtie = shapely.Polygon([(0, 0), (2000, 2000), (2000, 0), (0, 2000)])
    assert not bowtie.is_valid
    gpd.GeoDataFrame({"code": [5], "name": ["Bow"]}, geometry=[bowtie], crs=CHINA_ALBERS).to_file(
        tmp_path / "bad.gpkg", driver="GPKG")
    with pytest.warns(UserWarning, match=r"repaired invalid geometries of \['5'\]"):
        regions = read_regions(tmp_path / "bad.gpkg", None, "code", "name")
    assert regions.geometry.is_valid.all()
    assert regions.geometry.area.iloc[0] == pytest.approx(2 * 1000 * 1000)  # two triangles of 1 km2


def test_cache__second_call_reuses_labels(tmp_path):
    polys = _polys(shapely.box(0, 0, 1500, 3000))
    first = region_labels(polys, GRID, tmp_path)
    second = region_labels(polys, GRID, tmp_path)
    assert not first.info["cache_hit"] and second.info["cache_hit"]
    np.testing.assert_array_equal(first.whole.compute(), second.whole.compute())
    np.testing.assert_array_equal(first.fraction, second.fraction)
    assert len(list(tmp_path.glob("labels-*"))) == 1
    # a moved polygon is another key
    third = region_labels(_polys(shapely.box(0, 0, 1600, 3000)), GRID, tmp_path)
    assert not third.info["cache_hit"]
    assert second.region_ids[-1] == UNALLOCATED


def test_overlaps__projection_artefacts_are_repaired_before_overlay():
    """A self-touching polygon (as a coast and an offshore zone a hair apart can become once
    projected) must not crash the overlap check: it is repaired, and its area kept.
    The bow-tie over box(0, 0, 2, 2) is two triangles of 1 m2 each after repair."""
    bow = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bow.is_valid
    other = shapely.box(5, 5, 6, 6)
    polys = gpd.GeoDataFrame({"region_id": ["a", "b"]}, geometry=[bow, other], crs=CHINA_ALBERS)
    out, found = resolve_overlaps(polys, None)
    assert found == []
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(2.0)


@pytest.mark.parametrize("chunks", [32, 16, 20])
def test_cache__blocks_of_one_label_are_not_read(tmp_path, chunks, monkeypatch):
    """A block whose label tiles hold one label is that constant, not read from whole.tif: the labels
    equal the file pixel for pixel, and blocks are read only where a tile they touch holds more than
    one label. Tiles are 32 px here (the grid is small); chunks of 32 cover whole tiles (then
    exactly the blocks of more than one label, counted with numpy on the file, are read); chunks of
    16 and 20 do not (a block is constant only when all the tiles it touches are)."""
    import rasterio

    from pipeline.io import rasters
    from pipeline.io.label_cache import is_constant

    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 100_000, 40_000), chunks=chunks)  # 40 x 100 px
    west = shapely.box(0, 0, 41_300, 40_000)
    east = shapely.Polygon([(41_300, 0), (100_000, 0), (100_000, 27_700), (90_000, 40_000), (41_300, 40_000)])
    reads = []
    real = rasters._read_window  # patched before the lazy array is made: its tasks hold the function
    monkeypatch.setattr(rasters, "_read_window", lambda spec, band, w: reads.append(w) or real(spec, band, w))
    labels = region_labels(_polys(west, east), grid, tmp_path)
    (tif,) = tmp_path.glob("labels-*/whole.tif")
    with rasterio.open(tif) as ds:
        on_disk = ds.read(1)
        assert ds.dtypes[0] == "int8"  # 3 labels and -1: one byte per pixel
        assert ds.block_shapes[0] == (32, 32)
    mixed = sum(np.unique(on_disk[i:i + chunks, j:j + chunks]).size > 1
                for i in range(0, 40, chunks) for j in range(0, 100, chunks))
    tiles_mixed = sum(np.unique(on_disk[(i // 32) * 32:-(-min(i + chunks, 40) // 32) * 32,
                                        (j // 32) * 32:-(-min(j + chunks, 100) // 32) * 32]).size > 1
                      for i in range(0, 40, chunks) for j in range(0, 100, chunks))
    import dask

    blocks = dask.get(dict(labels.whole.__dask_graph__()), labels.whole.__dask_keys__())  # as the tasks return them
    np.testing.assert_array_equal(np.block([list(row) for row in blocks]), on_disk)
    n_const = sum(is_constant(b) for row in blocks for b in row)
    assert len(reads) == tiles_mixed and len(reads) + n_const == labels.whole.npartitions
    assert n_const > 0 and mixed > 0
    if chunks % 32 == 0:  # whole tiles: exactly the blocks of more than one label are read
        assert len(reads) == mixed


def test_strip_entries__match_a_pixel_by_pixel_reference():
    """The vectorised strip bookkeeping against a plain per-pixel loop, bit for bit: pixels of 1-3
    regions (random fractions, some over-covered), whole pixels, the uncovered remainder going to
    *unallocated*, each pixel's fractions summed in region order."""
    import pandas as pd

    from pipeline.labels import _WHOLE, _strip_entries

    rng = np.random.default_rng(5)
    n_reg, shape = 4, (6, 10)
    for _ in range(50):
        entries = {}  # pixel -> {region: fraction}
        for c in range(shape[0] * shape[1]):
            if rng.random() < 0.1:
                continue  # uncovered
            k = 1 if rng.random() < 0.4 else int(rng.integers(2, 4))
            f = [1.0] if k == 1 and rng.random() < 0.5 else rng.dirichlet(np.ones(k)) * rng.choice([1.0, 0.9, 1.1])
            entries[c] = dict(zip(rng.choice(n_reg, k, replace=False).tolist(), f))
        cov = pd.DataFrame({"cell_id": [np.array([c for c in entries if r in entries[c]], dtype=np.int64)
                                        for r in range(n_reg)],
                            "coverage": [np.array([entries[c][r] for c in entries if r in entries[c]])
                                         for r in range(n_reg)]})
        whole = np.full(shape, n_reg, dtype=np.int32)
        cell, frac, reg, overlap, covered = _strip_entries(cov, np.arange(n_reg), whole, n_reg)
        exp_whole = np.full(shape[0] * shape[1], n_reg)
        exp, over = [], []
        for c in sorted(entries):
            regs = sorted(entries[c])
            fr = np.array([entries[c][r] for r in regs])
            total = float(np.add.reduceat(fr, [0])[0])
            over.append(total)
            if len(regs) == 1 and total >= _WHOLE:
                exp_whole[c] = regs[0]
                continue
            exp_whole[c] = -1
            exp += [(c, r, f * (1.0 / total if total > 1.0 else 1.0)) for r, f in zip(regs, fr)]
            if 1.0 - min(total, 1.0) > 0:
                exp.append((c, n_reg, 1.0 - min(total, 1.0)))
        np.testing.assert_array_equal(whole.ravel(), exp_whole)
        assert cell.tolist() == [e[0] for e in exp] and reg.tolist() == [e[1] for e in exp]
        assert frac.tolist() == [e[2] for e in exp]  # bit for bit
        over = np.array(over)
        assert overlap == float((over[over > 1.0] - 1.0).sum()) and covered == len(entries)


def _dense_fractions(labels, n_px, n_regions):
    """(pixel, region) covered fraction from labels: 1 for a whole pixel, the entries for shared ones."""
    dense = np.zeros((n_px, n_regions + 1))
    whole = labels.whole.compute().ravel().astype(np.int64)
    inside = whole >= 0
    dense[np.flatnonzero(inside), whole[inside]] = 1.0
    np.add.at(dense, (labels.cell, labels.region), labels.fraction)
    return dense


def test_build__polygons_cut_to_each_strip_give_exactextracts_fractions(tmp_path, monkeypatch):
    """Each strip sees its polygons cut to the strip (plus a pixel): every pixel's fractions equal those
    of one exactextract call on the whole grid with the uncut polygons, to exactextract's single
    precision (2 float32 steps); the whole pixels are the same."""
    import pipeline.labels as lab
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 60_000, 45_000), chunks=16)
    rng = np.random.default_rng(11)

    def star(cx, cy):  # a ragged polygon of 200 vertices across several strips
        a = np.sort(rng.uniform(0, 2 * np.pi, 200))
        r = rng.uniform(6_000, 14_000, 200)
        return shapely.Polygon(np.c_[cx + r * np.cos(a), cy + r * np.sin(a)])

    polys = _polys(star(15_000, 22_000), star(33_000, 20_000), star(45_000, 27_000)).pipe(
        lambda g: resolve_overlaps(g, "first")[0])
    monkeypatch.setattr(lab, "STRIP_PIXELS", 60 * 7)  # 7 rows a strip: 7 strips
    monkeypatch.setattr(lab, "label_processes", lambda n_strips: 1)
    labels = region_labels(polys, grid, tmp_path)
    # reference: one call, no strips, no cuts, the same bookkeeping
    x0, y0, x1, y1 = grid.bounds
    src = NumPyRasterSource(np.zeros(grid.shape, dtype=np.uint8), xmin=x0, ymin=y0, xmax=x1, ymax=y1,
                            srs_wkt=grid.crs_wkt)
    cov = exact_extract(src, polys[["geometry"]], ["cell_id", "coverage"], output="pandas")
    whole = np.full(grid.shape, len(polys), dtype=np.int32)
    cell, frac, reg, _, _ = lab._strip_entries(cov, np.arange(len(polys)), whole, len(polys))
    ref = lab.RegionLabels(labels.region_ids, da.from_array(whole), cell, reg, frac, {})
    n_px = grid.shape[0] * grid.shape[1]
    got, exp = _dense_fractions(labels, n_px, len(polys)), _dense_fractions(ref, n_px, len(polys))
    assert (exp[:, :-1] > 0).sum(axis=0).min() > 300  # every polygon covers many pixels, 7 strips' worth
    np.testing.assert_allclose(got, exp, rtol=0, atol=2 * 2.0**-23)
    assert np.mean(labels.whole.compute() == whole) > 0.999


def test_build__worker_processes_give_the_labels_of_one_process(tmp_path, monkeypatch):
    """Strips labelled by 2 forked workers: the same labels, bit for bit, as one process, and every
    region's area equal to its polygon's (a strip lost or written twice would change both)."""
    import pipeline.labels as lab

    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 60_000, 45_000), chunks=16)
    rng = np.random.default_rng(5)
    hulls = [shapely.convex_hull(shapely.MultiPoint(rng.uniform([x, 2000], [x + 25_000, 43_000], (9, 2))))
             for x in (1000, 17_000, 33_000)]
    polys = _polys(*hulls).pipe(lambda g: resolve_overlaps(g, "first")[0])
    monkeypatch.setattr(lab, "STRIP_PIXELS", 60 * 7)  # 7 rows a strip: 7 strips
    built = {}
    for n in (1, 2):
        monkeypatch.setattr(lab, "label_processes", lambda n_strips, n=n: n)
        built[n] = region_labels(polys, grid, tmp_path / f"p{n}")
        assert built[n].info["cache_hit"] is False
    one, two = built[1], built[2]
    np.testing.assert_array_equal(one.whole.compute(), two.whole.compute())
    for field in ("cell", "region", "fraction"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    area = _pixel_area_km2(two, len(polys))
    np.testing.assert_allclose(area[:-1], polys.area.to_numpy() / 1e6, rtol=1e-9)


def test_label_processes__one_per_cpu_in_a_fresh_process_capped_by_the_environment(monkeypatch):
    """In a process with no other threads (a fresh interpreter, as the CLI's at label time) the
    build forks one worker per usable CPU (at most the strips); the variable caps it; junk is refused."""
    import os
    import subprocess
    import sys

    code = "from pipeline.labels import label_processes; print(label_processes(3), label_processes(1))"
    env = {k: v for k, v in os.environ.items() if k != "CARBON_SINK_LABEL_PROCESSES"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    cpus = len(os.sched_getaffinity(0))
    assert out.split() == [str(min(cpus, 3)), "1"]
    out = subprocess.run([sys.executable, "-c", code], env=env | {"CARBON_SINK_LABEL_PROCESSES": "1"},
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "1"]
    from pipeline.labels import label_processes

    monkeypatch.setenv("CARBON_SINK_LABEL_PROCESSES", "two")
    with pytest.raises(InputError, match="CARBON_SINK_LABEL_PROCESSES='two' is not a whole number.*Fix"):
        label_processes(4)


def test_label_processes__none_while_other_threads_run():
    import threading

    from pipeline.labels import label_processes

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert label_processes(8) == 1
    finally:
        stop.set()
        t.join()


def test_cache__killed_builds_folders_are_removed_by_the_next_build(tmp_path):
    import json
    import os
    import socket
    import subprocess

    from pipeline.io import label_cache

    gone = subprocess.Popen(["true"])
    gone.wait()  # a process that has exited: its pid is not alive
    host = socket.gethostname()
    owners = {"dead": {"host": host, "pid": gone.pid}, "alive": {"host": host, "pid": os.getpid()},
              "other-host": {"host": host + "-elsewhere", "pid": gone.pid}}
    for name, owner in owners.items():
        (tmp_path / f".labels-{name}").mkdir()
        (tmp_path / f".labels-{name}" / label_cache.OWNER).write_text(json.dumps(owner))
    # a build running in another container (its pid means nothing here), old: its lock keeps it
    (tmp_path / ".labels-locked").mkdir()
    held = label_cache._hold_owner_file(tmp_path / ".labels-locked" / label_cache.OWNER)
    (tmp_path / ".labels-locked" / label_cache.OWNER).write_text(json.dumps({"host": host, "pid": gone.pid}))
    for name, age in (("old-unowned", 2 * label_cache.ABANDONED_S), ("new-unowned", 0),
                      ("locked", 2 * label_cache.ABANDONED_S)):
        d = tmp_path / f".labels-{name}"
        d.mkdir(exist_ok=True)
        t = d.stat().st_mtime - age
        os.utime(d, (t, t))
    try:
        region_labels(_polys(shapely.box(0, 0, 1500, 3000)), GRID, tmp_path)  # a build: it cleans up first
    finally:
        os.close(held)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in left if n.startswith(".labels-")] == [".labels-alive", ".labels-locked",
                                                              ".labels-new-unowned", ".labels-other-host"]
    built = [p for p in tmp_path.iterdir() if p.name.startswith("labels-")]
    assert len(built) == 1 and not (built[0] / label_cache.OWNER).exists()

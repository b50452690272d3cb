"""Overview levels made window by window in the pass, checked against footprint means computed
independently with numpy, and through the COGs they end up in."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from pipeline.export import MAPS
from pipeline.grid import CHINA_ALBERS, AnalysisGrid
from pipeline.io.rasters import StagedMap
from pipeline.overviews import average_levels, nearest_levels, overview_shapes


def footprint_means(base: np.ndarray, k: int) -> np.ndarray:
    """Level k by definition: np.nanmean (float64) over each 2**k x 2**k footprint, clipped at the edges."""
    f = 1 << k
    h, w = base.shape
    out = np.full((-(-h // f), -(-w // f)), np.nan)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            block = base[i * f:(i + 1) * f, j * f:(j + 1) * f].astype(np.float64)
            if np.isfinite(block).any():
                out[i, j] = np.nanmean(block)
    return out


def footprint_centres(base: np.ndarray, k: int) -> np.ndarray:
    f = 1 << k
    h, w = base.shape
    out = np.empty((-(-h // f), -(-w // f)), dtype=base.dtype)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = base[min(i * f + f // 2, h - 1), min(j * f + f // 2, w - 1)]
    return out


def test_overview_shapes__halved_rounding_up_until_one_tile():
    assert overview_shapes((5530, 4840)) == [(2765, 2420), (1383, 1210), (692, 605), (346, 303), (173, 152)]
    assert overview_shapes((257, 10)) == [(129, 5)]
    assert overview_shapes((256, 256)) == []


def test_average_levels__equal_footprint_means_with_nan():
    rng = np.random.default_rng(7)
    base = rng.normal(50, 30, (37, 53)).astype(np.float32)
    base[rng.random(base.shape) < 0.3] = np.nan
    base[:8, :8] = np.nan  # a footprint with no valid pixel at every level up to 3
    levels = average_levels(base, 3)
    for k, level in enumerate(levels, 1):
        expected = footprint_means(base, k)
        assert level.dtype == np.float32 and level.shape == expected.shape
        np.testing.assert_array_equal(np.isnan(level), np.isnan(expected))
        np.testing.assert_allclose(level, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(levels[2][0, 0])


def test_levels__windows_on_the_coarsest_factor_give_the_whole_map_levels():
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, (50, 70)).astype(np.float32)
    base[rng.random(base.shape) < 0.1] = np.nan
    cats = rng.integers(0, 9, base.shape).astype(np.int32)
    whole, whole_c = average_levels(base, 2), nearest_levels(cats, 2)
    for r0 in range(0, 50, 16):
        for c0 in range(0, 70, 32):
            win = (slice(r0, r0 + 16), slice(c0, c0 + 32))
            for k, (part, part_c) in enumerate(zip(average_levels(base[win], 2), nearest_levels(cats[win], 2)), 1):
                rows, cols = slice(r0 >> k, (r0 >> k) + part.shape[0]), slice(c0 >> k, (c0 >> k) + part.shape[1])
                np.testing.assert_array_equal(part, whole[k - 1][rows, cols])
                np.testing.assert_array_equal(part_c, whole_c[k - 1][rows, cols])
    for k in (1, 2):
        np.testing.assert_array_equal(whole_c[k - 1], footprint_centres(cats, k))


@pytest.mark.parametrize("chunks, in_pass", [(64, True), (20, False)])
def test_staged_map__cog_holds_the_map_and_its_levels(tmp_path, chunks, in_pass):
    """Windows written in any order (pieces of chunk rows, as the pass writes them) make a COG whose
    base is the map and whose levels are the footprint means; with chunks not divisible by the
    coarsest factor (20 and 2**3), the levels are made from the staged map at the copy, alike."""
    shape = (1100, 600)  # levels 550 x 300, 275 x 150, 138 x 75
    grid = AnalysisGrid(CHINA_ALBERS, from_origin(0, 0, 1000, 1000), shape, chunks)
    rng = np.random.default_rng(11)
    base = (rng.normal(10, 5, shape) + np.linspace(0, 100, shape[1])).astype(np.float32)
    base[rng.random(shape) < 0.05] = np.nan
    base[:300, :200] = np.nan
    stage = StagedMap(tmp_path / ".m.stage.tif", grid, "float32", np.nan, {"units": "g C m-2 yr-1"})
    assert stage.in_pass == in_pass and len(stage.levels) == (3 if in_pass else 0)
    corners = [(r, c) for r in range(0, shape[0], 2 * chunks) for c in range(0, shape[1], 3 * chunks)]
    for r, c in corners[::-1]:
        stage.write(base[r:r + 2 * chunks, c:c + 3 * chunks], r, c)
    stage.close()
    stage.to_cog(tmp_path / "m.tif", "a test map")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tif"]  # staging files removed
    with rasterio.open(tmp_path / "m.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.descriptions == ("a test map",) and src.tags()["units"] == "g C m-2 yr-1"
        assert src.overviews(1) == [2, 4, 8]
        np.testing.assert_array_equal(src.read(1), base)
    for k in (1, 2, 3):
        with rasterio.open(tmp_path / "m.tif", overview_level=k - 1) as ov:
            np.testing.assert_allclose(ov.read(1), footprint_means(base, k), rtol=1e-6, equal_nan=True)


def test_run__cog_levels_are_footprint_means_of_the_map(sample_run):
    for name in [*MAPS, "regions"]:
        path = sample_run.run_dir / "maps" / f"{name}.tif"
        with rasterio.open(path) as src:
            base = src.read(1)
            n = len(src.overviews(1))
        assert n >= 1
        for k in range(1, n + 1):
            with rasterio.open(path, overview_level=k - 1) as ov:
                level = ov.read(1)
            if name == "regions":
                np.testing.assert_array_equal(level, footprint_centres(base, k))
            else:
                np.testing.assert_allclose(level, footprint_means(base, k), rtol=1e-6, equal_nan=True)


def test_staged_map__categorical_levels_from_the_stage_and_huge_maps_left_to_gdal(tmp_path, monkeypatch):
    """A categorical map whose chunks are not aligned gets its centre-pixel levels from the staged
    map; with the strip limit below one aligned strip, the levels are GDAL's (and still present)."""
    import pipeline.io.rasters as rasters

    shape = (700, 530)  # levels 350 x 265, 175 x 133
    grid = AnalysisGrid(CHINA_ALBERS, from_origin(0, 0, 1000, 1000), shape, 30)
    cats = np.random.default_rng(2).integers(0, 40, shape).astype(np.int32)
    for limit, ours in ((rasters.FROM_STAGE_MAX_BYTES, True), (1000, False)):
        monkeypatch.setattr(rasters, "FROM_STAGE_MAX_BYTES", limit)
        out = tmp_path / f"limit{limit}"
        out.mkdir()
        stage = StagedMap(out / ".c.stage.tif", grid, "int32", 0, {"kind": "categorical"}, categorical=True)
        assert not stage.in_pass and len(stage.shapes) == (2 if ours else 0)
        for r in range(0, shape[0], 30):
            stage.write(cats[r:r + 30], r, 0)
        stage.close()
        stage.to_cog(out / "c.tif", "labels")
        assert sorted(p.name for p in out.iterdir()) == ["c.tif"]
        with rasterio.open(out / "c.tif") as src:
            np.testing.assert_array_equal(src.read(1), cats)
            assert src.overviews(1) == [2, 4]
        if ours:
            for k in (1, 2):
                with rasterio.open(out / "c.tif", overview_level=k - 1) as ov:
                    np.testing.assert_array_equal(ov.read(1), footprint_centres(cats, k))

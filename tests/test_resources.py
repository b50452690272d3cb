"""Resources checked before any work: a grid whose task graph or maps cannot fit is refused with the
numbers, large ones warn, and regions of a few pixels are flagged as under-resolved (issue 19)."""

import warnings

import geopandas as gpd
import pytest
import shapely
import yaml
from affine import Affine

from pipeline.cli import main
from pipeline.errors import ConfigError
from pipeline.grid import CHINA_ALBERS, AnalysisGrid
from pipeline.resources import GRAPH_BYTES_PER_BLOCK, MAP_BYTES_PER_PIXEL, check_resources, estimate


def _grid(ny, nx, res=1000.0, chunks=512):
    return AnalysisGrid(gpd.GeoSeries([], crs=CHINA_ALBERS).crs.to_wkt(), Affine(res, 0, 0, 0, -res, ny * res),
                        (ny, nx), chunks)


def test_estimate_by_hand():
    """1,000 x 1,500 px in 512 px chunks: 2 x 3 = 6 blocks; 1.5 Mpx x 26.67 bytes of maps."""
    est = estimate(_grid(1000, 1500), cores=2)
    assert est["blocks"] == 6 and est["pixels"] == 1.5e6
    assert est["map_bytes"] == pytest.approx(1.5e6 * 5 * 4 * 4 / 3)
    assert est["graph_bytes"] == 6 * GRAPH_BYTES_PER_BLOCK


def test_a_graph_larger_than_half_the_memory_is_refused():
    g = _grid(100_000, 100_000)  # 196 x 196 blocks
    blocks = 196 * 196
    with pytest.raises(ConfigError, match=f"{blocks:,} blocks") as exc:
        check_resources(g, memory_bytes=blocks * GRAPH_BYTES_PER_BLOCK * 1.9, free_bytes=1e15)
    assert "Fix:" in str(exc.value)
    with pytest.warns(UserWarning, match="266.7 GB"):  # fits, but large: a warning, no error
        check_resources(g, memory_bytes=blocks * GRAPH_BYTES_PER_BLOCK * 2.1, free_bytes=1e15)


def test_maps_larger_than_the_free_disk_are_refused_and_large_maps_warn():
    g = _grid(40_000, 40_000)  # 1.6e9 px: 42.7 GB of raw maps, at least 10.7 GB compressed
    raw = 1.6e9 * MAP_BYTES_PER_PIXEL
    with pytest.raises(ConfigError, match="free where --out is"):
        check_resources(g, memory_bytes=1e12, free_bytes=raw * 0.24)
    with pytest.warns(UserWarning, match="maps of about 42.7 GB"):
        check_resources(g, memory_bytes=1e12, free_bytes=raw * 0.26)


def test_regions_of_a_few_pixels_are_under_resolved():
    """10 km pixels (100 km2): a 500 km2 region spans 5 pixels (warned), a 5,000 km2 one 50 (not)."""
    g = _grid(100, 100, res=10_000.0)
    small, big = shapely.box(0, 0, 20_000, 25_000), shapely.box(100_000, 0, 200_000, 50_000)
    regions = gpd.GeoDataFrame({"region_name": ["Tiny", "Large"]}, geometry=[small, big], crs=CHINA_ALBERS)
    with pytest.warns(UserWarning, match=r"1 of 2 regions cover fewer than 10 pixels.*\(Tiny\)"):
        check_resources(g, regions, memory_bytes=1e12, free_bytes=1e15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_resources(g, regions.iloc[[1]], memory_bytes=1e12, free_bytes=1e15)


def test_a_1m_grid_is_refused_by_validate_and_run_before_any_work(tmp_path, capsys, sample_copy):
    """The sample at 1 m: 1.8 million Mpx. validate exits 2 naming the grid; run exits 2 and makes no folder."""
    cfg = yaml.safe_load(sample_copy.read_text())
    cfg["grid"].update(resolution=1, chunks=512)
    sample_copy.write_text(yaml.safe_dump(cfg))
    assert main(["validate", str(sample_copy)]) == 2
    assert "task graph alone needs" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(sample_copy), "--out", str(out), "--quiet"]) == 2
    assert "task graph alone needs" in capsys.readouterr().err and not out.exists()

"""Regional sums on the tiny case, worked out by hand (see conftest.tiny_case)."""

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_case
from pipeline import run
from pipeline.units import MgC_to_MtCO2

# 1 km2 pixels. Forest: 1 Mg C ha-1 yr-1 = 100 g C m-2 yr-1 -> 100 Mg C yr-1 per pixel.
# Lake: burial 10, outgassing 30 g C m-2 yr-1 -> +10 and -30 Mg C yr-1 per pixel.
# West (x 0-1500 m): column 0 rows 0-2 forest (row 3 is nodata) = 3 px, plus half of column 1
#   (4 forest px x 0.5 = 2 px)                                      -> forest 5 km2, 500 Mg C yr-1
# East (x 1500-4000, rows 0-2): half of column 1 (3 x 0.5 = 1.5 px forest), column 2 (2 forest,
#   1 lake), column 3 (1 forest, 2 lake)                            -> forest 4.5 km2, 450 Mg C yr-1;
#   lake 3 km2: removal 30, emission 90, net -60 Mg C yr-1
# unallocated (row 3 east of 1500 m): half of column 1 + columns 2, 3 = 2.5 km2 forest, 250 Mg C yr-1
EXPECTED = {  # (region, ecosystem): (area_km2, removal, emission) in km2 and Mg C yr-1
    ("1", "forest"): (5.0, 500.0, 0.0), ("1", "open_water"): (0.0, 0.0, 0.0),
    ("2", "forest"): (4.5, 450.0, 0.0), ("2", "open_water"): (3.0, 30.0, 90.0),
    ("unallocated", "forest"): (2.5, 250.0, 0.0), ("unallocated", "open_water"): (0.0, 0.0, 0.0),
}


@pytest.mark.parametrize("chunks", [1, 2, 3, 4])
def test_region_ecosystem__hand_computed(tmp_path, chunks):
    cfg = tiny_case(tmp_path / "case", **{"grid.chunks": chunks})
    result = run(cfg, tmp_path / "out")
    table = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert len(table) == len(EXPECTED)
    for key, (area, removal, emission) in EXPECTED.items():
        row = table.loc[key]
        assert row["area_km2"] == pytest.approx(area, rel=1e-12, abs=1e-12)
        assert row["removal_MgC_yr"] == pytest.approx(removal, rel=1e-12, abs=1e-9)
        assert row["emission_MgC_yr"] == pytest.approx(emission, rel=1e-12, abs=1e-9)
        assert row["sink_MgC_yr"] == pytest.approx(removal - emission, rel=1e-12, abs=1e-9)
    assert result.qa["nodata_px"] == 1


def test_budgets__hand_computed(tmp_path):
    result = run(tiny_case(tmp_path / "case"), tmp_path / "out")
    b = result.budgets.set_index("region_id")
    assert list(b.index) == ["1", "2", "unallocated"]
    assert b.loc["1", "sink_terrestrial_MtCO2"] == pytest.approx(500 * 44 / 12 / 1e6)
    assert b.loc["2", "sink_water_MtCO2"] == pytest.approx(-60 * 44 / 12 / 1e6)
    assert b.loc["2", "gross_emission_MtCO2"] == pytest.approx(90 * 44 / 12 / 1e6)
    assert b.loc["2", "sink_total_MtCO2"] == pytest.approx((450 - 60) * 44 / 12 / 1e6)
    # emissions: the latest year of the table (2021): West 6.0, East 2.0 Mt CO2
    assert b.loc["1", "emissions_MtCO2"] == 6.0 and b.loc["1", "emissions_year"] == 2021
    assert b.loc["2", "net_MtCO2"] == pytest.approx(2.0 - (450 - 60) * 44 / 12 / 1e6)
    assert b.loc["unallocated", "sink_ocean_MtCO2"] == 0.0
    # the national balance: everything over regions plus unallocated
    bal = result.balance.set_index("item")["value"]
    assert bal["sink_total"] == pytest.approx((500 + 450 - 60 + 250) * 44 / 12 / 1e6)
    assert bal["emissions"] == pytest.approx(8.0)
    assert bal["net_emission"] == pytest.approx(8.0 - (500 + 450 - 60 + 250) * 44 / 12 / 1e6)


def test_conservation__sum_of_regions_equals_sum_of_pixels(sample_run):
    """Regions + unallocated = the whole map, per realm, to 1e-9 (from the stage functions)."""
    from conftest import SAMPLE_CONFIG
    from pipeline import align, classify, compute_sinks, grid_from_spec, load, load_config
    from pipeline.zones import split_by_zones

    cfg = load_config(SAMPLE_CONFIG)
    inputs = load(cfg)
    grid = grid_from_spec(cfg.grid, inputs.regions)
    layers = align(inputs.rasters, grid)
    eco, _ = classify(layers["landcover"], inputs.scheme, layers["landcover"].attrs["nodata"])
    eco = split_by_zones(eco, inputs.zones, grid)  # the sample's seas (landcover.zones)
    fluxes = {"sland": layers["flux:sland"]}
    sinks = compute_sinks(eco, inputs.scheme, inputs.coefficients, cfg.sinks, fluxes)
    area = grid.pixel_area()
    table = sample_run.region_ecosystem
    for realm, s in sinks.items():
        direct = float(((s.removal - s.emission) * area).where(eco >= 0).sum().compute()) / 1e6  # g -> Mg
        regional = table.loc[table["realm"] == realm, "sink_MgC_yr"].sum()
        assert regional == pytest.approx(direct, rel=1e-9)
        assert abs(direct) > 0


def test_area__regions_match_polygons(sample_run):
    """Each province's pixel area (land + offshore, coverage-weighted) equals its polygon area in
    the grid's equal-area CRS, within the pixels the sample's nodata mask leaves out."""
    import geopandas as gpd

    from conftest import ROOT
    from pipeline.grid import CHINA_ALBERS

    prov = gpd.read_file(ROOT / "sample_rasters" / "regions.gpkg", layer="provinces").to_crs(CHINA_ALBERS)
    off = gpd.read_file(ROOT / "sample_rasters" / "regions.gpkg", layer="offshore").to_crs(CHINA_ALBERS)
    polygon_km2 = prov.set_index(prov["adcode"].astype(str)).area / 1e6
    polygon_km2 = polygon_km2.add(off.set_index(off["adcode"].astype(str)).area / 1e6, fill_value=0)
    pixel_km2 = sample_run.budgets.set_index("region_id")["area_km2"]
    for rid in polygon_km2.index.intersection(pixel_km2.index):
        # pixels of the 0.05 deg mask that fall outside the domain are nodata: allow 2 %
        assert pixel_km2[rid] == pytest.approx(polygon_km2[rid], rel=0.02), rid


def test_exact_sums_stay_exact_when_one_value_repeats_over_a_million_pixels(tmp_path):
    """A coarse flux product repeats one value over many pixels, so each pixel's rounding to the sum's
    quantum repeats too (it does not average out). 1,000 x 1,000 pixels of 1 km2 at 0.1234567 g C m-2
    yr-1: the sum must equal n x d x area (math.fsum) to 1e-10 (the invariant asks 1e-9), and not depend on
    the chunking."""
    import math

    import dask.array as da
    import geopandas as gpd
    import shapely
    import xarray as xr

    from pipeline.aggregate import aggregate
    from pipeline.grid import CHINA_ALBERS, AnalysisGrid
    from pipeline.labels import region_labels

    d = 0.1234567
    out = []
    for chunks in (250, 512):
        grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 1e6, 1e6), chunks)
        polys = gpd.GeoDataFrame({"region_id": ["all"]}, geometry=[shapely.box(0, 0, 1e6, 1e6)], crs=CHINA_ALBERS)
        labels = region_labels(polys, grid, tmp_path / "cache")
        cls = xr.DataArray(da.zeros(grid.shape, dtype=np.int16, chunks=grid.dask_chunks), dims=("y", "x"))
        dens = xr.DataArray(da.full(grid.shape, d, chunks=grid.dask_chunks), dims=("y", "x"))
        sums = aggregate(cls, [dens], labels, grid, 1).compute()
        out.append(sums)
        expected = math.fsum([d * 1e6] * 1_000_000)
        assert sums[0, 0, 1] == pytest.approx(expected, rel=1e-10)
        assert sums[0, 0, 0] == 1e12  # areas are exact
    assert np.array_equal(out[0], out[1])

"""Zones (``landcover.zones``): polygons split the sea into per-sea ecosystems with their own rates.

Hand-computed on the tiny case (1 km pixels, 1 km2 each): two zone polygons over sea pixels, one of them
also over a forest pixel (which must stay forest), and sea pixels in no zone (which keep marginal_sea).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline import run
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.grid import CHINA_ALBERS
from pipeline.load import load
from pipeline.tables import read_coefficients
from pipeline.validate import validate
from tests.conftest import ROOT, tiny_case, write_tif

#: Codes (row 0 north): 1 forest, 3 sea, 9 nodata. Pixel (row r, col c) covers x c..c+1 km, y 3-r..4-r km.
CODES = np.array([[1, 1, 3, 3],
                  [1, 1, 3, 3],
                  [1, 3, 3, 3],
                  [9, 3, 3, 3]], dtype=np.uint8)
#: Rates [g C m-2 yr-1]: zone A a sink, zone B a source, the sea outside the zones a weaker sink.
RATE_A, RATE_B, RATE_SEA = 50.0, 20.0, 10.0


def _case(tmp, zones: dict | None = None, coefficients_extra: str | None = None):
    """The tiny case with sea pixels and two zones: A = x 2..4 km, y 2..4 km (the four sea pixels of rows
    0-1, columns 2-3); B = x 0..2 km, y 0..2 km (sea pixels (2, 1) and (3, 1), forest pixel (2, 0))."""
    path = tiny_case(tmp)
    write_tif(tmp / "landcover.tif", CODES, nodata=9)
    (tmp / "scheme.csv").write_text("code,name,ecosystem,realm\n1,Forest,forest,terrestrial\n"
                                    "2,Lake,open_water,inland_water\n3,Sea,marginal_sea,ocean\n")
    with open(tmp / "coefficients.csv", "a") as f:
        f.write(f"ocean,marginal_sea,removal,{RATE_SEA},5,15,g C m-2 yr-1,test,test sea\n")
        f.write(coefficients_extra if coefficients_extra is not None else
                f"ocean,zone_a,removal,{RATE_A},40,60,g C m-2 yr-1,test,test sink sea\n"
                f"ocean,zone_b,emission,{RATE_B},10,30,g C m-2 yr-1,test,test source sea\n")
    gpd.GeoDataFrame({"sea": ["Sea A", "Sea B"]},
                     geometry=[shapely.box(2000, 2000, 4000, 4000), shapely.box(0, 0, 2000, 2000)],
                     crs=CHINA_ALBERS).to_file(tmp / "seas.gpkg", layer="seas", driver="GPKG")
    import yaml

    cfg = yaml.safe_load(path.read_text())
    cfg["landcover"]["zones"] = zones if zones is not None else {
        "path": "seas.gpkg", "layer": "seas", "field": "sea", "ecosystem_of": {"Sea A": "zone_a", "Sea B": "zone_b"}}
    cfg["sinks"]["ocean"] = {"method": "coefficient"}
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_per_zone_sums_by_hand(tmp_path):
    result = run(_case(tmp_path / "case"), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    # zone A: 4 sea pixels, all in East (x >= 1500, y >= 1000): 4 km2 x 50 g C m-2 yr-1 = 200 Mg C yr-1
    assert t.loc[("2", "zone_a"), "area_km2"] == pytest.approx(4.0)
    assert t.loc[("2", "zone_a"), "sink_MgC_yr"] == pytest.approx(4e6 * RATE_A / 1e6)
    assert t.loc[("1", "zone_a"), "area_km2"] == pytest.approx(0.0, abs=1e-9)
    # zone B, a source: pixel (2, 1) is half West, half East; pixel (3, 1) half West, half unallocated
    for rid, km2 in (("1", 1.0), ("2", 0.5), ("unallocated", 0.5)):
        assert t.loc[(rid, "zone_b"), "area_km2"] == pytest.approx(km2)
        assert t.loc[(rid, "zone_b"), "emission_MgC_yr"] == pytest.approx(km2 * 1e6 * RATE_B / 1e6)
        assert t.loc[(rid, "zone_b"), "sink_MgC_yr"] == pytest.approx(-km2 * 1e6 * RATE_B / 1e6)
        assert t.loc[(rid, "zone_b"), "removal_MgC_yr"] == pytest.approx(0.0, abs=1e-9)
    # sea in no zone keeps marginal_sea: (2, 2), (2, 3) in East, (3, 2), (3, 3) unallocated
    for rid, km2 in (("1", 0.0), ("2", 2.0), ("unallocated", 2.0)):
        assert t.loc[(rid, "marginal_sea"), "area_km2"] == pytest.approx(km2, abs=1e-9)
        assert t.loc[(rid, "marginal_sea"), "sink_MgC_yr"] == pytest.approx(km2 * RATE_SEA, abs=1e-9)
    # the forest pixel under zone B stays forest: 5 forest pixels in all, none turned into sea
    forest = result.region_ecosystem[result.region_ecosystem["ecosystem"] == "forest"]["area_km2"].sum()
    assert forest == pytest.approx(5.0)
    ocean = result.region_ecosystem[result.region_ecosystem["realm"] == "ocean"]
    assert ocean["area_km2"].sum() == pytest.approx(float((CODES == 3).sum()))
    assert ocean["sink_MgC_yr"].sum() == pytest.approx(4 * RATE_A - 2 * RATE_B + 4 * RATE_SEA)
    # every coefficient used, with its source, is in tables/coefficients.csv
    coef = pd.read_csv(tmp_path / "out" / "tables" / "coefficients.csv")
    assert set(coef["ecosystem"]) >= {"zone_a", "zone_b", "marginal_sea"}
    assert coef.loc[coef["ecosystem"] == "zone_b", "source"].iloc[0] == "test source sea"


def test_field_holding_ecosystem_names(tmp_path):
    """Without ecosystem_of the field's values are the ecosystem names."""
    case = tmp_path / "case"
    path = _case(case, zones={"path": "seas.gpkg", "layer": "seas", "field": "eco"})
    gdf = gpd.read_file(case / "seas.gpkg", layer="seas")
    gdf["eco"] = ["zone_a", "zone_b"]
    gdf.to_file(case / "seas.gpkg", layer="seas", driver="GPKG")
    inputs = load(load_config(path))
    assert inputs.scheme.ecosystems[-2:] == ("zone_a", "zone_b")
    assert inputs.scheme.ecosystem_realm[-2:] == ("ocean", "ocean")
    assert list(inputs.zones.frame["ecosystem"]) == ["zone_a", "zone_b"]


@pytest.mark.parametrize("zones, fragment", [
    ({"path": "seas.gpkg", "layer": "seas", "field": "nme"}, "no field 'nme'"),
    ({"path": "seas.gpkg", "layer": "sea", "field": "sea"}, "no layer 'sea'"),
    ({"path": "seas.gpkg", "layer": "seas", "field": "sea", "ecosystem_of": {"Sea C": "zone_c"}}, "'Sea C'"),
])
def test_bad_layer_or_field_is_a_clear_error(tmp_path, zones, fragment):
    path = _case(tmp_path / "case", zones=zones)
    with pytest.raises(InputError, match="landcover.zones") as err:
        load(load_config(path))
    assert fragment in str(err.value) and "seas.gpkg" in str(err.value) and "Fix" in str(err.value)
    report = validate(path)
    assert [p.check for p in report.problems] == ["zones"] and report.exit_code == 3


def test_zone_without_coefficient_is_reported(tmp_path):
    path = _case(tmp_path / "case", coefficients_extra="ocean,zone_a,removal,50,40,60,g C m-2 yr-1,test,test\n")
    report = validate(path)
    assert any("zone_b" in p.message and "no coefficient" in p.message for p in report.problems)


def test_shipped_seas_and_signs():
    """The shipped configs' zones resolve to coefficients, and each sea has the literature's sign: sources
    (Bohai, Yellow Sea, South China Sea) net negative, the East China Sea a sink."""
    coeffs = read_coefficients(ROOT / "configs" / "coefficients" / "default.csv")
    net = (coeffs.assign(s=np.where(coeffs["flux"] == "removal", 1, -1) * coeffs["central"])
           .groupby("ecosystem")["s"].sum())
    assert net["bohai_sea"] < 0 and net["yellow_sea"] < 0 and net["south_china_sea"] < 0 < net["east_china_sea"]
    for name in ("sample.yaml", "china.yaml"):
        inputs = load(load_config(ROOT / "configs" / name))
        seas = set(inputs.zones.frame["ecosystem"])
        assert seas >= {"yellow_sea", "east_china_sea", "south_china_sea"}
        assert seas <= set(coeffs["ecosystem"])
    assert "bohai_sea" in seas  # the national case has the Bohai


def test_same_table_whatever_the_blocks_and_scheduler(tmp_path):
    """The zones are rasterised per block: 3 px blocks (not aligned with the zone edges) in worker processes
    give the table of the 2 px blocks in threads, byte for byte."""
    import yaml

    first = run(_case(tmp_path / "a"), tmp_path / "out-a")
    path = _case(tmp_path / "b")
    cfg = yaml.safe_load(path.read_text())
    cfg["grid"]["chunks"] = 3
    path.write_text(yaml.safe_dump(cfg))
    second = run(path, tmp_path / "out-b", scheduler="processes")
    assert ((first.run_dir / "tables" / "region_ecosystem.csv").read_bytes()
            == (second.run_dir / "tables" / "region_ecosystem.csv").read_bytes())

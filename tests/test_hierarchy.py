"""Hierarchies: members checked against their parent (area and sink), orphans and unknown composite
members refused, composites summed. Every expected number is worked out by hand below.

Tiny case (tests/conftest.py): 1 km2 pixels; forest removes 1 Mg C ha-1 yr-1 = 100 g C m-2 yr-1 =
100 Mg C km-2 yr-1; lake: burial 10, outgassing 30 g C m-2 yr-1 (net -20 Mg C km-2 yr-1). West
(id 1) = x 0-1500 m, all rows: column 0 forest on rows 0-2 (row 3 is nodata), half of column 1 on
rows 0-3 -> 3 + 4 x 0.5 = 5 km2 of forest, 500 Mg C yr-1.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from conftest import tiny_case
from pipeline.config import load_config
from pipeline.errors import ConfigError, InputError
from pipeline.grid import CHINA_ALBERS
from pipeline.hierarchy import MEMBER_TOLERANCE, SINK_TOLERANCE, check_members
from pipeline.load import load

MT_CO2_PER_MG_C = 44 / 12 / 1e6


def _eco(rows, key="region_id"):
    cols = [key, "ecosystem", "area_km2", "removal_MgC_yr", "emission_MgC_yr"]
    t = pd.DataFrame(rows, columns=cols)
    return t.assign(sink_MgC_yr=t["removal_MgC_yr"] - t["emission_MgC_yr"])


# --- check_members on hand-made tables --------------------------------------------------------------
# Parent P: 100 km2 forest removing 1,000 Mg C yr-1 and 10 km2 lake burying 100 and emitting 300:
# area 110 km2, sink 1,000 + 100 - 300 = 800 Mg C yr-1, gross 1,000 + 100 + 300 = 1,400.
PARENT = _eco([("P", "forest", 100.0, 1000.0, 0.0), ("P", "lake", 10.0, 100.0, 300.0)])


def test_members_that_tile_their_parent_pass_silently():
    # two members splitting P: 60 + 40 km2 of forest (600 + 400), the lake in the second
    members = _eco([("a", "forest", 60.0, 600.0, 0.0), ("b", "forest", 40.0, 400.0, 0.0),
                    ("b", "lake", 10.0, 100.0, 300.0)], key="region_id").assign(parent_id="P")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = check_members(members, PARENT, "halves").set_index("parent_id").loc["P"]
    assert (out["parent_area_km2"], out["members_area_km2"]) == (110.0, 110.0)
    assert (out["parent_sink_MgC_yr"], out["members_sink_MgC_yr"]) == (800.0, 800.0)
    assert out["parent_gross_MgC_yr"] == 1400.0
    assert out["area_ok"] and out["sink_ok"] and out["ok"]


def test_missing_member_warns_with_area_and_sink():
    # member b missing: 60 km2 of P's 110 (-45.45 %), sink 600 against 800: -200 = -14.29 % of 1,400
    members = _eco([("a", "forest", 60.0, 600.0, 0.0)]).assign(parent_id="P")
    with pytest.warns(UserWarning, match=r"do not add up to parent P: they cover 60\.0 km2 of its 110\.0 km2 "
                                         r"\(-45\.45 %.*sink of 600\.0 Mg C yr-1 against its 800\.0 \(-14\.29 % of its "
                                         r"gross flux 1,400\.0"):
        out = check_members(members, PARENT, "halves").iloc[0]
    assert out["area_diff_pct"] == pytest.approx(100 * (60 / 110 - 1))
    assert out["sink_diff_pct_of_gross"] == pytest.approx(100 * -200 / 1400)
    assert not out["area_ok"] and not out["sink_ok"] and not out["ok"]


def test_sink_mismatch_with_equal_areas_is_flagged():
    # same 110 km2, but 2 km2 of the forest traded for 2 km2 of a barren strip outside P (boundaries
    # from another source): sink 800 - 2 x 10 = 780, -20 = -1.43 % of the gross 1,400 > 0.5 %
    members = _eco([("a", "forest", 98.0, 980.0, 0.0), ("a", "barren", 2.0, 0.0, 0.0),
                    ("b", "lake", 10.0, 100.0, 300.0)]).assign(parent_id="P")
    with pytest.warns(UserWarning, match=r"sum to a sink of 780\.0 Mg C yr-1 against its 800\.0 \(-1\.43 %") as rec:
        out = check_members(members, PARENT, "halves").iloc[0]
    assert "cover" not in str(rec[0].message)  # the area agrees: only the sink is reported
    assert out["area_ok"] and not out["sink_ok"] and not out["ok"]


def test_sink_tolerance_scales_with_gross_not_net():
    # removals 1,000 and emissions 990 nearly cancel: net 10. Members' net 13 is +30 % of the net but
    # only 3 / 1,990 = 0.15 % of the gross flux: within the tolerance (0.5 %)
    parent = _eco([("P", "lake", 50.0, 1000.0, 990.0)])
    members = _eco([("a", "lake", 25.0, 501.5, 495.0), ("b", "lake", 25.0, 501.5, 495.0)]).assign(parent_id="P")
    out = check_members(members, parent, "halves").iloc[0]
    assert out["members_sink_MgC_yr"] - out["parent_sink_MgC_yr"] == pytest.approx(3.0)
    assert out["sink_diff_pct"] == pytest.approx(30.0)
    assert out["sink_diff_pct_of_gross"] == pytest.approx(100 * 3 / 1990)
    assert 3 / 1990 < SINK_TOLERANCE and out["ok"]


def test_tolerance_edges():
    # area off by 0.4 % passes, 0.6 % fails (MEMBER_TOLERANCE 0.5 %); the forest rate is the parent's
    assert MEMBER_TOLERANCE == 0.005
    parent = _eco([("P", "forest", 1000.0, 10000.0, 0.0)])
    for extra, ok in ((4.0, True), (6.0, False)):
        members = _eco([("a", "forest", 1000.0 + extra, 10000.0, 0.0)]).assign(parent_id="P")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert bool(check_members(members, parent, "x").iloc[0]["area_ok"]) is ok


def test_parent_without_land_on_the_grid_is_flagged():
    members = _eco([("a", "forest", 5.0, 50.0, 0.0)]).assign(parent_id="Q")
    with pytest.warns(UserWarning, match="parent Q, which has no land on the grid"):
        assert not check_members(members, PARENT, "x").iloc[0]["ok"]


# --- on the tiny grid, through the pipeline --------------------------------------------------------
def _members(case, boxes: dict[str, tuple], parents: dict[str, str]):
    gdf = gpd.GeoDataFrame({"code": list(boxes), "name": [f"m{k}" for k in boxes],
                            "parent": [parents[k] for k in boxes]},
                           geometry=[shapely.box(*b) for b in boxes.values()], crs=CHINA_ALBERS)
    gdf.to_file(case / "members.gpkg", layer="members", driver="GPKG")
    return [{"name": "halves", "path": "members.gpkg", "layer": "members", "id_field": "code",
             "name_field": "name", "parent_field": "parent"}]


def test_tiny__members_tile_west_and_composite_sums(tmp_path):
    from pipeline import run

    case = tmp_path / "case"
    tiny_case(case)
    # West split at y = 2000: north = column 0 rows 0-1 (2 km2) + half of column 1 rows 0-1 (1 km2)
    # = 3 km2, 300 Mg C; south = column 0 row 2 (row 3 nodata) + half of column 1 rows 2-3 = 2 km2, 200
    subs = _members(case, {"11": (0, 2000, 1500, 4000), "12": (0, 0, 1500, 2000)}, {"11": "1", "12": "1"})
    # East (id 2): forest = half of column 1 on rows 0-2 (1.5) + column 2 rows 0 and 2 + column 3 row 2
    # (3) = 4.5 km2, 450 Mg C; lake = (0,3), (1,2), (1,3) = 3 km2 at -20: -60. East sink 390.
    comps = [{"id": "WE", "name": "West and East", "members": ["1", "2"]}]
    cfg = tiny_case(case, **{"regions.subregions": subs, "regions.composites": comps})
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="members of level")
        result = run(cfg, tmp_path / "out")
    tables = result.run_dir / "tables"
    check = pd.read_csv(tables / "hierarchy_check.csv", dtype={"parent_id": str}).set_index("parent_id")
    assert check.loc["1", "parent_area_km2"] == pytest.approx(5.0, rel=1e-9)
    assert check.loc["1", "members_area_km2"] == pytest.approx(5.0, rel=1e-9)
    assert check.loc["1", "parent_sink_MgC_yr"] == pytest.approx(500.0, rel=1e-9)
    assert check.loc["1", "members_sink_MgC_yr"] == pytest.approx(500.0, rel=1e-9)
    assert check.loc["1", "ok"]
    sub = pd.read_csv(tables / "subregion_ecosystem.csv", dtype={"region_id": str}).groupby("region_id")
    assert sub["area_km2"].sum().to_dict() == pytest.approx({"11": 3.0, "12": 2.0}, rel=1e-9)
    assert sub["sink_MgC_yr"].sum().to_dict() == pytest.approx({"11": 300.0, "12": 200.0}, rel=1e-9)
    comp = pd.read_csv(tables / "composites.csv").set_index("composite_id")
    assert comp.loc["WE", "sink_total_MtCO2"] == pytest.approx((500 + 390) * MT_CO2_PER_MG_C, rel=1e-9)
    # emissions: the members' sum, whichever inventory year the run takes
    budgets = pd.read_csv(tables / "budgets.csv", dtype={"region_id": str}).set_index("region_id")
    assert comp.loc["WE", "emissions_MtCO2"] == pytest.approx(budgets.loc[["1", "2"], "emissions_MtCO2"].sum())


def test_tiny__member_missing_warns(tmp_path):
    from pipeline import run

    case = tmp_path / "case"
    tiny_case(case)
    # the south member shrunk to y 1000-2000: column 0 row 2 (1) + half of column 1 row 2 (0.5) = 1.5 km2,
    # so the members hold 3 + 1.5 = 4.5 of West's 5 km2 (-10 %) and 450 of its 500 Mg C (-10 % of the gross)
    subs = _members(case, {"11": (0, 2000, 1500, 4000), "12": (0, 1000, 1500, 2000)}, {"11": "1", "12": "1"})
    cfg = tiny_case(case, **{"regions.subregions": subs})
    with pytest.warns(UserWarning, match=r"parent 1: they cover 4\.5 km2 of its 5\.0 km2 \(-10\.00 %.*sink of "
                                         r"450\.0 Mg C yr-1 against its 500\.0 \(-10\.00 % of its gross"):
        result = run(cfg, tmp_path / "out")
    check = pd.read_csv(result.run_dir / "tables" / "hierarchy_check.csv", dtype={"parent_id": str})
    row = check.set_index("parent_id").loc["1"]
    assert not row["area_ok"] and not row["sink_ok"] and not row["ok"]


def test_subregion_with_unknown_parent_is_refused(tmp_path):
    case = tmp_path / "case"
    tiny_case(case)
    subs = _members(case, {"11": (0, 2000, 1500, 4000), "12": (0, 0, 1500, 2000)}, {"11": "1", "12": "7"})
    cfg = load_config(tiny_case(case, **{"regions.subregions": subs}))
    with pytest.raises(InputError, match=r"members\.gpkg: field 'parent' names parent\(s\) \['7'\] that are not "
                                         r"ids of the regions"):
        load(cfg)


@pytest.mark.parametrize("members, message", [
    (["1", "3"], r"'WE': member\(s\) \['3'\] are not region ids.*Region ids: \['1', '2'\]"),
    (["1", "2", "1"], r"'WE': member\(s\) \['1'\] are listed more than once"),
])
def test_composite_with_unknown_or_repeated_member_is_refused(tmp_path, members, message):
    case = tmp_path / "case"
    cfg = load_config(tiny_case(case, **{"regions.composites": [{"id": "WE", "name": "x", "members": members}]}))
    with pytest.raises(ConfigError, match=message):
        load(cfg)

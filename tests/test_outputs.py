"""The sample run end to end: outputs re-read from disk and checked against independent reads."""

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from pyproj import CRS

from conftest import ROOT
from pipeline.export import MAPS
from pipeline.grid import CHINA_ALBERS

G_PER_MT = 1e12


def test_maps__cog_with_tags_units_and_overviews(sample_run):
    for name in MAPS:
        with rasterio.open(sample_run.run_dir / "maps" / f"{name}.tif") as src:
            assert src.dtypes[0] == "float32"
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.overviews(1), f"{name} has no overviews"
            tags = src.tags()
            assert tags["units"] == "g C m-2 yr-1"
            assert tags["sign"].startswith("uptake_positive")
            assert tags["kind"] == "density"
            assert CRS.from_user_input(src.crs).equals(CRS.from_user_input(CHINA_ALBERS))
            assert np.isnan(src.nodata)


def test_maps__total_is_sum_of_realms_and_matches_budgets(sample_run):
    run_dir = sample_run.run_dir
    arrays = {}
    for name in MAPS:
        with rasterio.open(run_dir / "maps" / f"{name}.tif") as src:
            arrays[name] = src.read(1).astype(np.float64)
            pixel_m2 = abs(src.transform.a * src.transform.e)
    realms = np.nansum([np.nan_to_num(arrays[m]) for m in MAPS[1:]], axis=0)
    np.testing.assert_allclose(np.nan_to_num(arrays["sink_total"]), realms, atol=1e-4)
    # sum over pixels of density x area, g C -> Mt CO2, against the budgets (regions + unallocated)
    budgets = pd.read_csv(run_dir / "tables" / "budgets.csv")
    for name in MAPS:
        from_map = np.nansum(arrays[name]) * pixel_m2 * 44 / 12 / G_PER_MT
        col = name.replace("sink_", "sink_") + "_MtCO2"
        assert budgets[col].sum() == pytest.approx(from_map, rel=1e-5), name  # float32 maps


def test_tables__contract_columns_and_rows(sample_run):
    run_dir = sample_run.run_dir
    reco = pd.read_csv(run_dir / "tables" / "region_ecosystem.csv")
    assert {"region", "realm", "ecosystem", "area_km2", "sink_MgC_yr"} <= set(reco.columns)
    budgets = pd.read_csv(run_dir / "tables" / "budgets.csv", dtype={"region_id": str})
    for col in ("sink_terrestrial_MtCO2", "sink_water_MtCO2", "sink_ocean_MtCO2", "sink_total_MtCO2",
                "emissions_MtCO2", "net_MtCO2"):
        assert col in budgets.columns
    assert budgets["region_id"].tolist() == ["310000", "320000", "330000", "340000", "350000", "360000",
                                             "unallocated"]
    assert not budgets[["sink_total_MtCO2", "area_km2"]].isna().any().any()
    b = budgets.set_index("region_id")
    # inland provinces get no ocean sink; the coastal ones do, through their offshore zones (a sink, or a
    # source where their sea is mostly the Yellow Sea: Jiangsu)
    assert b.loc["340000", "sink_ocean_MtCO2"] == 0 and b.loc["360000", "sink_ocean_MtCO2"] == 0
    assert (b.loc[["310000", "320000", "330000", "350000"], "sink_ocean_MtCO2"] != 0).all()
    # emissions equal the CEADs 2019 Scope 1 totals, read here independently
    ceads = pd.read_csv(ROOT / "sample_rasters" / "emissions_ceads_2015_2019.csv")
    ceads = ceads[ceads["year"] == 2019]
    ceads = pd.Series(ceads["Scope_1_Total_MtCO2"].to_numpy(), index=ceads["adcode"].astype(str))
    for rid, value in ceads.items():
        assert b.loc[rid, "emissions_MtCO2"] == pytest.approx(value)
        assert b.loc[rid, "net_MtCO2"] == pytest.approx(value - b.loc[rid, "sink_total_MtCO2"])
    bal = pd.read_csv(run_dir / "tables" / "balance.csv").set_index("item")["value"]
    assert bal["sink_total"] == pytest.approx(budgets["sink_total_MtCO2"].sum())
    assert bal["emissions"] == pytest.approx(ceads.sum())
    # the seed paper's 2060 requirement, 2.0-2.5 Gt CO2 yr-1
    assert bal["scenario_sink_2060_low"] == 2000 and bal["scenario_sink_2060_high"] == 2500


def test_gpkg__layers_crs_and_values(sample_run):
    path = sample_run.run_dir / "budget.gpkg"
    layers = dict(pyogrio.list_layers(path))
    assert {"regions", "nation"} <= set(layers)
    regions = pyogrio.read_dataframe(path, layer="regions")
    assert regions.crs is not None and len(regions) == 6
    budgets = pd.read_csv(sample_run.run_dir / "tables" / "budgets.csv", dtype={"region_id": str})
    merged = regions.merge(budgets, on="region_id", suffixes=("", "_csv"))
    np.testing.assert_allclose(merged["sink_total_MtCO2"], merged["sink_total_MtCO2_csv"], rtol=1e-12)
    nation = pyogrio.read_dataframe(path, layer="nation")
    assert len(nation) == 1 and nation["sink_total_MtCO2"][0] == pytest.approx(budgets["sink_total_MtCO2"].sum())


def test_gross_and_net_per_realm_and_ecosystem(sample_run):
    """Gross removal - gross emission = net, per realm in budgets (and the GeoPackage) and per
    ecosystem in the region x ecosystem table (and its GeoPackage attribute layer)."""
    run_dir = sample_run.run_dir
    b = pd.read_csv(run_dir / "tables" / "budgets.csv")
    for short in ("terrestrial", "water", "ocean"):
        np.testing.assert_allclose(b[f"removal_{short}_MtCO2"] - b[f"emission_{short}_MtCO2"], b[f"sink_{short}_MtCO2"],
                                   rtol=1e-12, atol=1e-12)
    water = b["emission_water_MtCO2"].sum()
    assert water > 0  # lake outgassing is reported as a gross emission, not hidden in the net
    reco = pd.read_csv(run_dir / "tables" / "region_ecosystem.csv")
    np.testing.assert_allclose(reco["removal_MgC_yr"] - reco["emission_MgC_yr"], reco["sink_MgC_yr"], atol=1e-9)
    layer = pyogrio.read_dataframe(run_dir / "budget.gpkg", layer="region_ecosystem")
    np.testing.assert_allclose(layer["emission_MgC_yr"].to_numpy(), reco["emission_MgC_yr"].to_numpy(), rtol=1e-12)
    regions = pyogrio.read_dataframe(run_dir / "budget.gpkg", layer="regions")
    assert {"removal_ocean_MtCO2", "emission_water_MtCO2"} <= set(regions.columns)


def test_manifest_and_report(sample_run):
    run_dir = sample_run.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["inputs"]) >= {"landcover", "flux:sland", "regions", "emissions"}
    import hashlib

    lc = manifest["inputs"]["landcover"]
    assert lc["sha256"] == hashlib.sha256(open(lc["path"], "rb").read()).hexdigest()
    assert manifest["versions"]["gdal"] and manifest["timings_s"]["total_s"] > 0
    assert manifest["qa"]["unknown_px"] == 0
    report = (run_dir / "report.md").read_text()
    total = pd.read_csv(run_dir / "tables" / "balance.csv").set_index("item").loc["sink_total", "value"]
    assert f"{total:,.1f} Mt CO2 yr-1" in report
    assert not list(run_dir.parent.glob(".run.tmp-*")), "temporary run directory left behind"


def test_hierarchy__levels_and_composites(sample_run):
    tables = sample_run.run_dir / "tables"
    sub = pd.read_csv(tables / "subregion_ecosystem.csv", dtype={"region_id": str, "parent_id": str})
    assert sub.groupby("level")["region_id"].nunique().to_dict() == {"counties": 90, "prefectures": 11}
    check = pd.read_csv(tables / "hierarchy_check.csv", dtype={"parent_id": str})
    assert check["ok"].all() and len(check) == 1 + 11
    # prefectures against Zhejiang's land polygon: recompute the members' sum independently
    members = sub[sub["level"] == "prefectures"]["area_km2"].sum()
    assert check.set_index("parent_id").loc["330000", "members_area_km2"] == pytest.approx(members)
    assert members == pytest.approx(check.set_index("parent_id").loc["330000", "parent_area_km2"], rel=1e-3)
    # a composite is the sum of its members' budgets
    comp = pd.read_csv(tables / "composites.csv").set_index("composite_id")
    budgets = pd.read_csv(tables / "budgets.csv", dtype={"region_id": str}).set_index("region_id")
    yrd = budgets.loc[["310000", "320000", "330000", "340000"]]
    for col in ("sink_total_MtCO2", "sink_ocean_MtCO2", "emissions_MtCO2", "net_MtCO2", "area_km2"):
        assert comp.loc["YRD", col] == pytest.approx(yrd[col].sum(), rel=1e-12)
    layers = dict(pyogrio.list_layers(sample_run.run_dir / "budget.gpkg"))
    assert {"subregions_prefectures", "subregions_counties", "composites"} <= set(layers)


def _without_run_noise(manifest: dict) -> dict:
    """The manifest minus what legitimately differs between two runs of one config: the timings, the
    label cache's hit flag and seconds (the second run hits the first one's cache), and the checksum
    of report.html (its provenance section prints the timings; compared apart)."""
    import copy

    m = copy.deepcopy(manifest)
    del m["timings_s"]
    for info in m["qa"]["region_labels"].values():
        del info["cache_hit"], info["seconds"]
    del m["output_sha256"]["report.html"]
    return m


def _without_timings(html: bytes) -> bytes:
    import re

    out, n = re.subn(rb"<h3>Timings</h3>.*?</table>", b"", html, flags=re.S)
    assert n == 1, "report.html's timings table not found"
    return out


def test_determinism__two_runs_identical(sample_run, tmp_path):
    """The same config twice: every table, map, the GeoPackage and report.md byte-identical, and the
    manifests identical apart from timings and label-cache hits, output checksums included."""
    import hashlib

    from conftest import SAMPLE_CONFIG
    from pipeline import run

    again = run(SAMPLE_CONFIG, tmp_path / "again")
    a, b = sample_run.run_dir, again.run_dir
    tables = sorted(p.name for p in (a / "tables").glob("*.csv"))
    assert {"uncertainty.csv", "budgets.csv", "balance.csv", "region_ecosystem.csv"} <= set(tables)
    assert tables == sorted(p.name for p in (b / "tables").glob("*.csv"))
    for t in tables:
        assert (a / "tables" / t).read_bytes() == (b / "tables" / t).read_bytes(), t
    m1 = json.loads((a / "manifest.json").read_text())
    m2 = json.loads((b / "manifest.json").read_text())
    assert _without_run_noise(m1) == _without_run_noise(m2)
    # the checksums cover every output file (not the manifest) and are right: recomputed here
    files = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert sorted(m2["output_sha256"]) == [f for f in files if f != "manifest.json"]
    for rel, digest in m2["output_sha256"].items():
        assert hashlib.sha256((b / rel).read_bytes()).hexdigest() == digest, rel
    assert {"budget.gpkg", "report.md", "report.html", "maps/sink_total.tif", "tables/uncertainty.csv"} <= set(
        m2["output_sha256"])
    assert _without_timings((a / "report.html").read_bytes()) == _without_timings((b / "report.html").read_bytes())
    for name in MAPS:  # map pixels identical too
        with rasterio.open(a / "maps" / f"{name}.tif") as ra, rasterio.open(b / "maps" / f"{name}.tif") as rb:
            np.testing.assert_array_equal(ra.read(1), rb.read(1))


def test_gpkg__reproducible_last_change_is_valid(sample_run):
    """budget.gpkg is byte-reproducible because every layer's gpkg_contents.last_change is fixed; the
    value stays a valid GeoPackage timestamp (ISO 8601, UTC, milliseconds: what GDAL and QGIS parse)."""
    import datetime as dt
    import sqlite3

    from pipeline.export import FIXED_GPKG_DATE

    with sqlite3.connect(sample_run.run_dir / "budget.gpkg") as con:
        rows = con.execute("SELECT table_name, last_change FROM gpkg_contents").fetchall()
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
    assert len(rows) >= 8
    for name, stamp in rows:
        assert stamp == FIXED_GPKG_DATE, name
        dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    info = pyogrio.read_info(sample_run.run_dir / "budget.gpkg", layer="regions")
    assert info["features"] == 6 and info["crs"]


def test_maps__pass_the_cog_validator_with_descriptions_and_run_id(sample_run):
    from rio_cogeo.cogeo import cog_validate

    manifest = json.loads((sample_run.run_dir / "manifest.json").read_text())
    for path in sorted((sample_run.run_dir / "maps").glob("*.tif")):
        valid, errors, _ = cog_validate(str(path))
        assert valid and not errors, (path.name, errors)
        with rasterio.open(path) as src:
            assert src.descriptions[0], path.name
            assert src.nodata is not None
            tags = src.tags()
            assert tags["run_id"] == manifest["run_id"]
            assert tags["config_sha256"] == manifest["config_sha256"]
            if path.stem != "regions":
                assert tags["method"] and tags["source"]


def test_maps__region_labels_match_the_budget_areas(sample_run):
    """maps/regions.tif holds the region covering most of each pixel (the adcode; 0 = unallocated): its
    pixel count x pixel area equals each region's area within its border pixels."""
    with rasterio.open(sample_run.run_dir / "maps" / "regions.tif") as src:
        labels = src.read(1)
        pixel_km2 = abs(src.transform.a * src.transform.e) / 1e6
        assert src.dtypes[0] == "int32" and src.nodata == 0
    b = pd.read_csv(sample_run.run_dir / "tables" / "budgets.csv", dtype={"region_id": str}).set_index("region_id")
    shared = sample_run.qa["region_border_px"]
    for rid in b.index.drop("unallocated"):
        count = int((labels == int(rid)).sum())
        assert abs(count * pixel_km2 - b.loc[rid, "area_km2"]) <= shared * pixel_km2
        assert abs(count * pixel_km2 / b.loc[rid, "area_km2"] - 1) < 0.02


def test_gpkg__offshore_zones_and_units_table(sample_run):
    path = sample_run.run_dir / "budget.gpkg"
    layers = dict(pyogrio.list_layers(path))
    assert {"regions", "nation", "region_ecosystem", "offshore_zones", "units"} <= set(layers)
    zones = pyogrio.read_dataframe(path, layer="offshore_zones")
    assert zones.crs is not None and set(zones["region_id"]) == {"310000", "320000", "330000", "350000"}
    units = pyogrio.read_dataframe(path, layer="units").set_index(["layer", "column"])["units"]
    assert units[("regions", "sink_total_MtCO2")] == "Mt CO2 yr-1"
    assert units[("region_ecosystem", "area_km2")] == "km2"
    regions = pyogrio.read_dataframe(path, layer="regions")
    missing = [c for c in regions.columns if c != "geometry" and ("regions", c) not in units.index]
    assert not missing


def test_gpkg__qgis_friendly_names_units_and_spatial_index(sample_run):
    """Every column of every layer is a plain field name with its units in the name; every numeric
    column has units in the ``units`` layer; every geometry layer has an R-tree spatial index."""
    import re
    import sqlite3

    path = sample_run.run_dir / "budget.gpkg"
    units = pyogrio.read_dataframe(path, layer="units")
    lookup = units.set_index(["layer", "column"])["units"]
    geometry_layers = []
    for layer, geom in pyogrio.list_layers(path):
        frame = pyogrio.read_dataframe(path, layer=layer)
        if geom is not None:
            geometry_layers.append(layer)
        if layer == "units":
            continue
        for col in frame.columns.drop("geometry", errors="ignore"):
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", col), (layer, col)
            if pd.api.types.is_numeric_dtype(frame[col]):
                assert lookup.get((layer, col), "") != "", f"no units for {layer}.{col}"
    # the nation layer: one column per balance item, named from the item and its units
    bal = pd.read_csv(sample_run.run_dir / "tables" / "balance.csv")
    nation = pyogrio.read_dataframe(path, layer="nation")
    assert len(nation.columns.drop("geometry")) == len(bal)
    suffix = {"Mt CO2 yr-1": "_MtCO2", "Mt CO2e yr-1": "_MtCO2e", "%": "_pct", "CNY": "_CNY", "CNY yr-1": "_CNY"}
    by_item = dict(zip(bal["item"], zip(bal["value"], bal["units"])))
    for item, col in (("emissions", "emissions_MtCO2"), ("sink_offset", "sink_offset_pct"),
                      ("ch4_emission", "ch4_emission_MtCO2e"), ("sink_value_per_year", "sink_value_per_year_CNY"),
                      ("sink_present_value", "sink_present_value_CNY"),
                      ("land_use_potential:afforestation", "land_use_potential_afforestation_MtCO2"),
                      ("land_use_potential_value_per_year:afforestation",
                       "land_use_potential_value_per_year_afforestation_CNY")):
        value, unit = by_item[item]
        assert col.endswith(suffix[unit])
        assert nation[col][0] == pytest.approx(value, rel=1e-12), col
        assert lookup[("nation", col)] == unit
    # the regions layer keeps the names scripts read (those of tables/budgets.csv)
    budgets = pd.read_csv(sample_run.run_dir / "tables" / "budgets.csv")
    regions = pyogrio.read_dataframe(path, layer="regions")
    assert set(budgets.columns) <= set(regions.columns)
    # spatial index: the GeoPackage R-tree extension registered and its virtual table filled
    with sqlite3.connect(path) as con:
        ext = {t for t, in con.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name = "
                                       "'gpkg_rtree_index'")}
        assert set(geometry_layers) <= ext and {"regions", "nation", "offshore_zones"} <= set(geometry_layers)
        for layer in geometry_layers:
            (col,) = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                                 (layer,)).fetchone()
            n_rtree = con.execute(f'SELECT count(*) FROM "rtree_{layer}_{col}"').fetchone()[0]
            n_rows = con.execute(f'SELECT count(*) FROM "{layer}" WHERE "{col}" IS NOT NULL').fetchone()[0]
            assert n_rtree == n_rows > 0, layer

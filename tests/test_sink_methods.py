"""Issue 3: every sink method on the tiny 4 x 4 grid against a hand computation.

Tiny case (conftest): 1 km pixels; West = column 0 + half of column 1; East = the rest of rows 0-2;
row 3 east of x = 1500 m is unallocated. Later (t2) land cover: 1 forest, 2 lake, 9 nodata.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TINY_CODES, tiny_case, write_tif
from pipeline import run
from pipeline.errors import UnitError
from pipeline.units import CO2_PER_C, MOLAR_MASS_C, gas_rate_factor

MT = 1e-6  # Mg -> Mt


def _edit(cfg: Path, fn) -> Path:
    data = yaml.safe_load(cfg.read_text())
    fn(data)
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def _table(result, name):
    return pd.read_csv(result.run_dir / "tables" / f"{name}.csv", dtype={"region_id": str})


# --- stock change ----------------------------------------------------------------------------
#: Earlier (t1 = 2010) land cover: 3 = grassland. (0,0) lake -> forest and (0,3) forest -> lake cross the
#: realm boundary; (1,1) grassland -> forest (split half West, half East); (2,2) nodata at t1 only.
EARLIER = np.array([[2, 1, 1, 1],
                    [1, 3, 2, 2],
                    [1, 1, 9, 1],
                    [9, 1, 1, 1]], dtype=np.uint8)
#: Pools summing to 200 Mg C ha-1 (forest) and 85 Mg C ha-1 (grassland).
DENSITIES = """ecosystem,pool,central,low,high,units,evidence,source
forest,above_ground,100,100,100,Mg C ha-1,test,t
forest,below_ground,20,20,20,Mg C ha-1,test,t
forest,dead_organic_matter,5,5,5,Mg C ha-1,test,t
forest,soil,75,75,75,Mg C ha-1,test,t
grassland,above_ground,1,1,1,Mg C ha-1,test,t
grassland,below_ground,4,4,4,Mg C ha-1,test,t
grassland,dead_organic_matter,0,0,0,Mg C ha-1,test,t
grassland,soil,80,80,80,kg C m-2,test,"t (8.0 kg C m-2 = 80 Mg C ha-1: units are converted)"
"""


def _stock_case(tmp_path, pools=None) -> Path:
    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "earlier.tif", EARLIER, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("3,Grass,grassland,terrestrial\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("terrestrial,grassland,removal,0,0,0,g C m-2 yr-1,test,t\n")
    (case / "densities.csv").write_text(DENSITIES.replace(",80,80,80,kg C m-2,", ",8,8,8,kg C m-2,"))

    def edit(d):
        d["landcover"]["year"] = 2020
        d["sinks"]["terrestrial"] = {"method": "stock_change", "stock_change": {
            "earlier": {"path": "earlier.tif", "year": 2010}, "densities": "densities.csv",
            **({"pools": pools} if pools else {})}}
    return _edit(cfg, edit)


def test_stock_change__hand_computed(tmp_path):
    result = run(_stock_case(tmp_path), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    # grassland -> forest: (20,000 - 8,500) g C m-2 / 10 yr = 1,150 g C m-2 yr-1 on 0.5 km2 each side = 575 Mg C yr-1
    assert t.loc[("1", "forest"), "removal_MgC_yr"] == pytest.approx(575, rel=1e-9)
    assert t.loc[("2", "forest"), "removal_MgC_yr"] == pytest.approx(575, rel=1e-9)
    assert t.loc[("1", "forest"), "emission_MgC_yr"] == 0
    # the rule for a pixel with no data in the earlier epoch: no stock change, and counted
    assert result.qa["stock_change_earlier_nodata_px"] == 1
    # lake -> forest (0,0) and forest -> lake (0,3) cross the realm boundary: no terrestrial stock
    # change either way (the other realm's stock is not defined), and counted
    assert result.qa["stock_change_realm_crossing_px"] == 2
    assert t.loc[("2", "open_water"), "removal_MgC_yr"] == pytest.approx(3 * 10.0)  # lake burial coefficient only


def test_stock_change__transition_table(tmp_path):
    result = run(_stock_case(tmp_path), tmp_path / "out")
    tr = _table(result, "transitions")
    changed = tr[tr["changed"]].set_index(["region_id", "from_ecosystem", "to_ecosystem"])
    assert changed.loc[("1", "open_water", "forest"), "area_km2"] == pytest.approx(1.0)
    assert changed.loc[("1", "grassland", "forest"), "area_km2"] == pytest.approx(0.5)
    assert changed.loc[("2", "grassland", "forest"), "area_km2"] == pytest.approx(0.5)
    assert changed.loc[("2", "forest", "open_water"), "area_km2"] == pytest.approx(1.0)
    assert len(changed) == 4
    nodata = tr[tr["from_ecosystem"] == "no data"]
    # (2,2) is East's; (3,0) is nodata in both epochs, so not a pixel of the later map at all
    assert nodata[["region_id", "to_ecosystem", "area_km2"]].values.tolist() == [["2", "forest", 1.0]]
    # every pixel of the later map is in exactly one transition
    assert tr["area_km2"].sum() == pytest.approx(result.region_ecosystem["area_km2"].sum())
    # the stock change per transition adds up to the terrestrial sink
    assert tr["stock_change_MgC_yr"].sum() == pytest.approx(
        result.region_ecosystem.query("realm == 'terrestrial'")["sink_MgC_yr"].sum(), rel=1e-9)


def test_stock_change__pools_are_selectable(tmp_path):
    """Soil only: forest 75 Mg C ha-1 and grassland 80 (given as 8 kg C m-2)."""
    result = run(_stock_case(tmp_path, pools=["soil"]), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    # grassland -> forest: (7,500 - 8,000) g / 10 yr = -50 g C m-2 yr-1 on 0.5 km2: an emission of 25 Mg C yr-1
    assert t.loc[("1", "forest"), "removal_MgC_yr"] == pytest.approx(0, abs=1e-9)
    assert t.loc[("1", "forest"), "emission_MgC_yr"] == pytest.approx(25, rel=1e-9)


def test_stock_change__needs_years_in_order(tmp_path, capsys):
    from pipeline.cli import main

    cfg = _edit(_stock_case(tmp_path), lambda d: d["landcover"].update(year=2005))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "must be before landcover.year (2005)" in capsys.readouterr().err


# --- several fluxes, sign flips, ocean flux in mol -----------------------------------------------
def test_flux__several_rasters_are_summed_each_with_its_sign(tmp_path):
    """Net land flux = SLAND (uptake positive) - ELUC (emission positive): 100 - 30 = 70 g C m-2 yr-1."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "sland.tif", np.full(TINY_CODES.shape, 100 / 1000, dtype="float32"))  # kg C m-2 yr-1
    write_tif(case / "eluc.tif", np.full(TINY_CODES.shape, 0.3, dtype="float32"))  # Mg C ha-1 yr-1 = 30 g

    def edit(d):
        d["fluxes"] = {"sland": {"path": "sland.tif", "units": "kg C m-2 yr-1", "sign": "uptake_positive"},
                       "eluc": {"path": "eluc.tif", "units": "Mg C ha-1 yr-1", "sign": "emission_positive"}}
        d["sinks"]["terrestrial"] = {"method": "flux", "flux": ["sland", "eluc"]}
    t = run(_edit(cfg, edit), tmp_path / "out").region_ecosystem.set_index(["region_id", "ecosystem"])
    assert t.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(5 * 70, rel=1e-6)  # 5 km2 of forest in West


@pytest.mark.parametrize("value, sign", [(2.5, "uptake_positive"), (-2.5, "emission_positive")])
def test_ocean_flux__mol_units_and_sign_on_unallocated_sea(tmp_path, value, sign):
    """Sea pixel (3,3) lies in no region: 1 km2 x 2.5 mol C m-2 yr-1 x 12.011 g/mol = 30.0275 Mg C yr-1,
    reported under *unallocated*, never dropped."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[3, 3] = 4
    write_tif(case / "landcover.tif", codes, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("4,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,999,999,999,g C m-2 yr-1,test,not used: the flux replaces it\n")
    write_tif(case / "fgco2.tif", np.full(codes.shape, value, dtype="float32"))

    def edit(d):
        d["fluxes"] = {"fgco2": {"path": "fgco2.tif", "units": "mol C m-2 yr-1", "sign": sign}}
        d["sinks"]["ocean"] = {"method": "flux", "flux": "fgco2"}
    result = run(_edit(cfg, edit), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert t.loc[("unallocated", "marginal_sea"), "sink_MgC_yr"] == pytest.approx(2.5 * MOLAR_MASS_C, rel=1e-6)
    b = result.budgets.set_index("region_id")
    assert b.loc["unallocated", "sink_ocean_MtCO2"] == pytest.approx(2.5 * MOLAR_MASS_C * CO2_PER_C * MT, rel=1e-6)


# --- habitats, non-CO2, inorganic ------------------------------------------------------------------
def test_habitat_raster_overrides_land_cover(tmp_path):
    """A seagrass meadow mapped on lake pixel (0,3) (East): 1 km2 x 83 g C m-2 yr-1 = 83 Mg C yr-1."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    hab = np.zeros(TINY_CODES.shape, dtype=np.uint8)
    hab[0, 3] = 1
    write_tif(case / "habitats.tif", hab, nodata=0)
    (case / "habitats.csv").write_text("code,name,ecosystem,realm\n1,Seagrass meadow,seagrass,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,seagrass,removal,83,33,138,g C m-2 yr-1,test,t\n")
    cfg = _edit(cfg, lambda d: d["landcover"].update(habitats={"path": "habitats.tif", "scheme": "habitats.csv"}))
    t = run(cfg, tmp_path / "out").region_ecosystem.set_index(["region_id", "ecosystem"])
    assert t.loc[("2", "seagrass"), "area_km2"] == pytest.approx(1.0)
    assert t.loc[("2", "seagrass"), "sink_MgC_yr"] == pytest.approx(83.0)
    assert t.loc[("2", "open_water"), "area_km2"] == pytest.approx(2.0)  # 3 lake pixels, one now seagrass


def _non_co2_case(tmp_path, gwp):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "non_co2.csv").write_text(
        "ecosystem,gas,central,low,high,units,season_days,share,evidence,source\n"
        "open_water,CH4,0.02,0.02,0.02,kg CH4 ha-1 d-1,100,,test,t\n"
        "forest,N2O,1,1,1,kg N2O-N ha-1 yr-1,,0.5,test,t\n")
    (case / "inorganic.csv").write_text(
        "realm,ecosystem,central,low,high,units,share,evidence,source\n"
        "terrestrial,forest,4,4,4,t C km-2 yr-1,0.25,test,t\n")

    def edit(d):
        d["non_co2"] = {"factors": "non_co2.csv", "gwp": gwp}
        d["sinks"]["inorganic"] = "inorganic.csv"
    return run(_edit(cfg, edit), tmp_path / "out")


@pytest.mark.parametrize("gwp, gwp_ch4, gwp_n2o", [("AR6", 27.0, 273.0), ("AR5", 28.0, 265.0)])
def test_non_co2__ch4_and_n2o_as_co2e(tmp_path, gwp, gwp_ch4, gwp_n2o):
    result = _non_co2_case(tmp_path, gwp)
    nc = _table(result, "non_co2").set_index(["region_id", "gas"])
    # East lakes: 3 km2; 0.02 kg CH4 ha-1 d-1 x 100 d = 2 kg ha-1 = 0.2 g m-2 -> 600,000 g = 0.6 t CH4
    assert nc.loc[("2", "CH4"), "emission_t_yr"] == pytest.approx(0.6)
    assert nc.loc[("2", "CH4"), "emission_MtCO2e"] == pytest.approx(0.6 * gwp_ch4 * MT)
    # West forest: 5 km2 x share 0.5 x 1 kg N2O-N ha-1 = 0.1 g N m-2 x 44/28 g N2O per g N
    n2o_t = 5e6 * 0.5 * 0.1 * 44 / 28 / 1e6
    assert nc.loc[("1", "N2O"), "emission_t_yr"] == pytest.approx(n2o_t)
    b = result.budgets.set_index("region_id")
    assert b.loc["1", "n2o_MtCO2e"] == pytest.approx(n2o_t * gwp_n2o * MT)
    assert b.loc["1", "ch4_MtCO2e"] == 0.0
    # non-CO2 is apart from the CO2 columns: net_MtCO2 is CO2 only
    assert b.loc["1", "net_MtCO2"] == pytest.approx(b.loc["1", "emissions_MtCO2"] - b.loc["1", "sink_total_MtCO2"])


def test_inorganic_sink_apart_and_combined_in_balance(tmp_path):
    result = _non_co2_case(tmp_path, "AR6")
    b = result.budgets.set_index("region_id")
    # West forest 5 km2 x share 0.25 x 4 t C km-2 yr-1 = 5 Mg C yr-1
    assert b.loc["1", "inorganic_sink_MtCO2"] == pytest.approx(5 * CO2_PER_C * MT)
    assert b.loc["1", "sink_total_MtCO2"] == pytest.approx(5 * 100 * CO2_PER_C * MT)  # organic only
    bal = result.balance.set_index("item")["value"]
    emissions = 6.0 + 2.0  # inventory 2021: West 6, East 2
    expected = (emissions + bal["non_co2_emission"] - bal["sink_total"] - bal["inorganic_sink"] - bal["ccus"])
    assert bal["net_emission_all"] == pytest.approx(expected)
    # nation: all 12 km2 of forest (West 5, East 4.5, unallocated 2.5) and the 3 km2 of lakes
    assert bal["non_co2_emission"] == pytest.approx(0.6 * 27 * MT + 12e6 * 0.5 * 0.1 * 44 / 28 / 1e6 * 273 * MT)


# --- units of the non-CO2 factors ------------------------------------------------------------------
def test_gas_units():
    assert gas_rate_factor("kg CH4 ha-1 d-1", 113) == ("CH4", pytest.approx(11.3))  # 1.32 -> 14.916 g m-2
    assert gas_rate_factor("mg CH4 m-2 h-1") == ("CH4", pytest.approx(8.766))  # 24 x 365.25 / 1000
    assert gas_rate_factor("g CH4-C m-2 yr-1") == ("CH4", pytest.approx(16 / 12))
    with pytest.raises(UnitError, match="Accepted: .*g CH4 m-2 yr-1"):
        gas_rate_factor("g methane m-2 yr-1")


# --- sea allocation without offshore zones ----------------------------------------------------------
def test_sea_goes_to_nearest_region_within_offshore_km(tmp_path):
    """Sea pixels (3,2) and (3,3) lie south of East and east of West. A sea point (x, y) is nearer to
    East (distance 1000 - y) than to West (distance x - 1500) when y > 2500 - x: all of (3,3), and
    (3,2) except the triangle below that line (legs 500 m: 0.125 km2). The land pixel (3,1) keeps its
    east half unallocated: nearest-region zones take sea pixels only."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[3, 2:] = 4
    write_tif(case / "landcover.tif", codes, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("4,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,20,20,20,g C m-2 yr-1,test,t\n")
    result = run(_edit(cfg, lambda d: d["regions"].update(offshore_km=10)), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    # the zones' border is a Voronoi partition of boundary points every 500 m (half a pixel): exact
    # within about that spacing, so the 0.125 km2 triangle is checked to 0.03 km2
    assert t.loc[("2", "marginal_sea"), "area_km2"] == pytest.approx(1.875, abs=0.03)
    assert t.loc[("1", "marginal_sea"), "area_km2"] == pytest.approx(0.125, abs=0.03)
    sea = t.xs("marginal_sea", level="ecosystem")
    assert sea["area_km2"].sum() == pytest.approx(2.0, rel=1e-9)  # nothing dropped
    assert sea["sink_MgC_yr"].sum() == pytest.approx(2.0 * 20, rel=1e-9)
    assert t.loc[("unallocated", "forest"), "area_km2"] == pytest.approx(0.5, rel=1e-9)
    assert t.loc[("unallocated", "marginal_sea"), "area_km2"] == pytest.approx(0.0, abs=1e-9)


def test_sea_beyond_offshore_km_stays_unallocated(tmp_path):
    """With offshore_km = 0.3, only sea within 300 m of a region is allocated: of pixel (3,3), the strip
    y in 700..1000 (0.3 km2) goes to East; the rest of the sea is unallocated national waters."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[3, 3] = 4
    write_tif(case / "landcover.tif", codes, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("4,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,20,20,20,g C m-2 yr-1,test,t\n")
    result = run(_edit(cfg, lambda d: d["regions"].update(offshore_km=0.3)), tmp_path / "out")
    t = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert t.loc[("2", "marginal_sea"), "area_km2"] == pytest.approx(0.3, rel=1e-3)
    assert t.loc[("unallocated", "marginal_sea"), "area_km2"] == pytest.approx(0.7, rel=1e-3)


# --- per-pixel totals and gridded emissions ----------------------------------------------------------
def test_gridded_emissions_per_pixel_total(tmp_path):
    """11 t CO2 per 1 km2 pixel everywhere; only pixels with land cover count: West 5 km2 -> 55 t,
    East 7.5 km2 -> 82.5 t, unallocated 2.5 km2 -> 27.5 t (reported, not dropped)."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "fossil.tif", np.full(TINY_CODES.shape, 11.0, dtype="float32"))

    def edit(d):
        del d["emissions"]
        d["emissions_grid"] = {"path": "fossil.tif", "units": "t CO2 yr-1 per pixel", "year": 2013}
    result = run(_edit(cfg, edit), tmp_path / "out")
    b = result.budgets.set_index("region_id")
    assert b.loc["1", "emissions_MtCO2"] == pytest.approx(55 * MT, rel=1e-6)
    assert b.loc["2", "emissions_MtCO2"] == pytest.approx(82.5 * MT, rel=1e-6)
    assert b.loc["unallocated", "emissions_MtCO2"] == pytest.approx(27.5 * MT, rel=1e-6)
    assert (b["emissions_year"] == 2013).all()


def test_per_pixel_totals_on_a_geographic_grid_keep_their_mass(tmp_path):
    """Four 1-degree cells of 1 Tg C yr-1 each (EPSG:4326), warped onto a 2 km China Albers grid: the
    region drawn on the cells' footprint gets 4 Tg C yr-1 back, within the pixelisation of its
    border (the totals are divided by each cell's geodesic area before the warp)."""
    import geopandas as gpd
    import shapely
    from affine import Affine

    from pipeline.grid import CHINA_ALBERS

    case = tmp_path / "case"
    cfg = tiny_case(case)
    geo = Affine(1.0, 0, 104.0, 0, -1.0, 32.0)
    write_tif(case / "flux.tif", np.full((2, 2), 1.0, dtype="float32"), transform=geo, crs="EPSG:4326")
    lc = Affine(0.05, 0, 103.5, 0, -0.05, 32.5)
    write_tif(case / "landcover.tif", np.ones((60, 60), dtype=np.uint8), transform=lc, crs="EPSG:4326", nodata=9)
    footprint = gpd.GeoDataFrame({"code": [1], "name": ["Cells"]}, geometry=[shapely.box(104, 30, 106, 32)],
                                 crs="EPSG:4326").to_crs(CHINA_ALBERS)
    footprint["geometry"] = footprint.geometry.segmentize(1000)  # the cells' edges are curved in Albers
    (case / "regions.gpkg").unlink()
    footprint.to_file(case / "regions.gpkg", layer="regions", driver="GPKG")

    def edit(d):
        d["grid"] = {"crs": CHINA_ALBERS, "resolution": 2000, "chunks": 64}
        d["fluxes"] = {"nbp": {"path": "flux.tif", "units": "Tg C yr-1 per pixel", "sign": "uptake_positive"}}
        d["sinks"]["terrestrial"] = {"method": "flux", "flux": "nbp"}
        del d["emissions"]
    result = run(_edit(cfg, edit), tmp_path / "out")
    got = result.region_ecosystem.query("region_id == '1'")["sink_MgC_yr"].sum()
    assert got == pytest.approx(4e6, rel=5e-3)  # 4 Tg C = 4e6 Mg C


def test_paddy_share_of_cropland_only_without_a_paddy_class(tmp_path):
    """A factor row with when_absent=rice_paddy (the paddy share of cropland) is dropped when the land
    cover maps rice paddies: paddies are never counted twice. Code 5 = rice paddy on pixel (2,0) (West)."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[2, 0] = 5
    write_tif(case / "landcover.tif", codes, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("5,Paddy,rice_paddy,terrestrial\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("terrestrial,rice_paddy,removal,0,0,0,g C m-2 yr-1,test,t\n")
    (case / "non_co2.csv").write_text(
        "ecosystem,gas,central,low,high,units,season_days,share,when_absent,evidence,source\n"
        "rice_paddy,CH4,10,10,10,g CH4 m-2 yr-1,,1,,test,t\n"
        "forest,CH4,10,10,10,g CH4 m-2 yr-1,,0.5,rice_paddy,test,share of another class standing in for paddies\n")
    result = run(_edit(cfg, lambda d: d.update(non_co2={"factors": "non_co2.csv"})), tmp_path / "out")
    nc = _table(result, "non_co2")
    assert set(nc["ecosystem"]) == {"rice_paddy"}
    assert nc["emission_t_yr"].sum() == pytest.approx(1e6 * 10 / 1e6)  # 1 km2 x 10 g CH4 m-2 = 10 t


def test_nearest_zones_take_sea_only_for_every_sum(tmp_path):
    """With offshore_km, a land pixel outside every region stays unallocated in every table, not only the
    sink table: here the gridded emissions of the east half of land pixel (3,1) (0.5 km2)."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[3, 2:] = 4
    write_tif(case / "landcover.tif", codes, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("4,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,20,20,20,g C m-2 yr-1,test,t\n")
    write_tif(case / "fossil.tif", np.full(codes.shape, 1.0, dtype="float32"))

    def edit(d):
        d["regions"]["offshore_km"] = 10
        del d["emissions"]
        d["emissions_grid"] = {"path": "fossil.tif", "units": "t CO2 yr-1 per pixel"}
    b = run(_edit(cfg, edit), tmp_path / "out").budgets.set_index("region_id")
    # unallocated: the land half-pixel only (0.5 t); the sea pixels went to East (1.875) and West (0.125)
    assert b.loc["unallocated", "emissions_MtCO2"] == pytest.approx(0.5 * MT, rel=1e-6)
    assert b.loc["2", "emissions_MtCO2"] == pytest.approx((7.5 + 1.875) * MT, rel=1e-6)

"""A flux product keeps its mass: applied to every land pixel of its cells, and its own integral over the
regions stated beside what the run assessed (tables/flux_products.csv), with the cause of any difference.

The case: 4 x 4 pixels of 1 km; a flux product on 2 km cells (each cell exactly 2 x 2 pixels, so
``average`` resampling gives every pixel its cell's value); regions West (x 0-2 km) and East (x 2-4 km)
follow pixel edges. Pixel area 1e6 m2, so a density of D g C m-2 yr-1 is D Mg C yr-1 per pixel.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from affine import Affine

from conftest import tiny_case, write_tif
from pipeline import run
from pipeline.sinks.products import product_table
from pipeline.grid import CHINA_ALBERS
from pipeline.tables import Scheme

#: 1 forest, 3 settlement, 2 lake, 4 sea, 9 nodata (row 0 north).
CODES = np.array([[1, 3, 1, 2],
                  [3, 1, 2, 2],
                  [1, 1, 1, 3],
                  [9, 1, 1, 4]], dtype=np.uint8)
#: The product's 2 km cells [g C m-2 yr-1, uptake positive].
CELLS = np.array([[100.0, 40.0],
                  [-20.0, 60.0]], dtype="float32")


def _case(tmp_path: Path, ecosystems=None, redistribute=False) -> Path:
    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "landcover.tif", CODES, nodata=9)
    write_tif(case / "nep.tif", CELLS, transform=Affine(2000.0, 0, 0, 0, -2000.0, 4000.0))
    (case / "scheme.csv").write_text("code,name,ecosystem,realm\n1,Forest,forest,terrestrial\n"
                                     "3,Built-up,settlement,terrestrial\n2,Lake,open_water,inland_water\n"
                                     "4,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("terrestrial,settlement,removal,0,0,0,g C m-2 yr-1,test,no sink\n"
                "ocean,marginal_sea,removal,0,0,0,g C m-2 yr-1,test,no sink\n")
    regions = gpd.GeoDataFrame(
        {"code": [1, 2], "name": ["West", "East"]},
        geometry=[shapely.box(0, 0, 2000, 4000), shapely.box(2000, 0, 4000, 4000)],
        crs=CHINA_ALBERS)
    regions.to_file(case / "regions.gpkg", layer="regions", driver="GPKG")
    data = yaml.safe_load(cfg.read_text())
    data["fluxes"] = {"nep": {"path": "nep.tif", "units": "g C m-2 yr-1", "sign": "uptake_positive"}}
    data["sinks"]["terrestrial"] = {"method": "flux", "flux": "nep", **({"ecosystems": ecosystems} if ecosystems else {}),
                                    **({"redistribute": True} if redistribute else {})}
    cfg.write_text(yaml.safe_dump(data))
    return cfg


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flux_products")
    return run(_case(tmp), tmp / "out")


def test_flux_applies_to_every_land_pixel_of_its_cell(default_run):
    """Settlement pixels get their cell's density too: West's two built-up pixels lie in the 100 cell."""
    t = default_run.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert t.loc[("1", "settlement"), "sink_MgC_yr"] == pytest.approx(2 * 100, rel=1e-9)
    assert t.loc[("2", "settlement"), "sink_MgC_yr"] == pytest.approx(60, rel=1e-9)
    # West forest: (0,0), (1,1) in the 100 cell; (2,0), (2,1), (3,1) in the -20 cell
    assert t.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(2 * 100 - 3 * 20, rel=1e-9)


def test_product_integral_beside_what_was_applied(default_run):
    """By hand, per region (Mg C yr-1):
    West: cell 100 -> 4 land px = 400; cell -20 -> 3 land px + 1 px without land cover = -80.
          integral 320, applied 340, not applied -20 (the pixel without land cover).
    East: cell 40 -> forest 40 + 3 lake px 120; cell 60 -> forest 2 x 60 + settlement 60 + sea 60.
          integral (land and inland water) 340, applied 220, not applied 120 on the lake pixels,
          outside the product's domain 60 (the sea pixel)."""
    t = pd.read_csv(default_run.run_dir / "tables" / "flux_products.csv", dtype={"region_id": str}).set_index("region_id")
    w, e = t.loc["1"], t.loc["2"]
    assert (w["product_integral_MgC_yr"], w["applied_MgC_yr"]) == pytest.approx((320, 340), rel=1e-9)
    assert w["on_no_landcover_MgC_yr"] == pytest.approx(-20, rel=1e-9)
    assert w["on_inland_water_pixels_MgC_yr"] == 0
    assert (e["product_integral_MgC_yr"], e["applied_MgC_yr"]) == pytest.approx((340, 220), rel=1e-9)
    assert e["on_inland_water_pixels_MgC_yr"] == pytest.approx(120, rel=1e-9)
    assert e["outside_domain_MgC_yr"] == pytest.approx(60, rel=1e-9)
    assert e["difference_pct"] == pytest.approx(100 * 120 / 340, rel=1e-9)
    assert e["main_cause"].startswith("inland water pixels")
    # the product's integral = applied + every part left out, region by region
    parts = w.filter(like="_pixels_MgC_yr").sum() + w["on_no_landcover_MgC_yr"]
    assert w["product_integral_MgC_yr"] == pytest.approx(w["applied_MgC_yr"] + parts, rel=1e-12)
    nation = default_run.qa["flux_products"]["nep"]
    assert nation["product_integral_MgC_yr"] == pytest.approx(320 + 340, rel=1e-9)
    assert nation["applied_MgC_yr"] == pytest.approx(340 + 220, rel=1e-9)


def test_restricted_ecosystems_show_what_they_leave_out(tmp_path):
    """``sinks.terrestrial.ecosystems: [forest]`` leaves the built-up pixels to their coefficient (0): West's
    two (200) and East's one (60) are listed as terrestrial ecosystems the flux is not applied to."""
    result = run(_case(tmp_path, ecosystems=["forest"]), tmp_path / "out")
    t = pd.read_csv(result.run_dir / "tables" / "flux_products.csv", dtype={"region_id": str}).set_index("region_id")
    assert t.loc["1", "on_terrestrial_pixels_MgC_yr"] == pytest.approx(200, rel=1e-9)
    assert t.loc["1", "applied_MgC_yr"] == pytest.approx(140, rel=1e-9)
    assert t.loc["1", "main_cause"].startswith("terrestrial ecosystems the flux is not applied to")
    assert t.loc["2", "on_terrestrial_pixels_MgC_yr"] == pytest.approx(60, rel=1e-9)
    eco = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert eco.loc[("1", "settlement"), "sink_MgC_yr"] == 0


def test_product_table_no_data_area_and_cause_from_sums():
    """Unit level: sums by class (area m2, positive g, negative g) -> the table, checked by hand. Two
    ecosystems (forest terrestrial, lake inland water); classes 0 forest, 1 lake, 2 no land cover,
    3-5 the same without product data."""
    scheme = Scheme(table=pd.DataFrame(), ecosystems=("forest", "lake"), ecosystem_realm=("terrestrial", "inland_water"), source="test")
    s = np.zeros((2, 6, 3))
    s[0, 0] = [3e6, 300e6, 0]    # forest: 300 Mg removal
    s[0, 1] = [1e6, 50e6, 10e6]  # lake: +40 Mg net
    s[0, 3] = [2e6, 0, 0]        # 2 km2 of forest without product data
    table = product_table({"p": s}, ["A", "unallocated"], {"A": "Region A"}, scheme,
                          {"p": ("terrestrial", ("forest",))})
    a = table.set_index("region_id").loc["A"]
    assert a["product_integral_MgC_yr"] == pytest.approx(340)
    assert a["applied_MgC_yr"] == pytest.approx(300)
    assert a["applied_no_data_km2"] == pytest.approx(2.0)
    assert a["main_cause"] == "inland water pixels (counted by that realm's own method instead): 40 Mg C yr-1"
    assert table.set_index("region_id").loc["unallocated", "main_cause"] == ""


def _products(result) -> pd.DataFrame:
    return pd.read_csv(result.run_dir / "tables" / "flux_products.csv", dtype={"region_id": str}).set_index("region_id")


def test_redistribute_keeps_each_cells_mass_on_the_applied_pixels(tmp_path):
    """``redistribute: true``: East's 40 cell moves its 3 lake pixels' 120 onto its one forest pixel
    (40 + 120 = 160): East applied 340 = its integral. The sea pixel of the 60 cell is outside the
    product's domain, and West's pixel without land cover is left out too (it could be another
    country's land): West applied 340, integral 320, not applied -20 on that pixel."""
    result = run(_case(tmp_path, redistribute=True), tmp_path / "out")
    eco = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert eco.loc[("2", "forest"), "sink_MgC_yr"] == pytest.approx(160 + 2 * 60, rel=1e-9)
    assert eco.loc[("2", "settlement"), "sink_MgC_yr"] == pytest.approx(60, rel=1e-9)
    assert eco.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(2 * 100 - 3 * 20, rel=1e-9)
    t = _products(result)
    assert t.loc["2", "applied_MgC_yr"] == pytest.approx(340, rel=1e-9)
    assert t.loc["2", "redistributed_MgC_yr"] == pytest.approx(120, rel=1e-9)
    assert abs(t.loc["2", "not_applied_MgC_yr"]) < 1e-9 * 340
    assert pd.isna(t.loc["2", "main_cause"]) or t.loc["2", "main_cause"] == ""
    assert t.loc["1", "redistributed_MgC_yr"] == 0
    assert t.loc["1", "not_applied_MgC_yr"] == pytest.approx(-20, rel=1e-9)
    # the lake keeps its own (coefficient) sink: nothing of the product is counted twice
    assert eco.loc[("2", "open_water"), "sink_MgC_yr"] == pytest.approx(3 * (10 - 30), rel=1e-9)


def test_redistribute_onto_chosen_ecosystems_only(tmp_path):
    """With ``ecosystems: [forest]``: West's 100 cell (2 forest, 2 built-up) gives its 400 to the 2
    forest pixels (200 each); the -20 cell's 3 forest pixels keep -20: West forest 340, built-up 0.
    East's 60 cell: its built-up pixel's 60 goes to its 2 forest pixels (90 each)."""
    result = run(_case(tmp_path, ecosystems=["forest"], redistribute=True), tmp_path / "out")
    eco = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert eco.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(400 - 60, rel=1e-9)
    assert eco.loc[("1", "settlement"), "sink_MgC_yr"] == 0
    assert eco.loc[("2", "forest"), "sink_MgC_yr"] == pytest.approx(160 + 2 * 90, rel=1e-9)
    assert _products(result).loc["1", "redistributed_MgC_yr"] == pytest.approx(200, rel=1e-9)


def test_redistribute_needs_the_flux_method(tmp_path):
    from pipeline.config import RealmSpec

    with pytest.raises(ValueError, match="'redistribute' applies to the flux method"):
        RealmSpec(method="coefficient", redistribute=True)


def test_report_shows_each_product_integral_and_the_unallocated_split(default_run):
    """report.html: the product's integral over the regions, 320 + 340 = 660 Mg C yr-1 = 660 x 44/12 x 1e-6
    = 0.00242 Mt CO2 yr-1, applied 340 + 220 = 560 -> 0.00205; not applied 100/660 = 15.2 %."""
    html = (default_run.run_dir / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="products">'):]
    section = section[:section.index("</section>")]
    assert "0.00242" in section and "0.00205" in section and "15.2" in section
    assert "land outside the regions" in section and "sea beyond the offshore zones" in section

"""The national run on real data (configs/china.yaml): 34 provinces, their offshore zones, China's seas."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import run
from pipeline.config import config_from_dict
from pipeline.tables import read_coefficients
from pipeline.units import MgC_to_MtCO2

ROOT = Path(__file__).resolve().parents[1]
CHINA = ROOT / "configs" / "china.yaml"


@pytest.fixture(scope="module")
def china_run(tmp_path_factory):
    return run(CHINA, tmp_path_factory.mktemp("china") / "run")


def test_china__regions_missing_emissions_and_conservation(china_run):
    b = china_run.budgets.set_index("region")
    assert len(b) == 35  # 34 provincial-level units + unallocated
    # CEADs has no Tibet, Taiwan, Hong Kong or Macao: missing, never zero
    for name in ("Tibet", "Taiwan", "Hong Kong", "Macao"):
        match = [r for r in b.index if r.startswith(name)]
        assert match and b.loc[match[0], "emissions_MtCO2"] != b.loc[match[0], "emissions_MtCO2"]  # NaN
    assert china_run.qa["conservation"]["relative_difference"] < 1e-9


def test_china__terrestrial_sink_is_area_times_default_rates(china_run):
    """With the coefficient method, the national terrestrial sink is sum(area_k x rate_k) over the
    ecosystems: recomputed here from the areas and configs/coefficients/default.csv."""
    reco = china_run.region_ecosystem
    coeffs = read_coefficients(ROOT / "configs" / "coefficients" / "default.csv")
    rates = coeffs[(coeffs["realm"] == "terrestrial") & (coeffs["flux"] == "removal")].set_index("ecosystem")["central"]
    land = reco[reco["realm"] == "terrestrial"].groupby("ecosystem")["area_km2"].sum()
    expected_MgC = sum(land[e] * rates[e] for e in land.index)  # km2 x g m-2 = Mg
    bal = china_run.balance.set_index("item")["value"]
    assert bal["sink_terrestrial"] == pytest.approx(MgC_to_MtCO2(expected_MgC), rel=1e-9)


def test_china__stock_change_sees_only_the_synthetic_changes(tmp_path):
    """The synthetic 2010 epoch reverts some forest to cropland/grassland and some settlement to
    cropland (sample_rasters/make_china.py): after both epochs are warped onto the grid, those are the
    only transitions, and the stock change adds up to the terrestrial sink."""
    data = yaml.safe_load(CHINA.read_text())
    data["sinks"]["terrestrial"] = {"method": "stock_change", "stock_change": {
        "earlier": {"path": "../sample_rasters/china/landcover_modis_igbp_2010_synthetic.tif", "year": 2010},
        "densities": "coefficients/carbon_density.csv"}}
    cfg = config_from_dict(data, base=CHINA.parent)
    result = run(cfg, tmp_path / "out")
    tr = pd.read_csv(result.run_dir / "tables" / "transitions.csv")
    changed = tr[tr["changed"]]
    pairs = set(zip(changed["from_ecosystem"], changed["to_ecosystem"]))
    assert pairs <= {("cropland", "forest"), ("grassland", "forest"), ("cropland", "settlement")}
    assert ("cropland", "forest") in pairs and changed["area_km2"].sum() > 0
    terrestrial = result.region_ecosystem.query("realm == 'terrestrial'")["sink_MgC_yr"].sum()
    assert tr["stock_change_MgC_yr"].sum() == pytest.approx(terrestrial, rel=1e-9)
    assert np.isfinite(terrestrial) and terrestrial > 0  # afforestation outweighs (settlement soil kept)


def test_china__gridded_emissions_alternative(tmp_path):
    """CDIAC NDP-058 2013 (per-cell totals, Tg C per 1-degree cell) summed over the 34 provinces, against
    an independent figure: China's 2013 fossil CO2 in the Global Carbon Budget 2025 (via Our World in
    Data: 9,942 Mt CO2). CDIAC's grid also counts Taiwan, Hong Kong and Macao (about 0.3 Gt) and
    spreads emissions by population, so agreement within 10 % is what to expect."""
    data = yaml.safe_load(CHINA.read_text())
    del data["emissions"]
    data["emissions_grid"] = {"path": "../sample_rasters/china/fossil_co2_cdiac_ndp058_2013.tif",
                              "units": "Tg C yr-1 per pixel", "year": 2013}
    result = run(config_from_dict(data, base=CHINA.parent), tmp_path / "out")
    regions = result.budgets[result.budgets["region_id"] != "unallocated"]
    assert regions["emissions_MtCO2"].sum() == pytest.approx(9942.4, rel=0.10)
    assert regions["emissions_MtCO2"].notna().all()  # a raster covers every province, Tibet included

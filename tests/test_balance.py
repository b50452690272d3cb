"""Issue 5: the balance arithmetic by hand on the tiny case, CCUS, time series, valuation, land-use
scenarios, scenario defaults, and emissions joined by region name."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY_CODES, tiny_case, write_tif
from pipeline import run
from pipeline.cli import main
from pipeline.units import CO2_PER_C

MT = 1e-6  # Mg -> Mt
# Tiny case by hand (conftest): forest 100 g C m-2 yr-1 on 12 km2 (West 5, East 4.5, unallocated 2.5);
# lakes (East, 3 km2) bury 10 and outgas 30 g C m-2 yr-1.
SINK_WEST = 5 * 100 * CO2_PER_C * MT  # Mt CO2 yr-1
SINK_EAST = (4.5 * 100 + 3 * (10 - 30)) * CO2_PER_C * MT
SINK_UNALLOCATED = 2.5 * 100 * CO2_PER_C * MT


def _edit(cfg: Path, fn) -> Path:
    data = yaml.safe_load(cfg.read_text())
    fn(data)
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def test_balance_arithmetic_with_national_and_regional_ccus(tmp_path):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "ccus.csv").write_text("year,region,ccus_MtCO2\n2021,,0.001\n2021,1,0.002\n2020,1,0.5\n")
    result = run(_edit(cfg, lambda d: d.update(balance={"ccus": "ccus.csv"})), tmp_path / "out")
    b = result.budgets.set_index("region_id")
    assert b.loc["1", "sink_total_MtCO2"] == pytest.approx(SINK_WEST)
    assert b.loc["2", "sink_total_MtCO2"] == pytest.approx(SINK_EAST)
    assert b.loc["1", "ccus_MtCO2"] == pytest.approx(0.002)
    assert b.loc["1", "net_MtCO2"] == pytest.approx(6.0 - SINK_WEST - 0.002)
    assert b.loc["2", "net_MtCO2"] == pytest.approx(2.0 - SINK_EAST)
    assert b.loc["1", "sink_offset_pct"] == pytest.approx(100 * SINK_WEST / 6.0)
    assert b.loc["1", "rank_sink"] == 1 and b.loc["2", "rank_sink"] == 2  # West sinks more
    bal = result.balance.set_index("item")["value"]
    total_sink = SINK_WEST + SINK_EAST + SINK_UNALLOCATED
    assert bal["sink_total"] == pytest.approx(total_sink)
    assert bal["ccus"] == pytest.approx(0.003)
    assert bal["net_emission"] == pytest.approx(8.0 - total_sink - 0.003)
    assert bal["gap_to_neutrality"] == pytest.approx(bal["net_emission"])


def test_time_series_and_trends(tmp_path):
    """Emissions 2020: West 5, East 1 (6); 2021: West 6, East 2 (8). Slope 2 per year, +33.3 %."""
    case = tmp_path / "case"
    cfg = _edit(tiny_case(case), lambda d: d.update(balance={"years": [2020, 2021]}))
    result = run(cfg, tmp_path / "out")
    nat = pd.read_csv(result.run_dir / "tables" / "balance_by_year.csv").set_index("year")
    assert nat.loc[2020, "emissions_MtCO2"] == pytest.approx(6.0)
    assert nat.loc[2021, "net_MtCO2"] == pytest.approx(8.0 - (SINK_WEST + SINK_EAST + SINK_UNALLOCATED))
    tr = pd.read_csv(result.run_dir / "tables" / "trends.csv", dtype={"region_id": str}).set_index("region_id")
    assert tr.loc["nation", "emissions_MtCO2_slope_per_yr"] == pytest.approx(2.0)
    assert tr.loc["nation", "emissions_MtCO2_change_pct"] == pytest.approx(100 * (8 / 6 - 1))
    assert tr.loc["2", "emissions_MtCO2_slope_per_yr"] == pytest.approx(1.0)
    by_year = pd.read_csv(result.run_dir / "tables" / "budgets_by_year.csv", dtype={"region_id": str})
    assert by_year.query("year == 2020 and region_id == '1'")["emissions_MtCO2"].item() == pytest.approx(5.0)


def test_valuation_present_value(tmp_path):
    """100 per t CO2, 5 %, 10 years: PV = value x (1 - 1.05^-10) / 0.05."""
    case = tmp_path / "case"
    cfg = _edit(tiny_case(case), lambda d: d.update(balance={"valuation": {
        "price_per_tCO2": 100, "currency": "CNY", "discount_rate": 0.05, "horizon_years": 10}}))
    bal = run(cfg, tmp_path / "out").balance.set_index("item")["value"]
    per_year = (SINK_WEST + SINK_EAST + SINK_UNALLOCATED) * 1e6 * 100
    assert bal["sink_value_per_year"] == pytest.approx(per_year)
    assert bal["sink_present_value"] == pytest.approx(per_year * (1 - 1.05 ** -10) / 0.05)


def test_land_use_scenario_potential(tmp_path):
    """Lake pixel (1,2) (East) planted as forest: forest +1 km2 x 100 and lake -1 km2 x (10 - 30) g C m-2
    yr-1 = +120 Mg C yr-1."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    scen = TINY_CODES.copy()
    scen[1, 2] = 1
    write_tif(case / "scenario.tif", scen, nodata=9)
    result = run(_edit(cfg, lambda d: d.update(land_use_scenarios=[{"name": "plant", "path": "scenario.tif"}])),
                 tmp_path / "out")
    t = pd.read_csv(result.run_dir / "tables" / "land_use_scenarios.csv", dtype={"region_id": str})
    east = t[t["region_id"] == "2"].set_index("ecosystem")
    assert east.loc["forest", "area_change_km2"] == pytest.approx(1.0)
    assert east.loc["open_water", "area_change_km2"] == pytest.approx(-1.0)
    assert east["sink_change_MgC_yr"].sum() == pytest.approx(120.0)
    assert t[t["region_id"] == "1"]["sink_change_MgC_yr"].abs().sum() == pytest.approx(0.0, abs=1e-9)
    bal = result.balance.set_index("item")["value"]
    assert bal["land_use_potential:plant"] == pytest.approx(120 * CO2_PER_C * MT)


def test_scenario_defaults_are_the_seed_papers_figures():
    """Yu, Hao & Zhu 2022: peak ~2030 at 10-11 Gt CO2; 2060 residual ~3 Gt offset by ecosystem sinks of
    2.0-2.5 Gt and CCUS of 0.5-1.0 Gt; China 2019 10.17 Gt."""
    s = yaml.safe_load((ROOT / "configs" / "scenarios" / "yu2022_2060.yaml").read_text())
    assert s["peak_emissions_GtCO2"] == {"year": 2030, "low": 10.0, "high": 11.0}
    assert s["residual_emissions_2060_GtCO2"] == 3.0
    assert s["ecosystem_sink_2060_GtCO2"] == {"low": 2.0, "high": 2.5}
    assert s["ccus_2060_GtCO2"] == {"low": 0.5, "high": 1.0}
    assert s["direct_reduction_2060_GtCO2"] == {"low": 7.0, "high": 8.0}
    assert s["national_emissions_2019_GtCO2"] == 10.17
    # and the residual is what sinks and CCUS together offset: 2.0 + 0.5 <= 3 <= 2.5 + 1.0
    assert s["ecosystem_sink_2060_GtCO2"]["low"] + s["ccus_2060_GtCO2"]["low"] <= 3.0
    assert s["ecosystem_sink_2060_GtCO2"]["high"] + s["ccus_2060_GtCO2"]["high"] >= 3.0


def test_sample_balance_states_the_2060_shares(sample_run):
    bal = sample_run.balance.set_index("item")["value"]
    assert bal["scenario_sink_2060_low"] == 2000 and bal["scenario_residual_emissions_2060"] == 3000
    assert bal["assessed_sink_share_of_2060_low"] == pytest.approx(100 * bal["sink_total"] / 2000)
    assert bal["assessed_sink_share_of_2060_residual"] == pytest.approx(100 * bal["sink_total"] / 3000)


def test_emissions_joined_by_name_and_unknown_names_listed(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "emissions.csv").write_text("year,code,co2\n2021,west,6.0\n2021,EAST,2.0\n")
    b = run(cfg, tmp_path / "out").budgets.set_index("region_id")
    assert b.loc["1", "emissions_MtCO2"] == 6.0 and b.loc["2", "emissions_MtCO2"] == 2.0
    (case / "emissions.csv").write_text("year,code,co2\n2021,West,6.0\n2021,Eastt,2.0\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out2"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "'Eastt' Did you mean 'East'?" in err and "Known region names" in err


def test_region_missing_from_inventory_is_missing_not_zero(tmp_path):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "emissions.csv").write_text("year,code,co2\n2021,1,6.0\n")
    b = run(cfg, tmp_path / "out").budgets.set_index("region_id")
    assert np.isnan(b.loc["2", "emissions_MtCO2"]) and np.isnan(b.loc["2", "net_MtCO2"])


def test_ccus_table_with_text_is_a_clear_error(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "ccus.csv").write_text("year,region,ccus_MtCO2\n2021,,about 3\n")
    cfg = _edit(cfg, lambda d: d.update(balance={"ccus": "ccus.csv"}))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    assert "column 'ccus_MtCO2' holds values that are not numbers: ['about 3']" in capsys.readouterr().err


def test_flux_key_with_coefficient_method_is_refused(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = _edit(tiny_case(case), lambda d: d["sinks"].update(terrestrial={"method": "coefficient", "flux": "nep"}))
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "the method is 'coefficient', which ignores them" in capsys.readouterr().err


def test_emissions_by_sector_are_summed(tmp_path):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "emissions.csv").write_text("year,code,sector,co2\n2021,1,power,4.0\n2021,1,industry,2.0\n"
                                        "2021,2,power,2.0\n2021,2,industry,\n")
    result = run(_edit(cfg, lambda d: d["emissions"].update(sector_field="sector")), tmp_path / "out")
    b = result.budgets.set_index("region_id")
    assert b.loc["1", "emissions_MtCO2"] == 6.0 and b.loc["2", "emissions_MtCO2"] == 2.0
    sectors = pd.read_csv(result.run_dir / "tables" / "emissions_by_sector.csv", dtype={"region_id": str})
    assert sectors.query("region_id == '1'")["value"].sum() == 6.0 and len(sectors) == 4


def test_time_series_with_land_cover_of_another_year(tmp_path):
    """From 2021 on, lake pixel (1,2) (East) is forest: East's coefficient sink rises by forest +1 km2 x 100
    and lake -1 km2 x (10 - 30) g C m-2 yr-1 = +120 Mg C yr-1; 2020 keeps the run's land cover."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    later = TINY_CODES.copy()
    later[1, 2] = 1
    write_tif(case / "lc2021.tif", later, nodata=9)
    cfg = _edit(cfg, lambda d: d.update(balance={"years": [2020, 2021], "landcover_by_year": {2021: "lc2021.tif"}}))
    result = run(cfg, tmp_path / "out")
    by_year = pd.read_csv(result.run_dir / "tables" / "budgets_by_year.csv", dtype={"region_id": str})
    east = by_year[by_year["region_id"] == "2"].set_index("year")
    assert east.loc[2020, "sink_total_MtCO2"] == pytest.approx(SINK_EAST)
    assert east.loc[2021, "sink_total_MtCO2"] == pytest.approx(SINK_EAST + 120 * CO2_PER_C * MT)
    assert east.loc[2021, "landcover_year"] == 2021
    nat = pd.read_csv(result.run_dir / "tables" / "balance_by_year.csv").set_index("year")
    assert nat.loc[2021, "sink_total_MtCO2"] - nat.loc[2020, "sink_total_MtCO2"] == pytest.approx(120 * CO2_PER_C * MT)

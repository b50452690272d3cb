"""Issue 5: the balance arithmetic by hand on the tiny case, CCUS, time series, valuation, land-use
scenarios, scenario defaults, and emissions joined by region name."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY_CODES, tiny_case, write_tif
from pipeline import run
from pipeline.balance import Scope, balance
from pipeline.cli import main
from pipeline.config import DEFAULT_SCENARIO, ScenarioSpec
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


def test_time_series_nets_like_for_like_when_a_region_lacks_a_year(tmp_path):
    """East has no 2020 inventory row: 2020 emissions are West's 5 (East missing, not 0) and the 2020 net
    leaves East's sink out: 5 - (SINK_WEST + SINK_UNALLOCATED); 2021 (both present) nets every sink."""
    case = tmp_path / "case"
    cfg = _edit(tiny_case(case), lambda d: d.update(balance={"years": [2020, 2021]}))
    (case / "emissions.csv").write_text("year,code,co2\n2020,1,5.0\n2021,1,6.0\n2021,2,2.0\n")
    result = run(cfg, tmp_path / "out")
    nat = pd.read_csv(result.run_dir / "tables" / "balance_by_year.csv").set_index("year")
    assert nat.loc[2020, "emissions_MtCO2"] == pytest.approx(5.0)
    assert nat.loc[2020, "regions_missing_emissions"] == 1
    assert nat.loc[2020, "net_MtCO2"] == pytest.approx(5.0 - (SINK_WEST + SINK_UNALLOCATED))
    assert nat.loc[2020, "sink_no_inventory_MtCO2"] == pytest.approx(SINK_EAST)
    assert nat.loc[2020, "sink_total_MtCO2"] == pytest.approx(SINK_WEST + SINK_EAST + SINK_UNALLOCATED)
    assert nat.loc[2021, "net_MtCO2"] == pytest.approx(8.0 - (SINK_WEST + SINK_EAST + SINK_UNALLOCATED))


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


# --- like-for-like national balance on a hand-made budget table ---------------------------------------
def budget_table(emissions_b=np.nan, all_gases=False) -> pd.DataFrame:
    """Three rows: A (emissions 1000, sinks 250 + 30 + 20 = 300, CCUS 1), B (emissions ``emissions_b``,
    sinks 150 + 10 + 40 = 200, CCUS 2) and unallocated (emissions 0, ocean sink 100). Mt CO2 yr-1.
    With ``all_gases``: non-CO2 A 4 / B 7 Mt CO2e, inorganic sink A 0.5 / B 0.25 Mt CO2."""
    b = pd.DataFrame({
        "region_id": ["A", "B", "unallocated"], "region": ["Alpha", "Beta", "unallocated"],
        "sink_terrestrial_MtCO2": [250.0, 150.0, 0.0], "sink_water_MtCO2": [30.0, 10.0, 0.0],
        "sink_ocean_MtCO2": [20.0, 40.0, 100.0], "gross_removal_MtCO2": [310.0, 210.0, 100.0],
        "gross_emission_MtCO2": [10.0, 10.0, 0.0], "emissions_MtCO2": [1000.0, emissions_b, 0.0],
        "ccus_MtCO2": [1.0, 2.0, 0.0]})
    b["sink_total_MtCO2"] = b[["sink_terrestrial_MtCO2", "sink_water_MtCO2", "sink_ocean_MtCO2"]].sum(axis=1)
    b["net_MtCO2"] = b["emissions_MtCO2"] - b["sink_total_MtCO2"] - b["ccus_MtCO2"]
    if all_gases:
        b["ch4_MtCO2e"], b["n2o_MtCO2e"] = [4.0, 7.0, 0.0], [0.0, 0.0, 0.0]
        b["non_co2_MtCO2e"] = b["ch4_MtCO2e"] + b["n2o_MtCO2e"]
        b["inorganic_sink_MtCO2"] = [0.5, 0.25, 0.0]
        b["net_all_MtCO2e"] = b["net_MtCO2"] + b["non_co2_MtCO2e"] - b["inorganic_sink_MtCO2"]
    return b


def test_balance_is_like_for_like_when_a_region_lacks_emissions():
    """By hand: emissions = A's 1000 (B missing, not zero); net = 1000 - (300 + 100) - (1 + 3) = 596 (A's and
    unallocated's sinks, A's and national CCUS); offset = 400 / 1000 = 40 %; sink_total stays 600."""
    t = balance(budget_table(), 3.0, {}, 2021).set_index("item")
    v = t["value"]
    assert v["emissions"] == 1000.0
    assert "no inventory for Beta" in t.loc["emissions", "note"]
    assert v["sink_total"] == 600.0
    assert v["sink_no_inventory"] == 200.0 and "Beta" in t.loc["sink_no_inventory", "note"]
    assert v["ccus"] == 6.0 and v["ccus_no_inventory"] == 2.0
    assert v["net_emission"] == pytest.approx(596.0)
    assert v["sink_offset"] == pytest.approx(40.0)
    assert v["gap_to_neutrality"] == pytest.approx(596.0)
    for item in ("net_emission", "sink_offset"):
        assert "excluding Beta (sink 200.00 Mt CO2 yr-1)" in t.loc[item, "note"]
    # the rows add up: net = emissions - sink_total - ccus + what is not netted
    assert v["net_emission"] == pytest.approx(v["emissions"] - v["sink_total"] - v["ccus"]
                                              + v["sink_no_inventory"] + v["ccus_no_inventory"])


def test_balance_like_for_like_all_gases():
    """net_all = 596 + A's non-CO2 4 - A's inorganic 0.5 = 599.5; B's 7 and 0.25 stay in the national rows."""
    v = balance(budget_table(all_gases=True), 3.0, {}, 2021).set_index("item")["value"]
    assert v["non_co2_emission"] == 11.0 and v["inorganic_sink"] == 0.75
    assert v["non_co2_no_inventory"] == 7.0 and v["inorganic_sink_no_inventory"] == 0.25
    assert v["net_emission_all"] == pytest.approx(599.5)
    assert v["gap_to_neutrality"] == pytest.approx(599.5)


def test_balance_with_every_region_covered_nets_every_sink():
    """B reports 500: emissions 1500, net = 1500 - 600 - 6 = 894, offset 600 / 1500 = 40 %; no exclusion rows."""
    t = balance(budget_table(emissions_b=500.0), 3.0, {}, 2021).set_index("item")
    assert t.loc["emissions", "value"] == 1500.0 and t.loc["net_emission", "value"] == pytest.approx(894.0)
    assert t.loc["sink_offset", "value"] == pytest.approx(40.0)
    assert "sink_no_inventory" not in t.index and "excluding" not in t.loc["net_emission", "note"]


def test_balance_without_any_inventory_has_no_emissions_or_net():
    b = budget_table()
    b.loc[b["region_id"] == "A", "emissions_MtCO2"] = np.nan
    v = balance(b, 3.0, {}, 2021).set_index("item")["value"]
    assert np.isnan(v["emissions"]) and np.isnan(v["net_emission"]) and np.isnan(v["sink_offset"])
    assert v["sink_total"] == 600.0


def test_balance_states_the_sink_against_the_2060_scheme():
    """Sink 600 Mt = 0.600 Gt; 600 / 2500 = 24.0 %, 600 / 2000 = 30.0 % (default scenario: the seed paper), for a
    run declared national (a subset's wording: tests/test_scope.py)."""
    t = balance(budget_table(), 0.0, None, 2021, scope=Scope("national", "regions", 2)).set_index("item")
    assert t.loc["assessed_sink_GtCO2", "value"] == pytest.approx(0.6)
    assert t.loc["assessed_sink_GtCO2", "units"] == "Gt CO2 yr-1"
    assert t.loc["assessed_sink_GtCO2", "note"] == ("the assessed ecosystem sink is 0.600 Gt CO2/yr, 24.0-30.0 % of "
                                                    "the 2.0-2.5 Gt the 2060 scheme assumes")
    assert t.loc["assessed_sink_share_of_2060_low", "value"] == pytest.approx(30.0)


def test_default_scenario_is_the_seed_paper_file():
    """The built-in default (for installs without configs/) equals configs/scenarios/yu2022_2060.yaml."""
    s = yaml.safe_load((ROOT / "configs" / "scenarios" / "yu2022_2060.yaml").read_text())
    assert DEFAULT_SCENARIO == s
    assert ScenarioSpec.model_validate(DEFAULT_SCENARIO) == ScenarioSpec.model_validate(s)
    v = balance(budget_table(), 0.0, None, 2021).set_index("item")["value"]
    assert (v["scenario_sink_2060_low"], v["scenario_sink_2060_high"]) == (2000.0, 2500.0)
    assert (v["scenario_ccus_2060_low"], v["scenario_ccus_2060_high"]) == (500.0, 1000.0)
    assert v["scenario_residual_emissions_2060"] == 3000.0
    assert (v["scenario_peak_emissions_low"], v["scenario_peak_emissions_high"]) == (10000.0, 11000.0)
    assert (v["scenario_direct_reduction_2060_low"], v["scenario_direct_reduction_2060_high"]) == (7000.0, 8000.0)
    assert v["scenario_national_emissions_2019"] == pytest.approx(10170.0)


def test_run_without_scenario_uses_the_seed_papers_figures(tmp_path):
    cfg = tiny_case(tmp_path / "case")
    assert "balance" not in yaml.safe_load(cfg.read_text())
    bal = run(cfg, tmp_path / "out").balance.set_index("item")["value"]
    assert bal["scenario_sink_2060_low"] == 2000.0 and bal["scenario_residual_emissions_2060"] == 3000.0
    assert bal["assessed_sink_GtCO2"] == pytest.approx((SINK_WEST + SINK_EAST + SINK_UNALLOCATED) / 1000)


def test_run_with_a_region_missing_from_inventory_nets_like_for_like(tmp_path):
    """East has no inventory: emissions = West's 6; net = 6 - SINK_WEST - SINK_UNALLOCATED (East's sink not
    netted); sink_total stays the whole tiny nation."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "emissions.csv").write_text("year,code,co2\n2021,1,6.0\n")
    bal = run(cfg, tmp_path / "out").balance.set_index("item")["value"]
    assert bal["emissions"] == 6.0
    assert bal["sink_total"] == pytest.approx(SINK_WEST + SINK_EAST + SINK_UNALLOCATED)
    assert bal["sink_no_inventory"] == pytest.approx(SINK_EAST)
    assert bal["net_emission"] == pytest.approx(6.0 - SINK_WEST - SINK_UNALLOCATED)
    assert bal["sink_offset"] == pytest.approx(100 * (SINK_WEST + SINK_UNALLOCATED) / 6.0)


# --- per-capita figures, ranks, value of the enhancement potential ------------------------------------
def test_per_capita_and_rank_offset(tmp_path):
    """Population West 2,000,000, East 500,000 (2021). Emissions per person: West 6 Mt / 2e6 = 3.0 t, East
    2 Mt / 5e5 = 4.0 t; sink per person = sink [Mt] x 1e6 / population. Offset: West 100 x SINK_WEST / 6
    = 0.0306 %, East 100 x SINK_EAST / 2 = 0.0715 %, so East ranks 1 by offset, West 2."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "population.csv").write_text("year,code,pop\n2021,1,2000000\n2021,2,500000\n")
    cfg = _edit(cfg, lambda d: d.update(population={"path": "population.csv", "region_field": "code",
                                                    "value_field": "pop"}))
    b = run(cfg, tmp_path / "out").budgets.set_index("region_id")
    assert b.loc["1", "emissions_per_capita_tCO2"] == pytest.approx(3.0)
    assert b.loc["2", "emissions_per_capita_tCO2"] == pytest.approx(4.0)
    assert b.loc["1", "sink_per_capita_tCO2"] == pytest.approx(SINK_WEST * 1e6 / 2e6)
    assert b.loc["2", "sink_per_capita_tCO2"] == pytest.approx(SINK_EAST * 1e6 / 5e5)
    assert b.loc["1", "sink_offset_pct"] == pytest.approx(100 * SINK_WEST / 6.0)
    assert b.loc["2", "sink_offset_pct"] == pytest.approx(100 * SINK_EAST / 2.0)
    assert (b.loc["2", "rank_offset"], b.loc["1", "rank_offset"]) == (1, 2)
    assert pd.isna(b.loc["unallocated", "rank_offset"])


def test_land_use_potential_is_valued(tmp_path):
    """Potential 120 Mg C yr-1 = 120 x 44/12 t CO2 = 440 t CO2 yr-1; at 100 CNY per t: 44,000 CNY yr-1; over
    10 years at 5 %: 44,000 x (1 - 1.05^-10) / 0.05 = 44,000 x 7.721735 = 339,756.3 CNY."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    scen = TINY_CODES.copy()
    scen[1, 2] = 1
    write_tif(case / "scenario.tif", scen, nodata=9)
    cfg = _edit(cfg, lambda d: d.update(
        land_use_scenarios=[{"name": "plant", "path": "scenario.tif"}],
        balance={"valuation": {"price_per_tCO2": 100, "currency": "CNY", "discount_rate": 0.05, "horizon_years": 10}}))
    t = run(cfg, tmp_path / "out").balance.set_index("item")
    assert t.loc["land_use_potential_value_per_year:plant", "value"] == pytest.approx(44_000.0)
    assert t.loc["land_use_potential_value_per_year:plant", "units"] == "CNY yr-1"
    assert t.loc["land_use_potential_present_value:plant", "value"] == pytest.approx(339_756.3, abs=0.1)

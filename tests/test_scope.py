"""Issue 18 item 5: a run over some of a country's regions says so everywhere ("2 assessed regions"),
never "national"; national targets only as the assessed regions' share, labelled so; the scheme's
direct cuts and national emissions are rows of the balance; other years' figures are a trajectory."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, tiny_case
from pipeline import run
from pipeline.balance import Scope, balance, trajectory_rows
from pipeline.report_html import comparison_rows

SCENARIO = yaml.safe_load((ROOT / "configs" / "scenarios" / "yu2022_2060.yaml").read_text())


def _budget(emissions_a=1000.0) -> pd.DataFrame:
    """A (emissions 1000; sink 300), B (emissions 500; sink 200), unallocated (sink 100). Mt CO2 yr-1."""
    b = pd.DataFrame({"region_id": ["A", "B", "unallocated"], "region": ["Alpha", "Beta", "unallocated"],
                      "sink_terrestrial_MtCO2": [300.0, 200.0, 0.0], "sink_water_MtCO2": [0.0, 0.0, 0.0],
                      "sink_ocean_MtCO2": [0.0, 0.0, 100.0], "gross_removal_MtCO2": [300.0, 200.0, 100.0],
                      "gross_emission_MtCO2": [0.0, 0.0, 0.0], "emissions_MtCO2": [emissions_a, 500.0, 0.0],
                      "ccus_MtCO2": [0.0, 0.0, 0.0]})
    b["sink_total_MtCO2"] = b[["sink_terrestrial_MtCO2", "sink_water_MtCO2", "sink_ocean_MtCO2"]].sum(axis=1)
    return b


def test_scope_words():
    s = Scope("subset", "provinces", 6)
    assert (s.assessed, s.possessive, s.whole, s.summary_title) == (
        "6 assessed provinces", "the 6 assessed provinces'", "the 6 assessed provinces",
        "Summary of 6 assessed provinces")
    assert Scope("subset", "counties", 1).assessed == "1 assessed county"
    assert Scope("national", "provinces", 34).summary_title == "National summary"
    assert Scope.of(None, None, _budget()) == Scope("subset", "regions", 2)  # unallocated is not a region


def test_balance_gains_the_direct_cuts_and_the_national_emissions_of_the_scheme_file():
    """Rows straight from configs/scenarios/yu2022_2060.yaml, Gt -> Mt (x 1000); the run of 2019 gets its
    share of the 2019 national emissions: 1500 / 10170."""
    t = balance(_budget(), 0.0, SCENARIO, 2019, scope=Scope("subset", "provinces", 2)).set_index("item")
    cuts = SCENARIO["direct_reduction_2060_GtCO2"]
    assert t.loc["scenario_direct_reduction_2060_low", "value"] == pytest.approx(cuts["low"] * 1000) == 7000.0
    assert t.loc["scenario_direct_reduction_2060_high", "value"] == pytest.approx(cuts["high"] * 1000) == 8000.0
    nat = SCENARIO["national_emissions_2019_GtCO2"] * 1000
    assert t.loc["scenario_national_emissions_2019", "value"] == pytest.approx(nat) == pytest.approx(10170.0)
    assert t.loc["emissions_share_of_national_2019", "value"] == pytest.approx(100 * 1500 / 10170)
    assert "the 2 assessed provinces' share of the national emissions of 2019" in \
        t.loc["emissions_share_of_national_2019", "note"]
    assert t.loc["assessed_regions", "value"] == 2 and t.loc["assessed_regions", "units"] == "provinces"
    assert t.loc["assessed_regions", "note"].startswith("scope: subset")
    # a 2021 run is not divided by the 2019 national emissions, nor by the 2030 peak or 2060 CCUS
    t21 = balance(_budget(), 0.0, SCENARIO, 2021).set_index("item")
    assert not any(i.startswith("emissions_share") for i in t21.index)
    assert not [i for i in t21.index if "share" in i and ("peak" in i or "ccus" in i)]


def test_subset_balance_labels_the_2060_comparison_as_the_assessed_regions_share():
    """Sink 600 Mt: 600 / 2500 = 24.0 %, 600 / 2000 = 30.0 %, as the 2 assessed regions' share."""
    t = balance(_budget(), 0.0, None, 2021, scope=Scope("subset", "regions", 2)).set_index("item")
    assert t.loc["assessed_sink_GtCO2", "note"] == (
        "the ecosystem sink of the 2 assessed regions is 0.600 Gt CO2/yr; their share of the national 2060 sink "
        "target (2.0-2.5 Gt CO2/yr) is 24.0-30.0 %")
    assert t.loc["assessed_sink_share_of_2060_low", "value"] == pytest.approx(30.0)
    assert "the 2 assessed regions' share of the national 2060 sink target" in \
        t.loc["assessed_sink_share_of_2060_low", "note"]
    assert "not national" in t.loc["sink_total", "note"]
    nat = balance(_budget(), 0.0, None, 2021, scope=Scope("national", "provinces", 2)).set_index("item")
    assert nat.loc["assessed_sink_GtCO2", "note"] == ("the assessed ecosystem sink is 0.600 Gt CO2/yr, 24.0-30.0 % "
                                                      "of the 2.0-2.5 Gt the 2060 scheme assumes")
    assert "whole nation" in nat.loc["sink_total", "note"]


def test_trajectory_is_year_against_year_and_comparisons_skip_other_years():
    """The run's emissions (1500), sink (600) and CCUS (0) stand in 2021; the scheme's 10,170 in 2019, the
    10,000-11,000 peak in 2030, the 3,000 residual, 7,000-8,000 cuts, 2,000-2,500 sink, 500-1,000 CCUS in 2060."""
    bal = balance(_budget(), 0.0, SCENARIO, 2021)
    t = trajectory_rows(bal, 2021, Scope("subset", "provinces", 2))
    got = {(r.quantity, r.year, r.kind): (r.low, r.central, r.high) for r in t.itertuples()}
    nan = np.nan
    expected = {("CO2 emissions", 2021, "run"): (nan, 1500.0, nan),
                ("CO2 emissions", 2019, "scheme"): (nan, 10170.0, nan),
                ("CO2 emissions", 2030, "scheme"): (10000.0, nan, 11000.0),
                ("CO2 emissions", 2060, "scheme"): (nan, 3000.0, nan),
                ("direct emission cuts", 2060, "scheme"): (7000.0, nan, 8000.0),
                ("ecosystem sink", 2021, "run"): (nan, 600.0, nan),
                ("ecosystem sink", 2060, "scheme"): (2000.0, nan, 2500.0), ("CCUS", 2021, "run"): (nan, 0.0, nan),
                ("CCUS", 2060, "scheme"): (500.0, nan, 1000.0)}
    assert set(got) == set(expected)
    for key, vals in expected.items():
        np.testing.assert_allclose(got[key], vals, err_msg=str(key))
    assert t.loc[t["kind"] == "run", "label"].eq("this run (2 assessed provinces)").all()
    # comparison rows: the 2030 peak and the 2060 CCUS are never set against this run
    rows = {r["label"]: r for r in comparison_rows(bal, SCENARIO, 2021)}
    assert rows["peak CO2 emissions"]["assessed"] is None and rows["CCUS in 2060"]["assessed"] is None
    assert rows["national CO2 emissions"]["assessed"] is None  # 2019 figure, 2021 run
    rows19 = {r["label"]: r for r in comparison_rows(balance(_budget(), 0.0, SCENARIO, 2019), SCENARIO, 2019)}
    assert rows19["national CO2 emissions"]["share_pct"] == pytest.approx(100 * 1500 / 10170)


def _html(run_dir) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_subset_run_says_assessed_regions_everywhere(tmp_path):
    cfg = tiny_case(tmp_path / "case", balance={"years": [2020, 2021]})
    result = run(cfg, tmp_path / "out")
    html, md = _html(result.run_dir), (result.run_dir / "report.md").read_text()
    assert "National summary" not in html and "Summary of 2 assessed regions" in html
    assert "2 assessed regions" in html and "every total is theirs, not national" in html
    assert "National emissions changed" not in md
    # 2020: 6, 2021: 8 Mt CO2 -> slope 2.0 per year, +33.3 % (by hand)
    assert "Emissions of the 2 assessed regions changed 2.0 Mt CO2 per year (33.3 % over 2020-2021)" in md
    assert "Scope: 2 assessed regions" in md
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["scope"] == {"scope": "subset", "level": "regions", "n_regions": 2, "label": "2 assessed regions"}
    bal = pd.read_csv(result.run_dir / "tables" / "balance.csv").set_index("item")
    assert bal.loc["assessed_regions", "value"] == 2 and "subset" in bal.loc["assessed_regions", "note"]
    comparison = html.split('<section id="comparison">')[1].split("</section>")[0]
    assert "the 2 assessed regions&#x27; share of the national figure" in comparison
    assert "this run / published" not in comparison
    assert "Trajectory" in comparison and "<img" in comparison


def test_declared_national_run_says_national(tmp_path):
    cfg = tiny_case(tmp_path / "case", balance={"years": [2020, 2021]})
    data = yaml.safe_load(cfg.read_text())
    data["regions"].update(scope="national", level="provinces")
    cfg.write_text(yaml.safe_dump(data))
    result = run(cfg, tmp_path / "out")
    html, md = _html(result.run_dir), (result.run_dir / "report.md").read_text()
    assert "<h2>National summary</h2>" in html and "assessed provinces" not in html
    assert "National run: 2 provinces" in html
    assert "National emissions changed 2.0 Mt CO2 per year" in md
    assert json.loads((result.run_dir / "manifest.json").read_text())["scope"]["scope"] == "national"

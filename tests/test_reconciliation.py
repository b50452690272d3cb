"""Issue 18 item 8: the run's terrestrial sink beside published national estimates (tables/reconciliation.csv),
values converted by hand (Pg C -> Mt CO2: x 1000 x 44/12), where the run sits, and the subset caveat."""

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import tiny_case
from pipeline import run
from pipeline.balance import Scope
from pipeline.errors import InputError
from pipeline.reconciliation import (DEFAULT_PUBLISHED, load_published, position, rate_to_MtCO2,
                                     reconciliation_table)

PG_C = 1000 * 44 / 12  # Mt CO2 per Pg C


def _published(**over) -> pd.DataFrame:
    rows = [{"source": "Alpha 2020", "period": "2001-2010", "method_class": "bottom-up inventory", "central": 0.2,
             "low": 0.1, "high": 0.3, "units": "Pg C yr-1", "range_basis": "source range", "includes_lateral": False,
             "managed_land_only": False, "evidence": "V", "notes": ""},
            {"source": "Beta 2024", "period": "2021", "method_class": "national GHG inventory: LULUCF", "central": 1.0,
             "low": np.nan, "high": np.nan, "units": "Gt CO2e yr-1", "range_basis": "none", "includes_lateral": True,
             "managed_land_only": True, "evidence": "V", "notes": ""}]
    return pd.DataFrame(rows).assign(**over)


BALANCE = pd.DataFrame({"item": ["sink_terrestrial", "sink_total"], "value": [500.0, 650.0],
                        "units": "Mt CO2 yr-1", "note": ""})
UNC = pd.DataFrame({"region_id": ["nation", "A"], "quantity": ["sink_terrestrial_MtCO2"] * 2,
                    "p05": [400.0, 1.0], "p50": [510.0, 2.0], "p95": [900.0, 3.0]})


def test_rate_conversions_by_hand():
    assert rate_to_MtCO2(0.2, "Pg C yr-1") == pytest.approx(0.2 * PG_C)
    assert rate_to_MtCO2(250, "Tg C yr-1") == pytest.approx(250 * 44 / 12)
    assert rate_to_MtCO2(1.315, "Gt CO2e yr-1") == pytest.approx(1315.0)
    assert rate_to_MtCO2(3, "Mt CO2 yr-1") == pytest.approx(3.0)
    with pytest.raises(ValueError, match="unknown units"):
        rate_to_MtCO2(1, "Pg C")


def test_national_run_sits_below_inside_or_above():
    """Alpha: 733.3 (366.7 to 1100): 500 inside; run 5-95 % 400-900 overlaps. Beta: 1000, no range: 500 below,
    400-900 misses it."""
    t = reconciliation_table(_published(), BALANCE, UNC, Scope("national", "provinces", 2))
    a, b = t.iloc[0], t.iloc[1]
    assert (a["central_MtCO2"], a["low_MtCO2"], a["high_MtCO2"]) == pytest.approx((0.2 * PG_C, 0.1 * PG_C, 0.3 * PG_C))
    assert (a["run_sink_MtCO2"], a["run_p05_MtCO2"], a["run_p95_MtCO2"]) == (500.0, 400.0, 900.0)
    assert a["position"] == "inside range" and bool(a["like_for_like"])
    assert a["intervals_overlap"] == True  # noqa: E712 (numpy bool; None would fail)
    assert a["run_minus_central_MtCO2"] == pytest.approx(500 - 0.2 * PG_C)
    assert a["run_share_of_central_pct"] == pytest.approx(100 * 500 / (0.2 * PG_C))
    assert b["central_MtCO2"] == pytest.approx(1000.0) and np.isnan(b["low_MtCO2"])
    assert b["position"] == "below"
    assert b["intervals_overlap"] == False  # noqa: E712 (numpy bool; None would fail)
    assert "laterally" in b["comparability"] and "managed land only" in b["comparability"]
    assert "CO2-equivalent" in b["comparability"] and "laterally" not in a["comparability"]
    assert [position(x, 1.0, 2.0, 3.0) for x in (0.5, 2.5, 3.5)] == ["below range", "inside range", "above range"]
    # without a Monte Carlo: no interval, no overlap
    t = reconciliation_table(_published(), BALANCE, None, Scope("national", "provinces", 2))
    assert np.isnan(t["run_p05_MtCO2"]).all() and t["intervals_overlap"].isna().all()


def test_subset_run_is_not_like_for_like():
    t = reconciliation_table(_published(), BALANCE, UNC, Scope("subset", "provinces", 6))
    assert not t["like_for_like"].any() and (t["position"] == "not like for like").all()
    assert t["intervals_overlap"].isna().all()
    assert t["comparability"].str.startswith("not like for like: the run covers the 6 assessed provinces only").all()
    assert t.iloc[0]["run_share_of_central_pct"] == pytest.approx(100 * 500 / (0.2 * PG_C))


def test_shipped_estimates_are_cited_and_convert():
    t = load_published()
    assert t is not None and len(t) >= 8 and DEFAULT_PUBLISHED.name == "published_terrestrial_sinks.csv"
    assert t["source"].str.strip().ne("").all() and t["evidence"].str.strip().ne("").all()
    wang = t[t["source"].str.startswith("Wang J.")].iloc[0]
    assert (wang["central"], wang["low"], wang["high"]) == (1.11, 0.73, 1.49)  # 1.11 +- 0.38 Pg C yr-1
    assert rate_to_MtCO2(wang["central"], wang["units"]) == pytest.approx(1.11 * PG_C)
    inventory = t[t["method_class"].str.contains("GHG inventory")].iloc[0]
    assert inventory["managed_land_only"] and inventory["units"] == "Gt CO2e yr-1"
    assert t.loc[t["method_class"].str.contains("inversion") & ~t["method_class"].str.contains("adjusted"),
                 "includes_lateral"].all()
    assert ((t["low"] <= t["central"]) | t["low"].isna()).all()
    assert ((t["central"] <= t["high"]) | t["high"].isna()).all()


def test_bad_published_table_names_file_row_and_field(tmp_path):
    path = tmp_path / "pub.csv"
    path.write_text("source,period,method_class,central,low,high,units,includes_lateral,managed_land_only,evidence\n"
                    "X 2020,2010,inventory,0.2,0.3,0.4,Pg C yr-1,no,no,V\n"
                    "Y 2021,2011,inversion,0.5,,,Pg C,maybe,no,V\n")
    with pytest.raises(InputError) as err:
        load_published(path)
    msg = str(err.value)
    assert str(path) in msg and "row 1 (X 2020, 2010): 'low' 0.3 > 'central' 0.2" in msg
    assert "row 2 (Y 2021, 2011): 'units' unknown units 'Pg C'" in msg and "'includes_lateral' = 'maybe'" in msg
    path.write_text("source,period,method_class,central,low,high,units,includes_lateral,managed_land_only,evidence\n"
                    ",2010,inventory,0.2,,,Pg C yr-1,no,no,V\n")
    with pytest.raises(InputError, match="without provenance"):
        load_published(path)


def test_run_writes_the_reconciliation_table_and_section(tmp_path):
    """Tiny case (conftest): 12 km2 of forest x 100 g C m-2 yr-1 = 1,200 Mg C yr-1 = 0.0044 Mt CO2 yr-1; one
    published estimate of 0.001 Pg C yr-1 = 3.667 Mt CO2 yr-1 in a config's own CSV."""
    case = tmp_path / "case"
    cfg = tiny_case(case, uncertainty={"draws": 200})
    (case / "pub.csv").write_text(
        "# test\nsource,period,method_class,central,low,high,units,includes_lateral,managed_land_only,evidence\n"
        "Test 2020,2010s,inventory,0.001,,,Pg C yr-1,no,no,V\n")
    data = yaml.safe_load(cfg.read_text())
    data["balance"] = {"published_estimates": "pub.csv"}
    data["regions"]["scope"] = "national"
    cfg.write_text(yaml.safe_dump(data))
    result = run(cfg, tmp_path / "out")
    rec = pd.read_csv(result.run_dir / "tables" / "reconciliation.csv")
    assert len(rec) == 1
    r = rec.iloc[0]
    assert r["run_sink_MtCO2"] == pytest.approx(1200 * 44 / 12 * 1e-6)
    assert r["central_MtCO2"] == pytest.approx(0.001 * PG_C)
    assert r["position"] == "below"
    unc = pd.read_csv(result.run_dir / "tables" / "uncertainty.csv", dtype={"region_id": str})
    nat = unc[(unc["region_id"] == "nation") & (unc["quantity"] == "sink_terrestrial_MtCO2")].iloc[0]
    assert (r["run_p05_MtCO2"], r["run_p95_MtCO2"]) == pytest.approx((nat["p05"], nat["p95"]))
    html = (result.run_dir / "report.html").read_text()
    section = html.split('<section id="reconciliation">')[1].split("</section>")[0]
    assert "<img" in section and "Test 2020" in section and "below" in section
    assert "## Reconciliation with published estimates" in (result.run_dir / "report.md").read_text()

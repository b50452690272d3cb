"""Uncertainty that means what it says: shared coefficients correlated, [M] values wide, the share drawn,
the central estimate inside its interval or flagged, every range's basis stated and checked."""

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import tables
from pipeline.errors import InputError
from pipeline.tables import RANGE_BASES, evidence_tags, read_coefficients, read_densities, read_inorganic, read_scheme
from pipeline.uncertainty import (Member, MonteCarloInputs, central_estimates, coefficient_member, simulate,
                                  summarise)

ROOT = Path(__file__).resolve().parents[1]
COEFF_DIR = ROOT / "configs" / "coefficients"
TO_MT = 44.0 / 12.0 / 1e12  # g C -> Mt CO2


def tri_q(p, lo, c, hi):
    """The p-quantile of a triangular(lo, c, hi), by hand from its CDF."""
    fc = (c - lo) / (hi - lo)
    return lo + math.sqrt(p * (hi - lo) * (c - lo)) if p < fc else hi - math.sqrt((1 - p) * (hi - lo) * (hi - c))


def _mc(areas: dict, rates: pd.DataFrame, realm="inland_water", **kw) -> MonteCarloInputs:
    a = pd.DataFrame(areas, index=[str(i) for i in range(len(next(iter(areas.values()))))])
    ids = list(a.index)
    return MonteCarloInputs(ids, [f"r{i}" for i in ids], a, {realm: [Member("coefficients", rates=rates)]},
                            np.full(len(ids), np.nan), np.zeros(len(ids)), **kw)


def _rates(groups, lo=0.0, c=1.0, hi=4.0):
    return pd.DataFrame({"ecosystem": ["lake", "reservoir"], "central": [c, c], "low": [lo, lo], "high": [hi, hi],
                         "draw_group": groups})


# --- correlation ------------------------------------------------------------------------------------
def test_shared_coefficient_is_one_draw_and_the_nation_interval_is_the_coefficients():
    """Lake (region 0, 1e9 m2) and reservoir (region 1, 2e9 m2) share one rate, triangular(0, 1, 4): every
    draw gives both the same rate, so the nation's 5/95 % are 3e9 m2 x the rate's own 5/95 %:
    q05 = sqrt(0.05 x 4 x 1) = 0.44721, q95 = 4 - sqrt(0.05 x 4 x 3) = 3.22540 (g C m-2 yr-1)."""
    mc = _mc({"lake": [1e9, 0.0], "reservoir": [0.0, 2e9]}, _rates(["lake_burial", "lake_burial"]))
    sims = simulate(mc, 200_000, seed=7, distribution="triangular")
    w = sims["sink_water_MtCO2"]
    np.testing.assert_allclose(w[:, 0] / 1e9, w[:, 1] / 2e9, rtol=1e-12)  # the same rate in every draw
    out = summarise(sims, mc).set_index(["region_id", "quantity"]).loc[("nation", "sink_water_MtCO2")]
    assert out["p05"] == pytest.approx(3e9 * 0.447214 * TO_MT, rel=1e-2)
    assert out["p95"] == pytest.approx(3e9 * 3.225403 * TO_MT, rel=5e-3)
    assert tri_q(0.05, 0, 1, 4) == pytest.approx(0.447214, rel=1e-6)


def test_independent_coefficients_give_a_narrower_nation():
    """Without the group the two rates are independent: correlation ~0 and the nation's 5-95 % width is
    below the fully correlated one (3e9 x (3.22540 - 0.44721))."""
    mc = _mc({"lake": [1e9, 0.0], "reservoir": [0.0, 2e9]}, _rates([None, None]))
    sims = simulate(mc, 100_000, seed=7, distribution="triangular")
    w = sims["sink_water_MtCO2"]
    assert abs(np.corrcoef(w[:, 0], w[:, 1])[0, 1]) < 0.02
    nat = w.sum(axis=1)
    width = np.percentile(nat, 95) - np.percentile(nat, 5)
    assert width < 0.9 * 3e9 * (3.225403 - 0.447214) * TO_MT


def test_group_with_different_ranges_is_comonotonic():
    """Rows of one group at the same quantile: cropland triangular(11, 19, 34) and a derived row
    triangular(22, 38, 68) (twice it) give draws in the ratio 2 exactly; normal draws too."""
    rates = pd.DataFrame({"ecosystem": ["cropland", "rice_paddy"], "central": [19.0, 38.0], "low": [11.0, 22.0],
                          "high": [34.0, 68.0], "draw_group": ["soil", "soil"]})
    for dist in ("triangular", "normal", "uniform"):
        mc = _mc({"cropland": [1e9, 0.0], "rice_paddy": [0.0, 1e9]}, rates, realm="terrestrial")
        t = simulate(mc, 5000, seed=3, distribution=dist)["sink_terrestrial_MtCO2"]
        np.testing.assert_allclose(t[:, 1], 2 * t[:, 0], rtol=1e-12)


def test_emission_rows_are_subtracted_and_share_their_group():
    """Open water with burial 22 and outgassing 35 (one row each) over 1e9 m2: central net = -13 g C m-2 yr-1
    x 1e9 m2 = -1.3e10 g C; two lakes' emission rows in one group are drawn alike."""
    coeffs = pd.DataFrame({"realm": ["inland_water"] * 3, "ecosystem": ["open_water", "open_water", "lake"],
                           "flux": ["removal", "emission", "emission"], "central": [22.0, 35.0, 35.0],
                           "low": [11.3, 21.4, 21.4], "high": [56.4, 48.6, 48.6],
                           "draw_group": ["burial", "outgassing", "outgassing"]})
    m = coefficient_member(coeffs, "inland_water")
    mc = _mc({"open_water": [1e9, 0.0], "lake": [0.0, 1e9]}, m.rates)
    c = central_estimates(mc)["sink_water_MtCO2"][0]
    assert c[0] == pytest.approx(-13 * 1e9 * TO_MT, rel=1e-12)
    assert c[1] == pytest.approx(-35 * 1e9 * TO_MT, rel=1e-12)
    w = simulate(mc, 2000, seed=1, distribution="triangular")["sink_water_MtCO2"]
    # region 1 is minus the outgassing draw; region 0 is burial minus the same outgassing draw
    assert np.all(w[:, 1] < 0) and np.all(-w[:, 1] / (1e9 * TO_MT) <= 48.6 + 1e-9)


# --- the share is drawn ------------------------------------------------------------------------------
def test_inorganic_share_is_drawn(tmp_path):
    """A user table (no range_basis: 'not stated') with a fixed rate 4.28 and the share triangular(0.095, 0.28,
    0.42) over 1e9 m2 of forest: the interval is 1e9 x 4.28 x the share's 5/95 % (0.149829, 0.372303)."""
    p = tmp_path / "inorganic.csv"
    p.write_text("realm,ecosystem,central,low,high,units,share,share_low,share_high,evidence,source\n"
                 "terrestrial,forest,4.28,4.28,4.28,t C km-2 yr-1,0.28,0.095,0.42,V/M,test\n")
    inorg = read_inorganic(p)
    assert inorg["range_basis"].tolist() == ["not stated"]
    mc = _mc({"forest": [1e9]}, _rates([None, None]), inorganic=inorg)
    out = summarise(simulate(mc, 200_000, seed=2, distribution="triangular"), mc).set_index(["region_id", "quantity"])
    row = out.loc[("nation", "inorganic_sink_MtCO2")]
    q05, q95 = tri_q(0.05, 0.095, 0.28, 0.42), tri_q(0.95, 0.095, 0.28, 0.42)
    assert (q05, q95) == pytest.approx((0.149829, 0.372303), rel=1e-5)
    assert row["p05"] == pytest.approx(1e9 * 4.28 * q05 * TO_MT, rel=5e-3)
    assert row["p95"] == pytest.approx(1e9 * 4.28 * q95 * TO_MT, rel=5e-3)
    assert row["central"] == pytest.approx(1e9 * 4.28 * 0.28 * TO_MT, rel=1e-12) and row["central_in_interval"]


def test_share_outside_its_range_is_refused(tmp_path):
    p = tmp_path / "inorganic.csv"
    p.write_text("realm,ecosystem,central,low,high,units,share,share_low,share_high,evidence,source\n"
                 "terrestrial,forest,4.28,4.28,4.28,t C km-2 yr-1,0.28,0.3,0.42,V/M,test\n")
    with pytest.raises(InputError, match=r"share_low' <= 'share' <= 'share_high'.*forest"):
        read_inorganic(p)


# --- central inside its interval, or flagged ------------------------------------------------------------
def test_skewed_triangular_with_central_inside_is_not_flagged():
    """Lake burial triangular(11.3, 22, 56.4): its 5 % is 11.3 + sqrt(0.05 x 45.1 x 10.7) = 16.21 < 22."""
    rates = pd.DataFrame({"ecosystem": ["lake"], "central": [22.0], "low": [11.3], "high": [56.4]})
    mc = _mc({"lake": [1e9]}, rates)
    out = summarise(simulate(mc, 50_000, seed=4, distribution="triangular"), mc).set_index(["region_id", "quantity"])
    row = out.loc[("0", "sink_water_MtCO2")]
    assert row["p05"] == pytest.approx(1e9 * tri_q(0.05, 11.3, 22, 56.4) * TO_MT, rel=1e-2)
    assert tri_q(0.05, 11.3, 22, 56.4) == pytest.approx(16.212, rel=1e-4)
    assert bool(row["central_in_interval"]) and row["note"] == ""


def test_central_at_the_edge_of_its_range_is_flagged_with_the_coefficient():
    """Cropland soil density-like range (37.4, 117.4, 117.4): the 95 % is 37.4 + sqrt(0.95) x 80 = 115.37 < 117.4,
    so the central lies outside and the note names the coefficient and its central at the 100 % point."""
    rates = pd.DataFrame({"ecosystem": ["cropland"], "central": [117.4], "low": [37.4], "high": [117.4],
                          "label": ["cropland soil"]})
    mc = _mc({"cropland": [1e9]}, rates, realm="terrestrial")
    out = summarise(simulate(mc, 50_000, seed=4, distribution="triangular"), mc).set_index(["region_id", "quantity"])
    row = out.loc[("nation", "sink_terrestrial_MtCO2")]
    assert row["p95"] == pytest.approx(1e9 * (37.4 + math.sqrt(0.95) * 80) * TO_MT, rel=2e-3)
    assert not row["central_in_interval"]
    assert row["note"].startswith("skewed ranges") and "cropland soil (37.4 / 117.4 / 117.4" in row["note"]
    assert "100 % point" in row["note"]
    # the mean's shift named in the note: ((37.4 + 2 x 117.4) / 3 - 117.4) x 1e9 m2, in Mt CO2
    assert f"{(272.2 / 3 - 117.4) * 1e9 * TO_MT:+.3g}" in row["note"]


def test_ensemble_puts_the_central_product_at_an_edge_and_says_so():
    """The run's product (member 0) is triangular(0, 0.8, 10) over 1e9 m2: its central lies at its own 8 %
    point, inside its own 5-95 % (0.632-7.855), but the mixture with a product 100x larger puts the 5 % at the
    product's own 10 % point (10 - sqrt(0.9 x 10 x 9.2) = 0.900 > 0.8): flagged as the ensemble's doing."""
    rates = pd.DataFrame({"ecosystem": ["forest"], "central": [0.8], "low": [0.0], "high": [10.0]})
    members = [Member("coefficients", rates=rates), Member("big", totals_g=np.array([1e12]))]
    a = pd.DataFrame({"forest": [1e9]}, index=["0"])
    mc = MonteCarloInputs(["0"], ["r0"], a, {"terrestrial": members}, np.array([np.nan]), np.zeros(1),
                          central_member={"terrestrial": 0})
    sims = simulate(mc, 100_000, seed=9, distribution="triangular")
    row = summarise(sims, mc).set_index(["region_id", "quantity"]).loc[("0", "sink_terrestrial_MtCO2")]
    assert row["p05"] == pytest.approx(1e9 * tri_q(0.10, 0, 0.8, 10) * TO_MT, rel=2e-2)
    assert not row["central_in_interval"]
    assert row["note"].startswith("between-product ensemble")
    assert "'coefficients'" in row["note"] and "'big'" in row["note"]
    own = sims["sink_terrestrial_MtCO2"][sims["member:terrestrial"] == 0, 0]
    assert np.percentile(own, 5) == pytest.approx(1e9 * tri_q(0.05, 0, 0.8, 10) * TO_MT, rel=2e-2)
    assert f"{np.percentile(own, 5):.4g}" in row["note"]


def test_run_product_missing_from_the_ensemble_is_said():
    members = [Member("a", totals_g=np.array([1e12])), Member("b", totals_g=np.array([3e12]))]
    a = pd.DataFrame({"forest": [1e9]}, index=["0"])
    mc = MonteCarloInputs(["0"], ["r0"], a, {"terrestrial": members}, np.array([np.nan]), np.zeros(1),
                          central_member={"terrestrial": None}, central_sinks={"terrestrial": np.array([100.0])})
    row = summarise(simulate(mc, 2000, seed=1, distribution="normal"), mc).set_index(
        ["region_id", "quantity"]).loc[("0", "sink_terrestrial_MtCO2")]
    assert row["central"] == 100.0 and not row["central_in_interval"]
    assert "not a member of the ensemble (a, b)" in row["note"]


# --- range_basis in the readers --------------------------------------------------------------------------
HEADER = "realm,ecosystem,flux,central,low,high,units,evidence,source"


def test_unknown_basis_names_file_line_and_column(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("# comment\n" + HEADER + ",range_basis\n"
                 "terrestrial,forest,removal,81,52,144,g C m-2 yr-1,V,x,Source Range: Fang 2007\n"
                 "terrestrial,cropland,removal,19,11,34,g C m-2 yr-1,D,x,my guess\n")
    with pytest.raises(InputError) as info:
        read_coefficients(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: column 'range_basis': line 4 (terrestrial, cropland, removal): unknown basis "
                          "'my guess'")
    assert all(phrase in msg for phrase in RANGE_BASES)


def test_basis_is_canonical_and_a_user_table_may_omit_it(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(HEADER + ",range_basis\n"
                 "terrestrial,forest,removal,81,52,144,g C m-2 yr-1,V,x,Source Range: Fang 2007\n"
                 "terrestrial,cropland,removal,19,11,34,g C m-2 yr-1,D,x,\n")
    assert read_coefficients(p)["range_basis"].tolist() == ["source range: Fang 2007", "not stated"]
    q = tmp_path / "d.csv"
    q.write_text(HEADER + "\nterrestrial,forest,removal,81,52,144,g C m-2 yr-1,V,x\n")
    assert read_coefficients(q)["range_basis"].tolist() == ["not stated"]


def test_shipped_table_must_state_every_basis(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "SHIPPED_COEFFICIENTS", tmp_path.resolve())
    p = tmp_path / "default.csv"
    p.write_text(HEADER + "\nterrestrial,forest,removal,81,52,144,g C m-2 yr-1,V,x\n")
    with pytest.raises(InputError, match=r"default.csv: the shipped coefficient table lacks column 'range_basis'"):
        read_coefficients(p)
    p.write_text(HEADER + ",range_basis\nterrestrial,forest,removal,81,52,144,g C m-2 yr-1,V,x,\n")
    with pytest.raises(InputError, match=r"column 'range_basis': line 2 \(terrestrial, forest, removal\): empty"):
        read_coefficients(p)


# --- the shipped tables ------------------------------------------------------------------------------------
def _rows(name):
    lines = [x for x in (COEFF_DIR / name).read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    return list(csv.DictReader(lines))


MINE = ["default.csv", "inorganic.csv", "carbon_density.csv"]


@pytest.mark.parametrize("name", MINE)
def test_every_unconfirmed_value_has_a_wide_range(name):
    """Every row tagged [M] has a non-zero range and says so as 'expert judgement (unconfirmed [M])'; where
    the basis says '+/-50 %' around the central, low <= 0.5 x central and high >= 1.5 x central (for an
    inorganic row the [M] value is the share, whose range is checked)."""
    for row in _rows(name):
        if "M" not in evidence_tags(row["evidence"]):
            continue
        assert row["range_basis"].startswith("expert judgement (unconfirmed [M])"), row
        c, lo, hi = (float(row[k]) for k in ("central", "low", "high"))
        assert hi > lo, row
        if name == "inorganic.csv":
            s, s_lo, s_hi = (float(row[k]) for k in ("share", "share_low", "share_high"))
            assert s_lo <= 0.5 * s + 1e-12 and s_hi >= 1.5 * s - 1e-12, row
        elif "+/-50 % around" in row["range_basis"]:
            assert lo <= 0.5 * c + 1e-9 and hi >= 1.5 * c - 1e-9, row


@pytest.mark.parametrize("eco, b_lo, b_c, b_hi, r", [
    ("forest", 38.2, 45.8, 45.8, 0.2),       # biomass 38.2-45.8 (Yang et al. 2022), root:shoot 0.2
    ("shrubland", 10.88 - 2 * 0.77, 10.88, 10.88 + 2 * 0.77, 0.5),  # 10.88 +/- 2 x 0.77, root:shoot 0.5
])
def test_root_shoot_split_carries_the_ratio_range(eco, b_lo, b_c, b_hi, r):
    """Above ground = B / (1 + r), below = B r / (1 + r), r varied +/-50 %: the ends by hand, to 0.05."""
    rows = {x["pool"]: x for x in _rows("carbon_density.csv") if x["ecosystem"] == eco}
    ag, bg = rows["above_ground"], rows["below_ground"]
    assert float(ag["low"]) == pytest.approx(b_lo / (1 + 1.5 * r), abs=0.05)
    assert float(ag["high"]) == pytest.approx(b_hi / (1 + 0.5 * r), abs=0.05)
    assert float(ag["central"]) == pytest.approx(b_c / (1 + r), abs=0.05)
    assert float(bg["low"]) == pytest.approx(b_lo * 0.5 * r / (1 + 0.5 * r), abs=0.05)
    assert float(bg["high"]) == pytest.approx(b_hi * 1.5 * r / (1 + 1.5 * r), abs=0.05)


def test_lake_burial_range_is_for_the_national_mean():
    """Lake, reservoir and open-water burial: one draw group, and the range the source's national
    extrapolation 269.5 (138.9-690.4) Tg C scaled to the mean 22, not the 1.4-259.5 of single lakes."""
    rows = [x for x in _rows("default.csv") if x["realm"] == "inland_water" and x["flux"] == "removal"
            and x["ecosystem"] != "river"]
    assert {x["ecosystem"] for x in rows} == {"open_water", "lake", "reservoir"}
    for x in rows:
        assert x["draw_group"] == "lake_burial"
        assert float(x["low"]) == pytest.approx(22 * 138.9 / 269.5, abs=0.05)
        assert float(x["high"]) == pytest.approx(22 * 690.4 / 269.5, abs=0.05)


def test_shipped_bases_are_known_and_the_files_do_not_point_at_the_team_workspace():
    for name in MINE:
        text = (COEFF_DIR / name).read_text(encoding="utf-8")
        assert ".." + "/shared" not in text and "COEFFICIENTS.md" not in text
        for row in _rows(name):
            assert any(row["range_basis"].startswith(p) for p in RANGE_BASES), (name, row)
    read_coefficients(COEFF_DIR / "default.csv")
    read_inorganic(COEFF_DIR / "inorganic.csv")
    read_densities(COEFF_DIR / "carbon_density.csv", read_scheme(ROOT / "configs" / "landcover" / "modis_igbp.csv"),
                   ["above_ground", "below_ground", "dead_organic_matter", "soil"])


def test_stock_change_soils_of_one_group_move_together():
    """1 km2 of cropland becomes settlement over 10 years (flow 1e5 m2 yr-1 each way): sink = 1e5 x (D_settle -
    D_crop). Both soils in draw group cropland_soil, triangular(0, 11740, 11740) and (3740, 11740, 11740) g C m-2,
    at the same quantile u: D = sqrt(u) x 11740 and 3740 + sqrt(u) x 8000, so the sink is -3740 (1 - sqrt(u)) x 1e5:
    never positive, 5 % at u = 0.05 (-2903.7 x 1e5), 95 % at u = 0.95 (-94.7 x 1e5)."""
    from pipeline.uncertainty import stock_change_member
    tr = pd.DataFrame({"region_id": ["0"], "from_ecosystem": ["cropland"], "to_ecosystem": ["settlement"],
                       "area_km2": [1.0], "from_year": [2010], "to_year": [2020]})
    dens = pd.DataFrame({"ecosystem": ["cropland", "cropland", "settlement"], "pool": ["above_ground", "soil", "soil"],
                         "central": [0.0, 11740.0, 11740.0], "low": [0.0, 3740.0, 0.0], "high": [0.0, 11740.0, 11740.0],
                         "draw_group": [None, "cropland_soil", "cropland_soil"]})
    m = stock_change_member(tr, dens, {"cropland", "settlement"}, ["0"])
    mc = MonteCarloInputs(["0"], ["r0"], pd.DataFrame({"cropland": [0.0]}, index=["0"]), {"terrestrial": [m]},
                          np.array([np.nan]), np.zeros(1))
    t = simulate(mc, 100_000, seed=5, distribution="triangular")["sink_terrestrial_MtCO2"][:, 0]
    assert t.max() <= 1e-12
    assert np.percentile(t, 5) == pytest.approx(-3740 * (1 - math.sqrt(0.05)) * 1e5 * TO_MT, rel=1e-2)
    assert np.percentile(t, 95) == pytest.approx(-3740 * (1 - math.sqrt(0.95)) * 1e5 * TO_MT, rel=3e-2)
    dens["draw_group"] = None  # independent soils: the sink takes both signs
    m = stock_change_member(tr, dens, {"cropland", "settlement"}, ["0"])
    mc.members = {"terrestrial": [m]}
    t = simulate(mc, 20_000, seed=5, distribution="triangular")["sink_terrestrial_MtCO2"][:, 0]
    assert (t > 0).mean() > 0.1


# --- in a run -------------------------------------------------------------------------------------------------
def test_tiny_run_states_no_basis_and_keeps_the_central_inside(tmp_path):
    """The tiny case's own coefficient table has no range_basis: tables/coefficients.csv says 'not stated'. Forest
    1.0 (0.5-1.5) Mg C ha-1 yr-1 is symmetric: the central, 100 g C m-2 yr-1 x the forest area, is the median."""
    from conftest import tiny_case

    from pipeline import run
    cfg = tiny_case(tmp_path / "case", uncertainty={"draws": 4000, "seed": 1})
    res = run(cfg, tmp_path / "out")
    coeffs = pd.read_csv(res.run_dir / "tables" / "coefficients.csv")
    assert set(coeffs["range_basis"]) == {"not stated"}
    u = pd.read_csv(res.run_dir / "tables" / "uncertainty.csv", dtype={"region_id": str})
    row = u.set_index(["region_id", "quantity"]).loc[("nation", "sink_terrestrial_MtCO2")]
    forest_km2 = res.region_ecosystem.query("ecosystem == 'forest'")["area_km2"].sum()
    assert row["central"] == pytest.approx(forest_km2 * 1e6 * 100 * TO_MT, rel=1e-9)
    assert bool(row["central_in_interval"])


def test_sample_run_central_inside_or_explained(sample_run):
    """Every central estimate lies inside its 5-95 % or has a note; the inorganic and non-CO2 centrals of the
    Monte Carlo (area x rate x share, by its own code) equal the budget's (by the sink stage); the nation's total
    sink central is the balance's."""
    d = sample_run.run_dir / "tables"
    u = pd.read_csv(d / "uncertainty.csv", dtype={"region_id": str, "note": str})
    finite = u["central"].notna() & u["p05"].notna()
    ok = u.loc[finite, "central_in_interval"].astype(str).str.lower().eq("true")
    assert (ok | u.loc[finite, "note"].fillna("").str.len().gt(0)).all()
    b = pd.read_csv(d / "budgets.csv", dtype={"region_id": str}).set_index("region_id")
    ui = u.set_index(["region_id", "quantity"])
    for q in ("inorganic_sink_MtCO2", "non_co2_MtCO2e", "sink_total_MtCO2"):
        for rid in b.index:
            assert ui.loc[(rid, q), "central"] == pytest.approx(b.loc[rid, q], rel=1e-9, abs=1e-12), (rid, q)
    central = sample_run.balance.set_index("item").loc["sink_total", "value"]
    assert ui.loc[("nation", "sink_total_MtCO2"), "central"] == pytest.approx(central, rel=1e-9)
    inorg = ui.loc[("nation", "inorganic_sink_MtCO2")]
    assert inorg["p95"] > 1.4 * inorg["p05"]  # the [M] share is drawn: no zero-width interval
    coeffs = pd.read_csv(d / "coefficients.csv")
    shipped = coeffs[coeffs["table"].isin(["sink_rate", "inorganic"])]
    assert shipped["range_basis"].map(lambda t: any(str(t).startswith(p) for p in RANGE_BASES)).all()
    assert (coeffs["draw_group"] == "lake_burial").sum() == 3

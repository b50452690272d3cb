"""Monte Carlo on the region x ecosystem tables: against analytic moments, seeded, and fast."""

import numpy as np
import pandas as pd
import pytest

from pipeline.uncertainty import Z95, Member, MonteCarloInputs, draw, simulate, summarise
from pipeline.units import CO2_PER_C


def _case(n_reg=3, rates=None, members=None):
    areas = pd.DataFrame({"forest": [1e9, 2e9, 0.0], "cropland": [3e9, 0.0, 1e9]},
                         index=[str(i) for i in range(n_reg)])
    rates = rates if rates is not None else pd.DataFrame(
        {"ecosystem": ["forest", "cropland"], "central": [80.0, 20.0], "low": [50.0, 10.0], "high": [110.0, 30.0]})
    members = members or {"terrestrial": [Member("coefficients", rates=rates)]}
    return MonteCarloInputs([str(i) for i in range(n_reg)], [f"r{i}" for i in range(n_reg)], areas, members,
                            np.array([10.0, 5.0, np.nan]), np.zeros(n_reg))


def test_linear_normal_case_matches_analytic_variance():
    """Sink = sum_k a_k r_k with independent r_k ~ N(c_k, s_k), s_k = (high - low) / (2 x 1.645): the
    nation's variance is sum_k (sum_regions a_k)^2 s_k^2 (a coefficient is shared by all regions)."""
    mc = _case()
    sims = simulate(mc, 200_000, seed=1, distribution="normal")
    to_mt = CO2_PER_C / 1e12
    a = mc.areas_m2.sum(axis=0)  # forest 3e9, cropland 4e9 m2
    s = np.array([(110 - 50), (30 - 10)]) / (2 * Z95)
    mean = (a["forest"] * 80 + a["cropland"] * 20) * to_mt
    sd = np.sqrt((a["forest"] * s[0]) ** 2 + (a["cropland"] * s[1]) ** 2) * to_mt
    nation = sims["sink_terrestrial_MtCO2"].sum(axis=1)
    assert nation.mean() == pytest.approx(mean, rel=2e-3)
    assert nation.std() == pytest.approx(sd, rel=5e-3)
    out = summarise(sims, mc).set_index(["region_id", "quantity"])
    assert out.loc[("nation", "sink_total_MtCO2"), "p05"] == pytest.approx(mean - Z95 * sd, rel=5e-3)
    assert out.loc[("nation", "sink_total_MtCO2"), "p95"] == pytest.approx(mean + Z95 * sd, rel=5e-3)
    # region 1 has forest only: sd = 2e9 x s_forest
    assert out.loc[("1", "sink_total_MtCO2"), "sd"] == pytest.approx(2e9 * s[0] * to_mt, rel=5e-3)


@pytest.mark.parametrize("dist, mean, var", [
    ("triangular", (1 + 2 + 6) / 3, (1 + 4 + 36 - 2 - 6 - 12) / 18),  # (a+b+c)/3, (a2+b2+c2-ab-ac-bc)/18
    ("uniform", 3.5, 25 / 12),
])
def test_draw_moments(dist, mean, var):
    x = draw(np.random.default_rng(3), 2.0, 1.0, 6.0, 400_000, dist)
    assert x.mean() == pytest.approx(mean, rel=3e-3)
    assert x.var() == pytest.approx(var, rel=1e-2)
    assert x.min() >= 1.0 and x.max() <= 6.0


def test_draw_degenerate_range_is_the_central_value():
    x = draw(np.random.default_rng(0), [5.0], [5.0], [5.0], 1000, "triangular")
    assert np.all(x == 5.0)


def test_seeded_and_reproducible():
    mc = _case()
    a = summarise(simulate(mc, 5000, seed=42, distribution="triangular"), mc)
    b = summarise(simulate(mc, 5000, seed=42, distribution="triangular"), mc)
    c = summarise(simulate(mc, 5000, seed=43, distribution="triangular"), mc)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p95"].fillna(0), c["p95"].fillna(0))


def test_structural_ensemble_splits_within_and_between():
    """Two products with regional totals T1 and T2 (no within spread): the nation's draws take either
    total, so between-product sd = |T1 - T2| / 2 and within = 0."""
    t1, t2 = np.array([1e12, 0, 0]), np.array([3e12, 0, 0])  # g C yr-1
    mc = _case(members={"terrestrial": [Member("a", totals_g=t1), Member("b", totals_g=t2)]})
    out = summarise(simulate(mc, 20_000, seed=5, distribution="normal"), mc).set_index(["region_id", "quantity"])
    row = out.loc[("nation", "sink_terrestrial_MtCO2")]
    to_mt = CO2_PER_C / 1e12
    assert row["between_product_sd"] == pytest.approx(1e12 * to_mt, rel=1e-2)
    assert row["within_product_sd"] == pytest.approx(0.0, abs=1e-9)
    assert row["mean"] == pytest.approx(2e12 * to_mt, rel=1e-2)


def _fixed_rates():
    """Zero-width ranges: every draw is the central rate, so the sinks are exact. Sinks by hand
    [Mt CO2 yr-1] = g C x 44/12 / 1e12: region 0: 1e9 x 80 + 3e9 x 20 = 1.4e11 g C -> 0.51333; region 1:
    2e9 x 80 = 1.6e11 -> 0.58667; region 2: 1e9 x 20 = 2e10 -> 0.07333."""
    return pd.DataFrame({"ecosystem": ["forest", "cropland"], "central": [80.0, 20.0], "low": [80.0, 20.0],
                         "high": [80.0, 20.0]})


def test_net_of_a_region_without_inventory_is_missing():
    mc = _case()
    out = summarise(simulate(mc, 1000, seed=1, distribution="uniform"), mc).set_index(["region_id", "quantity"])
    assert np.isnan(out.loc[("2", "net_MtCO2"), "p50"])


def test_nation_net_is_like_for_like():
    """Region 2 has no inventory: the nation's net = 10 + 5 - (0.51333 + 0.58667) = 15 - 1.1 = 13.9, not
    15 - 1.17333 (region 2's sink is not netted); the nation's sink keeps all three: 1.17333."""
    mc = _case(rates=_fixed_rates())
    sims = simulate(mc, 500, seed=1, distribution="triangular")
    np.testing.assert_allclose(sims["nation:net_MtCO2"], 13.9, rtol=1e-12)
    out = summarise(sims, mc).set_index(["region_id", "quantity"])
    assert out.loc[("nation", "net_MtCO2"), "p50"] == pytest.approx(13.9, rel=1e-12)
    assert out.loc[("nation", "sink_total_MtCO2"), "p50"] == pytest.approx(3.2e11 * 44 / 12 / 1e12, rel=1e-12)


def test_nation_net_counts_unallocated_and_is_missing_without_any_inventory():
    """Ids a, b, unallocated (the areas of regions 0, 1, 2), emissions 10, missing, 0, CCUS 0.25 on b and 1
    national: net = 10 + 0 - (0.51333 + 0.07333) - 1 = 8.41333 (b's sink and CCUS left out). With a's
    emissions missing too, no region has an inventory: the net is missing."""
    mc = _case(rates=_fixed_rates())
    mc.region_ids = ["a", "b", "unallocated"]
    mc.areas_m2.index = mc.region_ids
    mc.emissions_Mt = np.array([10.0, np.nan, 0.0])
    mc.ccus_Mt = np.array([0.0, 0.25, 0.0])
    mc.national_ccus_Mt = 1.0
    sims = simulate(mc, 200, seed=2, distribution="normal")
    np.testing.assert_allclose(sims["nation:net_MtCO2"], 10.0 - (1.4e11 + 2e10) * 44 / 12 / 1e12 - 1.0, rtol=1e-12)
    mc.emissions_Mt = np.array([np.nan, np.nan, 0.0])
    sims = simulate(mc, 200, seed=2, distribution="normal")
    assert np.isnan(sims["nation:net_MtCO2"]).all()
    out = summarise(sims, mc).set_index(["region_id", "quantity"])
    assert np.isnan(out.loc[("nation", "net_MtCO2"), "p50"])


def test_sample_run_has_intervals(sample_run):
    u = pd.read_csv(sample_run.run_dir / "tables" / "uncertainty.csv").set_index(["region_id", "quantity"])
    row = u.loc[("nation", "sink_total_MtCO2")]
    assert row["p05"] < row["p50"] < row["p95"]
    # the central estimate of the balance lies inside the 5-95 % interval
    central = sample_run.balance.set_index("item").loc["sink_total", "value"]
    assert row["p05"] < central < row["p95"]


def test_nation_net_includes_national_ccus():
    mc = _case()
    mc.national_ccus_Mt = 100.0
    sims = simulate(mc, 1000, seed=1, distribution="uniform")
    # regions 0 and 1 have an inventory (15); region 2 (none) is left out of the net, like for like
    np.testing.assert_allclose(sims["nation:net_MtCO2"], 15.0 - sims["sink_total_MtCO2"][:, :2].sum(axis=1) - 100.0)

"""Stage ``balance`` (uncertainty): Monte Carlo on the small region x ecosystem tables, never on pixels.

Every sink here is linear in its coefficients (area x rate, or a product's regional total x a
scale), so a draw of the coefficients gives every region's sink by one matrix product: 10,000
draws for 35 regions x 20 ecosystems take milliseconds.

Sources of spread:

* **coefficient ranges**: each (realm, ecosystem) rate, carbon density, non-CO2 factor and inorganic
  rate has a low / central / high, read as a triangular (mode = central), normal (low and high are
  the 5th and 95th percentiles) or uniform (low to high) distribution. One draw of a coefficient
  applies to every region (a national coefficient is one unknown number, fully correlated across
  regions); coefficients of different ecosystems are independent.
* **structural ensembles**: for a realm, several products (flux rasters, or the coefficient table)
  as members. Each draw picks one member (equal weights), then draws within it (a flux product's
  regional totals scaled by 1 + N(0, relative_sd), the same factor for every region). The spread
  splits into within-product and between-product parts (law of total variance).

Emissions and CCUS are taken as given (inventory uncertainty is not drawn). The nation's net, like
the balance's, is like for like: a region without an inventory is left out of it (its sinks still
count in the nation's sink totals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .tables import REALMS
from .units import CO2_PER_C, G_PER_MG, MG_PER_MT, gwp100, km2_to_m2

#: z of the 95th percentile of a normal distribution (low/high are read as 5th/95th percentiles).
Z95 = 1.6448536269514722
#: g per Mt (from the units module's g -> Mg -> Mt)
G_PER_MT = G_PER_MG * MG_PER_MT


@dataclass
class Member:
    """One member of a realm's ensemble: either rates (g C m-2 yr-1 per ecosystem, with ranges) applied
    to the areas, or a product's regional totals (g C yr-1) scaled by a relative spread."""

    name: str
    totals_g: np.ndarray | None = None  # (region,) net sink of a flux product [g C yr-1]
    relative_sd: float = 0.0
    rates: pd.DataFrame | None = None  # ecosystem, central, low, high [g C m-2 yr-1, net sink]
    areas_m2: pd.DataFrame | None = None  # what the rates multiply, when not the ecosystem areas


@dataclass
class MonteCarloInputs:
    """Everything the Monte Carlo needs, as small tables (region order = ``region_ids``)."""

    region_ids: list[str]
    region_names: list[str]
    areas_m2: pd.DataFrame  # index region_id, columns ecosystem
    members: dict[str, list[Member]]  # realm -> members
    emissions_Mt: np.ndarray  # (region,), NaN where missing
    ccus_Mt: np.ndarray  # (region,)
    non_co2: pd.DataFrame | None = None  # ecosystem, gas, central, low, high [g gas m-2 yr-1], share
    inorganic: pd.DataFrame | None = None  # realm, ecosystem, central, low, high [g C m-2 yr-1], share
    gwp_set: str = "AR6"
    national_ccus_Mt: float = 0.0  # CCUS not attributed to a region


def draw(rng: np.random.Generator, central, low, high, n: int, distribution: str) -> np.ndarray:
    """``n`` draws for each (central, low, high) (arrays of length k): an (n, k) array."""
    central, low, high = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (central, low, high))
    lo, hi = np.minimum(low, central), np.maximum(high, central)
    k = central.size
    if distribution == "normal":
        sd = (hi - lo) / (2 * Z95)
        return central + rng.standard_normal((n, k)) * sd
    u = rng.random((n, k))
    if distribution == "uniform":
        return lo + u * (hi - lo)
    if distribution == "triangular":  # inverse CDF, well defined when low == central == high too
        width = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            fc = np.where(width > 0, (central - lo) / width, 0.5)
            left = lo + np.sqrt(u * width * (central - lo))
            right = hi - np.sqrt((1 - u) * width * (hi - central))
        return np.where(width > 0, np.where(u < fc, left, right), central)
    raise ValueError(f"unknown distribution '{distribution}'")


def _rate_sinks(rng, rates: pd.DataFrame, areas_m2: pd.DataFrame, n: int, distribution: str) -> np.ndarray:
    """(n, region) sums of area x drawn rate [g yr-1] over the ecosystems of ``rates``."""
    rates = rates[rates["ecosystem"].isin(areas_m2.columns)]
    if rates.empty:
        return np.zeros((n, len(areas_m2)))
    r = draw(rng, rates["central"], rates["low"], rates["high"], n, distribution)  # (n, k)
    share = rates["share"].to_numpy() if "share" in rates else 1.0
    a = areas_m2[rates["ecosystem"].to_list()].to_numpy() * share  # (region, k)
    return r @ a.T


def simulate(mc: MonteCarloInputs, draws: int, seed: int, distribution: str) -> dict[str, np.ndarray]:
    """Draw every quantity: a dict of (draws, region) arrays in Mt CO2 (or CO2e) yr-1, plus
    ``member:<realm>`` (draws,) with the index of the member each draw used."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    n, n_reg = draws, len(mc.region_ids)
    total = np.zeros((n, n_reg))
    for realm, short in REALMS.items():
        members = mc.members.get(realm) or []
        if not members:
            out[f"sink_{short}_MtCO2"] = np.zeros((n, n_reg))
            continue
        pick = rng.integers(len(members), size=n) if len(members) > 1 else np.zeros(n, dtype=int)
        sink_g = np.zeros((n, n_reg))
        for i, m in enumerate(members):
            rows = pick == i
            k = int(rows.sum())
            if not k:
                continue
            if m.rates is not None:
                areas = m.areas_m2 if m.areas_m2 is not None else mc.areas_m2
                sink_g[rows] = _rate_sinks(rng, m.rates, areas, k, distribution)
            else:
                scale = 1.0 + m.relative_sd * rng.standard_normal((k, 1))
                sink_g[rows] = scale * m.totals_g[None, :]
        out[f"sink_{short}_MtCO2"] = sink_g * CO2_PER_C / G_PER_MT
        out[f"member:{realm}"] = pick
        total += out[f"sink_{short}_MtCO2"]
    out["sink_total_MtCO2"] = total
    out["net_MtCO2"] = mc.emissions_Mt[None, :] - total - mc.ccus_Mt[None, :]
    extra = np.zeros((n, n_reg))
    if mc.inorganic is not None and not mc.inorganic.empty:
        inorg = _rate_sinks(rng, mc.inorganic, mc.areas_m2, n, distribution) * CO2_PER_C / G_PER_MT
        out["inorganic_sink_MtCO2"] = inorg
        extra -= inorg
    if mc.non_co2 is not None and not mc.non_co2.empty:
        co2e = np.zeros((n, n_reg))
        for gas, rows in mc.non_co2.groupby("gas"):
            co2e += _rate_sinks(rng, rows, mc.areas_m2, n, distribution) * gwp100(gas, mc.gwp_set) / G_PER_MT
        out["non_co2_MtCO2e"] = co2e
        extra += co2e
    if "inorganic_sink_MtCO2" in out or "non_co2_MtCO2e" in out:
        out["net_all_MtCO2e"] = out["net_MtCO2"] + extra
    # the nation's net as the balance sums it, like for like (pipeline.balance.like_for_like): the rows
    # whose emissions are known (regions with an inventory, and unallocated), their emissions minus
    # their sinks and CCUS, minus national CCUS; regions without an inventory are left out (their
    # emissions are unknown, not zero), and with no region's inventory the net is missing
    known = np.isfinite(mc.emissions_Mt)
    regions = np.array([rid != "unallocated" for rid in mc.region_ids], dtype=bool)
    cov = known | ~regions
    if (known & regions).any():
        e_nat = np.nansum(mc.emissions_Mt[cov]) - mc.ccus_Mt[cov].sum() - mc.national_ccus_Mt
        out["nation:net_MtCO2"] = e_nat - total[:, cov].sum(axis=1)
    else:
        out["nation:net_MtCO2"] = np.full(n, np.nan)
    if "net_all_MtCO2e" in out:
        out["nation:net_all_MtCO2e"] = out["nation:net_MtCO2"] + extra[:, cov].sum(axis=1)
    return out


def summarise(sims: dict[str, np.ndarray], mc: MonteCarloInputs) -> pd.DataFrame:
    """Mean, sd and 5/50/95 % quantiles per region and for the nation (the sum over regions and
    unallocated, drawn jointly), per quantity; for the nation's sinks, the within- and
    between-product standard deviations of realms with an ensemble."""
    rows = []
    for q, arr in sims.items():
        if q.startswith(("member:", "nation:")):
            continue
        units = "Mt CO2e yr-1" if q.endswith("CO2e") else "Mt CO2 yr-1"
        cols = {rid: arr[:, j] for j, rid in enumerate(mc.region_ids)}
        cols["nation"] = sims.get(f"nation:{q}", arr.sum(axis=1))
        for rid, x in cols.items():
            if np.isnan(x).all():
                stats = dict.fromkeys(("mean", "sd", "p05", "p50", "p95"), np.nan)
            else:
                p05, p50, p95 = np.percentile(x, [5, 50, 95])
                stats = {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)), "p05": p05, "p50": p50, "p95": p95}
            name = "nation" if rid == "nation" else mc.region_names[mc.region_ids.index(rid)]
            rows.append({"region_id": rid, "region": name, "quantity": q, "units": units, **stats})
    out = pd.DataFrame(rows)
    for realm, short in REALMS.items():
        pick = sims.get(f"member:{realm}")
        members = mc.members.get(realm) or []
        if pick is None or len(members) < 2:
            continue
        x = sims[f"sink_{short}_MtCO2"].sum(axis=1)
        means = np.array([x[pick == i].mean() for i in range(len(members))])
        within = np.array([x[pick == i].var(ddof=1) for i in range(len(members))])
        mask = (out["region_id"] == "nation") & (out["quantity"] == f"sink_{short}_MtCO2")
        out.loc[mask, "within_product_sd"] = float(np.sqrt(within.mean()))
        out.loc[mask, "between_product_sd"] = float(np.std(means))
        out.loc[mask, "members"] = " | ".join(f"{m.name}: {v:,.1f}" for m, v in zip(members, means))
    return out


def areas_by_ecosystem(region_eco: pd.DataFrame, region_ids: list[str]) -> pd.DataFrame:
    """Areas [m2] as a (region x ecosystem) frame in ``region_ids`` order."""
    a = region_eco.pivot_table(index="region_id", columns="ecosystem", values="area_km2", aggfunc="sum")
    return km2_to_m2(a.reindex(region_ids).fillna(0.0))


def coefficient_member(coeffs: pd.DataFrame, realm: str) -> Member:
    """The coefficient table as a member: removal rates positive, emission rates negative (each drawn
    on its own), so a draw's net sink is sum(area x (removal - emission))."""
    sub = coeffs[coeffs["realm"] == realm]
    rem = sub[sub["flux"] == "removal"][["ecosystem", "central", "low", "high"]]
    emi = sub[sub["flux"] == "emission"][["ecosystem", "central", "low", "high"]]
    emi = pd.DataFrame({"ecosystem": emi["ecosystem"], "central": -emi["central"], "low": -emi["high"],
                        "high": -emi["low"]})
    return Member("coefficients", rates=pd.concat([rem, emi], ignore_index=True))


def stock_change_member(transitions: pd.DataFrame, density_table: pd.DataFrame, terrestrial: set[str],
                        region_ids: list[str]) -> Member:
    """The stock-difference sink as a member: linear in the densities D_e (summed over pools, pools of one
    ecosystem drawn together), sink = sum_e D_e x c_e with c_e the signed area flow into ecosystem e per
    year (area gained as a later ecosystem minus area lost as an earlier one, on terrestrial later pixels)."""
    tr = transitions[transitions["from_ecosystem"].isin(terrestrial) & transitions["to_ecosystem"].isin(terrestrial)]
    dt = float(tr["to_year"].iloc[0] - tr["from_year"].iloc[0]) if len(tr) else 1.0
    flow = km2_to_m2(tr.pivot_table(index="region_id", columns="to_ecosystem", values="area_km2", aggfunc="sum")
                     .reindex(region_ids).fillna(0.0)) / dt
    out_flow = km2_to_m2(tr.pivot_table(index="region_id", columns="from_ecosystem", values="area_km2",
                                        aggfunc="sum").reindex(region_ids).fillna(0.0)) / dt
    ecos = sorted(set(flow.columns) | set(out_flow.columns))
    c = flow.reindex(columns=ecos, fill_value=0.0) - out_flow.reindex(columns=ecos, fill_value=0.0)
    dens = density_table.groupby("ecosystem")[["central", "low", "high"]].sum().reset_index()
    return Member("stock_change", rates=dens[dens["ecosystem"].isin(ecos)], areas_m2=c)


def inputs_from_run(cfg, region_eco: pd.DataFrame, budget: pd.DataFrame, national_ccus: float, coeffs: pd.DataFrame,
                    flux_totals: dict[tuple[str, str], np.ndarray], transitions: pd.DataFrame | None,
                    density_table: pd.DataFrame | None, non_co2: pd.DataFrame | None,
                    inorganic: pd.DataFrame | None) -> MonteCarloInputs:
    """Assemble the Monte Carlo's tables from a run's products.

    Each realm's members: ``uncertainty.ensembles.<realm>.members`` when given, else the realm's own
    method (its coefficient table, its flux product(s) with ``relative_sd`` 0.2 unless an ensemble says
    otherwise, or the stock-difference densities). ``flux_totals[(realm, name)]`` holds a flux member's
    net regional sink [g C yr-1]; the realm's own flux is read from ``region_eco``.
    """
    region_ids = list(budget["region_id"])
    names = list(budget["region"])
    areas = areas_by_ecosystem(region_eco, region_ids)
    terrestrial = set(region_eco.loc[region_eco["realm"] == "terrestrial", "ecosystem"])
    members: dict[str, list[Member]] = {}
    for realm in REALMS:
        spec = getattr(cfg.sinks, realm)
        ens = cfg.uncertainty.ensembles.get(realm) if cfg.uncertainty else None
        own = "+".join(spec.flux_names()) if spec.method == "flux" else spec.method
        names_ = ens.members if ens else [own if spec.method != "coefficient" else "coefficients"]
        sd = ens.relative_sd if ens else 0.2
        realm_sink = (region_eco[region_eco["realm"] == realm].groupby("region_id")["sink_MgC_yr"].sum()
                      .reindex(region_ids).fillna(0.0).to_numpy() * G_PER_MG)
        out = []
        for name in names_:
            if name == "coefficients":
                out.append(coefficient_member(coeffs, realm))
            elif name == "stock_change" and transitions is not None:
                out.append(stock_change_member(transitions, density_table, terrestrial, region_ids))
            elif name == own:
                out.append(Member(name, totals_g=realm_sink, relative_sd=sd))
            else:
                out.append(Member(name, totals_g=flux_totals[(realm, name)], relative_sd=sd))
        members[realm] = out
    ccus = budget["ccus_MtCO2"].to_numpy(dtype=float)
    if non_co2 is not None and "when_absent" in non_co2:  # as the central estimate (non_co2_table)
        mapped = set(region_eco.loc[region_eco["area_km2"] > 0, "ecosystem"])
        non_co2 = non_co2[~non_co2["when_absent"].isin(mapped)]
    return MonteCarloInputs(region_ids, names, areas, members, budget["emissions_MtCO2"].to_numpy(dtype=float),
                            ccus, non_co2, inorganic, cfg.non_co2.gwp if cfg.non_co2 else "AR6", national_ccus)

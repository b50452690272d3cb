"""Stage ``balance`` (uncertainty): Monte Carlo on the small region x ecosystem tables, never on pixels.

Every sink here is linear in its coefficients (area x rate, or a product's regional total x a
scale), so a draw of the coefficients gives every region's sink by one matrix product: 10,000
draws for 35 regions x 20 ecosystems take milliseconds.

Sources of spread:

* **coefficient ranges**: each (realm, ecosystem) rate, carbon density, non-CO2 factor and inorganic
  rate (and an area ``share`` with ``share_low``/``share_high``) has a low / central / high, read as a
  triangular (mode = central), normal (low and high are the 5th and 95th percentiles) or uniform (low to
  high) distribution. The range is that of the quantity used, the mean rate over a region, with its basis in
  the table's ``range_basis`` column (standard error, spread of published regional means, IPCC default range,
  source range, expert judgement for unconfirmed [M] values: at least +-50 %, or none for an assumption).
* **correlation**: one draw of a coefficient applies to every region (a national coefficient is one
  unknown number, fully correlated across regions, so the nation's interval is that of the coefficient, not
  narrowed by averaging). Rows of one table with the same ``draw_group`` (one source figure reused for
  several ecosystems, e.g. the lake burial rate for open water, lakes and reservoirs) share one quantile per
  draw (comonotonic: fully correlated, identical when their ranges are); other coefficients are independent.
  The pools of one ecosystem's carbon density share a quantile unless their ``draw_group`` says otherwise;
  a row's share is drawn with a quantile of its own, shared within its group.
* **structural ensembles**: for a realm, several products (flux rasters, or the coefficient table)
  as members. Each draw picks one member (equal weights), then draws within it (a flux product's
  regional totals scaled by 1 + N(0, relative_sd), the same factor for every region). The spread
  splits into within-product and between-product parts (law of total variance).

Central inside the interval: :func:`summarise` gives each row the run's ``central`` estimate (the
central coefficients and the realm's own product), ``central_in_interval`` (within the 5-95 %) and, when
not, a ``note`` saying why: the between-product ensemble (the interval mixes the run's product with the
others; the run's product alone is given), or skewed ranges (the central takes each coefficient's
central value, the mode of a skewed triangular, while the draws spread to its long side; the coefficient
that pulls most is named with where its central lies in its own range).

Emissions and CCUS are taken as given (inventory uncertainty is not drawn). The nation's net, like
the balance's, is like for like: a region without an inventory is left out of it (its sinks still
count in the nation's sink totals).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    to the areas, or a product's regional totals (g C yr-1) scaled by a relative spread.

    ``rates`` columns: ecosystem, central, low, high; optional ``sign`` (+1 removal, -1 emission: the draw
    is multiplied by it), ``share`` with ``share_low``/``share_high``, ``draw_group``, ``key`` (the row's
    identity among the run's draws) and ``label`` (how notes name it)."""

    name: str
    totals_g: np.ndarray | None = None  # (region,) net sink of a flux product [g C yr-1]
    relative_sd: float = 0.0
    rates: pd.DataFrame | None = None  # ecosystem, central, low, high [g C m-2 yr-1, net sink]
    areas_m2: pd.DataFrame | None = None  # what the rates multiply, when not the ecosystem areas
    table: str = "sink_rate"  # the coefficient table the rates come from (draw groups are per table)


@dataclass
class MonteCarloInputs:
    """Everything the Monte Carlo needs, as small tables (region order = ``region_ids``).

    ``central_member``: per realm, the index of the member that gives the run's central estimate (None when
    the run's own product is not a member; default 0). ``central_sinks``: per realm, the run's central sink
    per region [Mt CO2 yr-1], overriding the one computed from the central member."""

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
    central_member: dict[str, int | None] = field(default_factory=dict)
    central_sinks: dict[str, np.ndarray] = field(default_factory=dict)


def quantile(base, central, low, high, distribution: str) -> np.ndarray:
    """Values of (central, low, high) distributions (arrays of length k) at base variates ``base`` (n, k):
    uniforms in [0, 1) for triangular and uniform, standard normals for normal. The same base in two
    columns gives each its own value at the same quantile (fully correlated)."""
    central, low, high = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (central, low, high))
    lo, hi = np.minimum(low, central), np.maximum(high, central)
    if distribution == "normal":
        return central + base * (hi - lo) / (2 * Z95)
    if distribution == "uniform":
        return lo + base * (hi - lo)
    if distribution == "triangular":  # inverse CDF, well defined when low == central == high too
        width = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            fc = np.where(width > 0, (central - lo) / width, 0.5)
            left = lo + np.sqrt(base * width * (central - lo))
            right = hi - np.sqrt((1 - base) * width * (hi - central))
        return np.where(width > 0, np.where(base < fc, left, right), central)
    raise ValueError(f"unknown distribution '{distribution}'")


def dist_mean(central, low, high, distribution: str) -> np.ndarray:
    """The mean of each (central, low, high) distribution (triangular (lo + c + hi) / 3, uniform (lo + hi) / 2,
    normal c)."""
    central, low, high = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (central, low, high))
    lo, hi = np.minimum(low, central), np.maximum(high, central)
    return {"triangular": (lo + central + hi) / 3, "uniform": (lo + hi) / 2}.get(distribution, central)


def central_cdf(central, low, high, distribution: str) -> np.ndarray:
    """Where each central value lies in its own distribution (its cumulative probability): 0.5 for a
    normal or a symmetric range, (c - lo) / (hi - lo) for a triangular or uniform, 0.5 for no range."""
    central, low, high = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (central, low, high))
    lo, hi = np.minimum(low, central), np.maximum(high, central)
    if distribution == "normal":
        return np.full(central.shape, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hi > lo, (central - lo) / (hi - lo), 0.5)


def draw(rng: np.random.Generator, central, low, high, n: int, distribution: str) -> np.ndarray:
    """``n`` independent draws for each (central, low, high) (arrays of length k): an (n, k) array."""
    k = np.atleast_1d(np.asarray(central, dtype=float)).size
    base = rng.standard_normal((n, k)) if distribution == "normal" else rng.random((n, k))
    return quantile(base, central, low, high, distribution)


class _Variates:
    """One base variate per draw and key (a draw group, or a row drawn on its own), made on first use:
    every row asking for the same key gets the same quantile in each draw."""

    def __init__(self, rng: np.random.Generator, n: int, distribution: str):
        self.rng, self.n, self.distribution, self._cache = rng, n, distribution, {}

    def get(self, key) -> np.ndarray:
        if key not in self._cache:
            normal = self.distribution == "normal"
            self._cache[key] = self.rng.standard_normal(self.n) if normal else self.rng.random(self.n)
        return self._cache[key]


def _keys(rates: pd.DataFrame, table: str, scope: str) -> list[tuple]:
    """The draw key of each row: its table's draw group, else its own (``key`` column, else its ecosystem and
    index) within ``scope`` (the member or table it belongs to)."""
    groups = rates["draw_group"] if "draw_group" in rates else pd.Series([None] * len(rates), index=rates.index)
    own = (rates["key"].astype(str) if "key" in rates
           else pd.Series([f"{e}#{i}" for e, i in zip(rates["ecosystem"], rates.index)], index=rates.index))
    return [(table, "group", g.strip()) if isinstance(g, str) and g.strip() else (table, "row", scope, k)
            for g, k in zip(groups, own)]


def _factors(rates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sign, share, share_low, share_high of each row (defaults +1 and 1, no share range)."""
    k = len(rates)
    sign = rates["sign"].to_numpy(dtype=float) if "sign" in rates else np.ones(k)
    share = rates["share"].to_numpy(dtype=float) if "share" in rates else np.ones(k)
    s_lo = rates["share_low"].to_numpy(dtype=float) if "share_low" in rates else share
    s_hi = rates["share_high"].to_numpy(dtype=float) if "share_high" in rates else share
    return sign, share, s_lo, s_hi


def _rate_sinks(var: _Variates, rates: pd.DataFrame, areas_m2: pd.DataFrame, rows, distribution: str,
                table: str, scope: str = "") -> np.ndarray:
    """(draws, region) sums of area x share x drawn rate x sign [g yr-1] over the rows of ``rates``, for the
    draws ``rows`` (a boolean mask, or ``slice(None)`` for all) of the base variates ``var``."""
    rates = rates[rates["ecosystem"].isin(areas_m2.columns)]
    n = var.n if isinstance(rows, slice) else int(np.count_nonzero(rows))
    if rates.empty:
        return np.zeros((n, len(areas_m2)))
    keys = _keys(rates, table, scope or table)
    base = np.column_stack([var.get(k)[rows] for k in keys])  # (n, k)
    r = quantile(base, rates["central"], rates["low"], rates["high"], distribution)
    sign, share, s_lo, s_hi = _factors(rates)
    if np.any(s_hi > s_lo):  # the share is drawn too, with a quantile of its own per key
        s_base = np.column_stack([var.get(k + ("share",))[rows] for k in keys])
        share = np.clip(quantile(s_base, share, s_lo, s_hi, distribution), 0.0, 1.0)
    a = areas_m2[rates["ecosystem"].to_list()].to_numpy()  # (region, k)
    return (r * share * sign) @ a.T


def _central_rate_sinks(rates: pd.DataFrame, areas_m2: pd.DataFrame) -> np.ndarray:
    """(1, region) sums of area x share x central rate x sign [g yr-1]."""
    rates = rates[rates["ecosystem"].isin(areas_m2.columns)]
    if rates.empty:
        return np.zeros((1, len(areas_m2)))
    sign, share, _, _ = _factors(rates)
    return ((rates["central"].to_numpy(dtype=float) * share * sign)[None, :]
            @ areas_m2[rates["ecosystem"].to_list()].to_numpy().T)


def simulate(mc: MonteCarloInputs, draws: int, seed: int, distribution: str) -> dict[str, np.ndarray]:
    """Draw every quantity: a dict of (draws, region) arrays in Mt CO2 (or CO2e) yr-1, plus
    ``member:<realm>`` (draws,) with the index of the member each draw used, and ``nation:<quantity>``
    where the nation is not the plain sum of the regions (the net, like for like)."""
    rng = np.random.default_rng(seed)
    var = _Variates(rng, draws, distribution)
    parts: dict[str, np.ndarray] = {}
    n, n_reg = draws, len(mc.region_ids)
    for realm, short in REALMS.items():
        members = mc.members.get(realm) or []
        if not members:
            parts[f"sink_{short}_MtCO2"] = np.zeros((n, n_reg))
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
                sink_g[rows] = _rate_sinks(var, m.rates, areas, rows, distribution, m.table, f"{realm}:{m.name}")
            else:
                scale = 1.0 + m.relative_sd * rng.standard_normal((k, 1))
                sink_g[rows] = scale * m.totals_g[None, :]
        parts[f"sink_{short}_MtCO2"] = sink_g * CO2_PER_C / G_PER_MT
        parts[f"member:{realm}"] = pick
    if mc.inorganic is not None and not mc.inorganic.empty:
        parts["inorganic_sink_MtCO2"] = (_rate_sinks(var, mc.inorganic, mc.areas_m2, slice(None), distribution,
                                                     "inorganic") * CO2_PER_C / G_PER_MT)
    if mc.non_co2 is not None and not mc.non_co2.empty:
        co2e = np.zeros((n, n_reg))
        for gas, rows in mc.non_co2.groupby("gas"):
            co2e += (_rate_sinks(var, rows, mc.areas_m2, slice(None), distribution, "non_co2", f"non_co2:{gas}")
                     * gwp100(gas, mc.gwp_set) / G_PER_MT)
        parts["non_co2_MtCO2e"] = co2e
    out = _combine(mc, parts)
    out["meta:distribution"] = np.array(distribution)
    return out


def _combine(mc: MonteCarloInputs, parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The realm sinks (and the inorganic sink and non-CO2 emissions, when given), each (draws, region), with
    the quantities derived from them: total sink, net, net of everything, and the nation's nets."""
    out = dict(parts)
    total = sum(parts[f"sink_{short}_MtCO2"] for short in REALMS.values())
    n = total.shape[0]
    out["sink_total_MtCO2"] = total
    out["net_MtCO2"] = mc.emissions_Mt[None, :] - total - mc.ccus_Mt[None, :]
    extra = np.zeros_like(total)
    if "inorganic_sink_MtCO2" in parts:
        extra -= parts["inorganic_sink_MtCO2"]
    if "non_co2_MtCO2e" in parts:
        extra += parts["non_co2_MtCO2e"]
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


def central_estimates(mc: MonteCarloInputs) -> dict[str, np.ndarray]:
    """The run's central estimate of every quantity of :func:`simulate`, (1, region) arrays (and
    ``nation:`` ones of shape (1,)): every coefficient at its central value, each realm's central member
    (``mc.central_member``, default the first) or the realm's ``mc.central_sinks``."""
    parts: dict[str, np.ndarray] = {}
    n_reg = len(mc.region_ids)
    for realm, short in REALMS.items():
        members = mc.members.get(realm) or []
        if realm in mc.central_sinks:
            parts[f"sink_{short}_MtCO2"] = np.asarray(mc.central_sinks[realm], dtype=float)[None, :]
            continue
        i = mc.central_member.get(realm, 0)
        if not members:
            parts[f"sink_{short}_MtCO2"] = np.zeros((1, n_reg))
            continue
        if i is None:
            parts[f"sink_{short}_MtCO2"] = np.full((1, n_reg), np.nan)
            continue
        m = members[i]
        if m.rates is not None:
            g = _central_rate_sinks(m.rates, m.areas_m2 if m.areas_m2 is not None else mc.areas_m2)
        else:
            g = m.totals_g[None, :]
        parts[f"sink_{short}_MtCO2"] = g * CO2_PER_C / G_PER_MT
    if mc.inorganic is not None and not mc.inorganic.empty:
        parts["inorganic_sink_MtCO2"] = _central_rate_sinks(mc.inorganic, mc.areas_m2) * CO2_PER_C / G_PER_MT
    if mc.non_co2 is not None and not mc.non_co2.empty:
        parts["non_co2_MtCO2e"] = sum(_central_rate_sinks(rows, mc.areas_m2) * gwp100(gas, mc.gwp_set) / G_PER_MT
                                      for gas, rows in mc.non_co2.groupby("gas"))
    return _combine(mc, parts)


#: Units of the rates of each coefficient table, as notes print them.
_TABLE_UNITS = {"sink_rate": "g C m-2 yr-1", "inorganic": "g C m-2 yr-1", "carbon_density": "g C m-2",
                "non_co2": "g gas m-2 yr-1"}


def _depends(q: str) -> tuple[list[str], bool, bool]:
    """The realms, and whether the inorganic sink and the non-CO2 emissions, a quantity is made of."""
    for realm, short in REALMS.items():
        if q == f"sink_{short}_MtCO2":
            return [realm], False, False
    if q in ("sink_total_MtCO2", "net_MtCO2"):
        return list(REALMS), False, False
    if q == "net_all_MtCO2e":
        return list(REALMS), True, True
    return [], q == "inorganic_sink_MtCO2", q == "non_co2_MtCO2e"


def _pulls(mc: MonteCarloInputs, q: str, j: int | None, distribution: str) -> list[tuple[float, str]]:
    """(shift of the mean from the central [Mt], description) of every coefficient row behind quantity ``q`` in
    region ``j`` (None: the nation), in the central members: (E[rate] E[share] - central x share) x sign x area."""
    realms, inorg, non_co2 = _depends(q)
    sources = []  # (rates, areas, table, to Mt factor)
    for realm in realms:
        members = mc.members.get(realm) or []
        i = mc.central_member.get(realm, 0)
        if members and i is not None and members[i].rates is not None:
            m = members[i]
            sources.append((m.rates, m.areas_m2 if m.areas_m2 is not None else mc.areas_m2, m.table,
                            CO2_PER_C / G_PER_MT))
    if inorg and mc.inorganic is not None:
        sources.append((mc.inorganic, mc.areas_m2, "inorganic", CO2_PER_C / G_PER_MT))
    if non_co2 and mc.non_co2 is not None:
        for gas, rows in mc.non_co2.groupby("gas"):
            sources.append((rows, mc.areas_m2, "non_co2", gwp100(gas, mc.gwp_set) / G_PER_MT))
    out = []
    for rates, areas, table, to_mt in sources:
        rates = rates[rates["ecosystem"].isin(areas.columns)]
        if rates.empty:
            continue
        a = areas[rates["ecosystem"].to_list()].to_numpy()
        a = a.sum(axis=0) if j is None else a[j]
        sign, share, s_lo, s_hi = _factors(rates)
        c, lo, hi = (rates[k].to_numpy(dtype=float) for k in ("central", "low", "high"))
        mean = dist_mean(c, lo, hi, distribution) * dist_mean(share, s_lo, s_hi, distribution)
        shift = (mean - c * share) * sign * a * to_mt
        cdf = central_cdf(c, lo, hi, distribution)
        labels = rates["label"] if "label" in rates else rates["ecosystem"]
        for k, label in enumerate(labels):
            if shift[k] != 0:
                units = _TABLE_UNITS.get(table, "")
                out.append((float(shift[k]), f"{label} ({lo[k]:g} / {c[k]:g} / {hi[k]:g} {units}, "
                                             f"its central at the {100 * cdf[k]:.0f} % point of its own range)"))
    return out


def _note(q: str, j: int | None, x: np.ndarray, central: float, sims: dict, mc: MonteCarloInputs,
          distribution: str) -> str:
    """Why the central estimate of ``q`` in region ``j`` (None: the nation) lies outside its 5-95 % interval."""
    realms, _, _ = _depends(q)
    ens = [r for r in realms if len(mc.members.get(r) or []) > 1]
    if ens:
        idx = {r: mc.central_member.get(r, 0) for r in ens}
        lacking = [r for r, i in idx.items() if i is None]
        if lacking:
            listed = "; ".join(", ".join(m.name for m in mc.members[r]) for r in lacking)
            return (f"between-product ensemble: the run's own {', '.join(lacking)} estimate is not a member of the "
                    f"ensemble ({listed}), so the interval describes other products")
        own = np.logical_and.reduce([sims[f"member:{r}"] == i for r, i in idx.items()])
        if own.sum() >= 20:
            lo, hi = np.percentile(x[own], [5, 95])
            names = ", ".join(f"{r}: '{mc.members[r][i].name}'" for r, i in idx.items())
            others = ", ".join(f"'{m.name}'" for r in ens for k, m in enumerate(mc.members[r]) if k != idx[r])
            if _inside(central, lo, hi):
                pulls = sorted(_pulls(mc, q, j, distribution), key=lambda t: -abs(t[0]))
                skew = (f"; within it, the largest skew pull on the mean, {pulls[0][0]:+.3g}, is {pulls[0][1]}"
                        if pulls else "")
                return (f"between-product ensemble: the central is the run's own product ({names}), whose draws alone "
                        f"give 5-95 % {lo:.4g} to {hi:.4g}; the interval mixes it with {others} at equal weights"
                        + skew)
    pulls = sorted(_pulls(mc, q, j, distribution), key=lambda t: -abs(t[0]))
    head = (f"skewed ranges: the central takes each coefficient's central value (the mode of a triangular), while "
            f"the draws' median is {np.median(x):.4g} and mean {np.mean(x):.4g}")
    if pulls:
        return head + f"; the largest pull on the mean, {pulls[0][0]:+.3g}, is {pulls[0][1]}"
    return head + "; no single coefficient dominates"


def _inside(central: float, lo: float, hi: float) -> bool:
    """Whether ``central`` lies within [lo, hi], up to rounding."""
    tol = 1e-9 * max(abs(central), abs(lo), abs(hi), 1e-300)
    return bool(lo - tol <= central <= hi + tol)


def summarise(sims: dict[str, np.ndarray], mc: MonteCarloInputs) -> pd.DataFrame:
    """Mean, sd and 5/50/95 % quantiles per region and for the nation (the sum over regions and
    unallocated, drawn jointly), per quantity; the run's ``central`` estimate (:func:`central_estimates`),
    ``central_in_interval`` (within the 5-95 %; empty where the central is missing) and a ``note`` saying
    why when it is not; for the nation's sinks, the within- and between-product standard deviations of
    realms with an ensemble."""
    distribution = str(sims.get("meta:distribution", "triangular"))
    central = central_estimates(mc)
    rows = []
    for q, arr in sims.items():
        if q.startswith(("member:", "nation:", "meta:")):
            continue
        units = "Mt CO2e yr-1" if q.endswith("CO2e") else "Mt CO2 yr-1"
        cols = {rid: (j, arr[:, j], central[q][0, j]) for j, rid in enumerate(mc.region_ids)}
        c_nat = central[f"nation:{q}"][0] if f"nation:{q}" in central else central[q][0].sum()
        cols["nation"] = (None, sims.get(f"nation:{q}", arr.sum(axis=1)), c_nat)
        for rid, (j, x, c) in cols.items():
            if np.isnan(x).all():
                stats = dict.fromkeys(("mean", "sd", "p05", "p50", "p95"), np.nan)
            else:
                p05, p50, p95 = np.percentile(x, [5, 50, 95])
                stats = {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)), "p05": p05, "p50": p50, "p95": p95}
            inside, note = pd.NA, ""
            if np.isfinite(c) and np.isfinite(stats["p05"]):
                inside = _inside(float(c), stats["p05"], stats["p95"])
                note = "" if inside else _note(q, j, x, float(c), sims, mc, distribution)
            name = "nation" if rid == "nation" else mc.region_names[mc.region_ids.index(rid)]
            rows.append({"region_id": rid, "region": name, "quantity": q, "units": units, **stats,
                         "central": float(c), "central_in_interval": inside, "note": note})
    out = pd.DataFrame(rows)
    out["central_in_interval"] = out["central_in_interval"].astype("boolean")
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


def _tagged(rates: pd.DataFrame, key, label) -> pd.DataFrame:
    """``rates`` with its rows' draw ``key`` and ``label`` (and ``draw_group`` kept when the table has one)."""
    return rates.assign(key=list(key), label=list(label))


def coefficient_member(coeffs: pd.DataFrame, realm: str) -> Member:
    """The coefficient table as a member: removal rows with sign +1, emission rows with sign -1 (each drawn
    on its own unless they share a ``draw_group``), so a draw's net sink is sum(area x (removal - emission))."""
    sub = coeffs[coeffs["realm"] == realm]
    cols = ["ecosystem", "central", "low", "high"] + (["draw_group"] if "draw_group" in sub else [])
    rates = sub[cols].assign(sign=np.where(sub["flux"] == "emission", -1.0, 1.0))
    ident = [f"{realm} {e} {f}" for e, f in zip(sub["ecosystem"], sub["flux"])]
    return Member("coefficients", rates=_tagged(rates, ident, ident).reset_index(drop=True))


def stock_change_member(transitions: pd.DataFrame, density_table: pd.DataFrame, terrestrial: set[str],
                        region_ids: list[str]) -> Member:
    """The stock-difference sink as a member: linear in the densities D_e (the sum of the ecosystem's pools,
    each pool a row; the pools of one ecosystem share a quantile, unless their ``draw_group`` joins them to
    another group), sink = sum_e D_e x c_e with c_e the signed area flow into ecosystem e per
    year (area gained as a later ecosystem minus area lost as an earlier one, on terrestrial later pixels)."""
    tr = transitions[transitions["from_ecosystem"].isin(terrestrial) & transitions["to_ecosystem"].isin(terrestrial)]
    dt = float(tr["to_year"].iloc[0] - tr["from_year"].iloc[0]) if len(tr) else 1.0
    flow = km2_to_m2(tr.pivot_table(index="region_id", columns="to_ecosystem", values="area_km2", aggfunc="sum")
                     .reindex(region_ids).fillna(0.0)) / dt
    out_flow = km2_to_m2(tr.pivot_table(index="region_id", columns="from_ecosystem", values="area_km2",
                                        aggfunc="sum").reindex(region_ids).fillna(0.0)) / dt
    ecos = sorted(set(flow.columns) | set(out_flow.columns))
    c = flow.reindex(columns=ecos, fill_value=0.0) - out_flow.reindex(columns=ecos, fill_value=0.0)
    dens = density_table[density_table["ecosystem"].isin(ecos)]
    cols = ["ecosystem", "central", "low", "high"] + (["draw_group"] if "draw_group" in dens else [])
    pools = dens["pool"] if "pool" in dens else pd.Series("", index=dens.index)
    labels = [f"carbon density {e} {p}" for e, p in zip(dens["ecosystem"], pools)]
    rates = _tagged(dens[cols], dens["ecosystem"], labels)
    return Member("stock_change", rates=rates.reset_index(drop=True), areas_m2=c, table="carbon_density")


def inputs_from_run(cfg, region_eco: pd.DataFrame, budget: pd.DataFrame, national_ccus: float, coeffs: pd.DataFrame,
                    flux_totals: dict[tuple[str, str], np.ndarray], transitions: pd.DataFrame | None,
                    density_table: pd.DataFrame | None, non_co2: pd.DataFrame | None,
                    inorganic: pd.DataFrame | None) -> MonteCarloInputs:
    """Assemble the Monte Carlo's tables from a run's products.

    Each realm's members: ``uncertainty.ensembles.<realm>.members`` when given, else the realm's own
    method (its coefficient table, its flux product(s) with ``relative_sd`` 0.2 unless an ensemble says
    otherwise, or the stock-difference densities). ``flux_totals[(realm, name)]`` holds a flux member's
    net regional sink [g C yr-1]; the realm's own flux is read from ``region_eco``. The central estimates
    are the budget's (``central_sinks``); ``central_member`` marks the member that is the realm's own method.
    """
    region_ids = list(budget["region_id"])
    names = list(budget["region"])
    areas = areas_by_ecosystem(region_eco, region_ids)
    terrestrial = set(region_eco.loc[region_eco["realm"] == "terrestrial", "ecosystem"])
    members: dict[str, list[Member]] = {}
    central_member: dict[str, int | None] = {}
    central_sinks = {realm: budget[f"sink_{short}_MtCO2"].to_numpy(dtype=float) for realm, short in REALMS.items()}
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
        own_name = "coefficients" if spec.method == "coefficient" else own
        central_member[realm] = names_.index(own_name) if own_name in names_ else None
    ccus = budget["ccus_MtCO2"].to_numpy(dtype=float)
    if non_co2 is not None and "when_absent" in non_co2:  # as the central estimate (non_co2_table)
        mapped = set(region_eco.loc[region_eco["area_km2"] > 0, "ecosystem"])
        non_co2 = non_co2[~non_co2["when_absent"].isin(mapped)]
    if non_co2 is not None:
        ident = [f"non-CO2 {e} {g}" for e, g in zip(non_co2["ecosystem"], non_co2["gas"])]
        non_co2 = _tagged(non_co2, ident, ident)
    if inorganic is not None:
        ident = [f"inorganic {r} {e}" for r, e in zip(inorganic["realm"], inorganic["ecosystem"])]
        inorganic = _tagged(inorganic, ident, ident)
    return MonteCarloInputs(region_ids, names, areas, members, budget["emissions_MtCO2"].to_numpy(dtype=float),
                            ccus, non_co2, inorganic, cfg.non_co2.gwp if cfg.non_co2 else "AR6", national_ccus,
                            central_member, central_sinks)

"""Stage ``balance``: the neutrality balance of everything assessed, against the scenario targets."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .tables import REALMS

#: 1 Gt = 1000 Mt.
MT_PER_GT = 1000.0


#: Id of the rows no region covers (national waters beyond the offshore zones).
UNALLOCATED = "unallocated"


@dataclass(frozen=True)
class Scope:
    """What a run covers: the whole country (``national``) or some of its regions (``subset``), its
    number of regions ``n`` and the plural noun for them (``level``, e.g. ``provinces``). Wording of
    the balance notes and the reports: a subset run never speaks of national totals."""

    kind: str = "subset"
    level: str = "regions"
    n: int | None = None

    @property
    def national(self) -> bool:
        return self.kind == "national"

    @property
    def noun(self) -> str:
        """The level noun, singular for one region (``provinces`` -> ``province``)."""
        if self.n != 1:
            return self.level
        return re.sub(r"ies$", "y", self.level) if self.level.endswith("ies") else re.sub(r"s$", "", self.level)

    @property
    def assessed(self) -> str:
        """``6 assessed provinces`` (``assessed provinces`` when the number is unknown)."""
        return f"{self.n} assessed {self.noun}" if self.n is not None else f"assessed {self.level}"

    @property
    def possessive(self) -> str:
        """``the 6 assessed provinces'`` (``the 1 assessed province's``)."""
        return f"the {self.assessed}" + ("'" if self.assessed.endswith("s") else "'s")

    @property
    def whole(self) -> str:
        """What the run's totals cover: ``the nation``, or ``the 6 assessed provinces``."""
        return "the nation" if self.national else f"the {self.assessed}"

    @property
    def summary_title(self) -> str:
        return "National summary" if self.national else f"Summary of {self.assessed}"

    def as_dict(self) -> dict:
        return {"scope": self.kind, "level": self.level, "n_regions": self.n, "label": self.assessed}

    @classmethod
    def of(cls, kind: str | None, level: str | None, budget: pd.DataFrame | None) -> "Scope":
        """The scope of a run whose budgets table is ``budget`` (regions counted without *unallocated*)."""
        n = None if budget is None else int((budget["region_id"].astype(str) != UNALLOCATED).sum())
        return cls(kind or "subset", level or "regions", n)

    @classmethod
    def from_run(cls, manifest: dict, budget: pd.DataFrame | None) -> "Scope":
        """The scope a run directory records: ``manifest.json``'s ``scope``, else its config's
        ``regions.scope`` / ``regions.level``, else a subset (a run directory written before scopes)."""
        rec = manifest.get("scope") or {}
        regions = (manifest.get("config") or {}).get("regions") or {}
        out = cls.of(rec.get("scope") or regions.get("scope"), rec.get("level") or regions.get("level"), budget)
        if rec.get("n_regions") is not None:
            out = cls(out.kind, out.level, int(rec["n_regions"]))
        return out


def national_emissions(budget: pd.DataFrame) -> float:
    """The regions' inventory emissions (missing if no region has one), plus unallocated's (a gridded
    raster's emissions outside the regions; 0 for an inventory)."""
    regions = budget[budget["region_id"] != UNALLOCATED]["emissions_MtCO2"].sum(min_count=1)
    rest = budget.loc[budget["region_id"] == UNALLOCATED, "emissions_MtCO2"].sum()
    return float(regions + rest) if pd.notna(regions) else np.nan


def _sum(budget: pd.DataFrame, column: str, rows=None) -> float:
    if column not in budget:
        return 0.0
    x = budget[column] if rows is None else budget.loc[rows, column]
    return float(x.sum())


def like_for_like(budget: pd.DataFrame, national_ccus_MtCO2: float = 0.0) -> dict:
    """The national net over the rows whose emissions are known, so that emissions and sinks cover the
    same ground.

    Rows with an inventory (``emissions_MtCO2`` not missing) are *covered*: the regions the inventory
    has, and *unallocated* (national waters; no inventory emissions, 0, or a gridded raster's). A region
    the inventory lacks is *excluded*: its sinks, CCUS, non-CO2 and inorganic sink stay in the national
    totals (``sink_total`` is the whole nation) but not in the net or the offset share, since its
    emissions are unknown (never counted as zero). National CCUS always counts.

    Returns a dict: ``emissions`` (NaN when no region has an inventory), ``sink``, ``ccus``,
    ``non_co2``, ``inorganic`` (covered rows, plus national CCUS), ``net`` = emissions - sink - ccus,
    ``net_all`` = net + non_co2 - inorganic, ``offset_pct`` = 100 sink / emissions, and for the
    excluded regions ``excluded`` (names), ``excluded_sink``, ``excluded_ccus``, ``excluded_non_co2``,
    ``excluded_inorganic``.
    """
    emissions = national_emissions(budget)
    known = budget["emissions_MtCO2"].notna()
    excluded = ~known & (budget["region_id"] != UNALLOCATED)
    covered = ~excluded
    out = {"emissions": emissions,
           "sink": _sum(budget, "sink_total_MtCO2", covered),
           "ccus": national_ccus_MtCO2 + _sum(budget, "ccus_MtCO2", covered),
           "non_co2": _sum(budget, "non_co2_MtCO2e", covered),
           "inorganic": _sum(budget, "inorganic_sink_MtCO2", covered),
           "excluded": budget.loc[excluded, "region"].astype(str).tolist(),
           "excluded_sink": _sum(budget, "sink_total_MtCO2", excluded),
           "excluded_ccus": _sum(budget, "ccus_MtCO2", excluded),
           "excluded_non_co2": _sum(budget, "non_co2_MtCO2e", excluded),
           "excluded_inorganic": _sum(budget, "inorganic_sink_MtCO2", excluded)}
    if np.isfinite(emissions):
        out["net"] = emissions - out["sink"] - out["ccus"]
        out["net_all"] = out["net"] + out["non_co2"] - out["inorganic"]
        out["offset_pct"] = 100.0 * out["sink"] / emissions if emissions else np.nan
    else:
        out["net"] = out["net_all"] = out["offset_pct"] = np.nan
    return out


def _gt(x_Mt: float) -> str:
    gt = x_Mt / MT_PER_GT
    return f"{gt:.2f}" if abs(gt) >= 0.995 else f"{gt:.3f}"


def scheme_sentence(sink_MtCO2: float, low_MtCO2: float, high_MtCO2: float, scope: Scope | None = None) -> str:
    """"the assessed ecosystem sink is X Gt CO2/yr, Y1-Y2 % of the L-H Gt the 2060 scheme assumes"
    (Y1 = sink / H, Y2 = sink / L) for a national run; for a subset of the country's regions, "the
    ecosystem sink of the 6 assessed provinces is X Gt CO2/yr; their share of the national 2060 sink
    target (L-H Gt CO2/yr) is Y1-Y2 %"."""
    lo_pct, hi_pct = 100.0 * sink_MtCO2 / high_MtCO2, 100.0 * sink_MtCO2 / low_MtCO2
    target = f"{low_MtCO2 / MT_PER_GT:.1f}-{high_MtCO2 / MT_PER_GT:.1f}"
    if scope is not None and not scope.national:
        return (f"the ecosystem sink of the {scope.assessed} is {_gt(sink_MtCO2)} Gt CO2/yr; their share of the "
                f"national 2060 sink target ({target} Gt CO2/yr) is {lo_pct:.1f}-{hi_pct:.1f} %")
    return (f"the assessed ecosystem sink is {_gt(sink_MtCO2)} Gt CO2/yr, {lo_pct:.1f}-{hi_pct:.1f} % of the "
            f"{target} Gt the 2060 scheme assumes")


def balance(budget: pd.DataFrame, ccus_MtCO2: float, scenario: dict | None, year: int | None,
            gwp_set: str = "AR6", valuation=None, potentials: dict[str, float] | None = None,
            scope: Scope | None = None) -> pd.DataFrame:
    """Long table (item, value, units, note): totals over regions plus unallocated, net emission,
    and where the assessed sink stands against the scenario's 2060 requirement.

    Net = emissions - sinks - CCUS, like for like (:func:`like_for_like`): emissions sum the regions
    the inventory covers, and the sinks and regional CCUS subtracted are those of the same regions
    (plus unallocated national waters), with ``ccus_MtCO2`` (national, not attributed to a region).
    Regions without an inventory are named in the notes, and their sink and CCUS get rows of their
    own (``sink_no_inventory``, ``ccus_no_inventory``) so the balance still adds up; ``sink_total``
    stays the whole nation's. ``scenario`` empty or None: the seed paper's figures
    (:data:`pipeline.config.DEFAULT_SCENARIO`).

    ``scope`` (default: a subset of the country, ``Scope.of(None, None, budget)``) is the first row,
    ``assessed_regions`` (the number of regions, units the level noun, the scope in the note), and sets
    the wording: for a subset, comparisons with the scenario's national figures are the assessed
    regions' share, labelled so. The scenario's national figures are rows of their own: the national
    emissions it starts from (``scenario_national_emissions_<year>``), the 2030 peak, the direct cuts
    and residual emissions of 2060, the 2060 sink and CCUS; the run's emissions are set against the
    national emissions of the same year only (``emissions_share_of_national_<year>``), never against
    another year's target.
    """
    if not scenario:
        from .config import default_scenario

        scenario = default_scenario()
    rows = []
    lfl = like_for_like(budget, ccus_MtCO2)
    missing = lfl["excluded"]
    has_inventory = bool(np.isfinite(lfl["emissions"]))
    partial = bool(missing) and has_inventory
    names = ", ".join(missing)

    def add(item, value, units, note=""):
        rows.append({"item": item, "value": float(value), "units": units, "note": note})

    scope = scope or Scope.of(None, None, budget)
    add("assessed_regions", scope.n if scope.n is not None else np.nan, scope.level,
        f"scope: {scope.kind}: " + (f"the whole country ({scope.n} {scope.level})" if scope.national else
                                    f"{scope.assessed}, some of the country's regions: totals are theirs, "
                                    "not national (regions.scope)"))
    emissions = lfl["emissions"]
    n_with = int(((budget["region_id"] != UNALLOCATED) & budget["emissions_MtCO2"].notna()).sum())
    add("emissions", emissions, "Mt CO2 yr-1",
        f"inventory year {year}" + (f"; sum of the {n_with} regions with an inventory; no inventory for {names} "
                                    "(missing, not counted as zero)" if missing else ""))
    for short in REALMS.values():
        add(f"sink_{short}", budget[f"sink_{short}_MtCO2"].sum(), "Mt CO2 yr-1", "regions + unallocated")
    add("gross_removal", budget["gross_removal_MtCO2"].sum(), "Mt CO2 yr-1")
    add("gross_emission", budget["gross_emission_MtCO2"].sum(), "Mt CO2 yr-1", "from sink realms (e.g. outgassing)")
    sink = budget["sink_total_MtCO2"].sum()
    add("sink_total", sink, "Mt CO2 yr-1", "net sink, sink positive (the whole nation: regions + unallocated)"
        if scope.national else f"net sink, sink positive (the {scope.assessed} + unallocated; not national)")
    ccus_total = ccus_MtCO2 + float(budget["ccus_MtCO2"].sum())
    add("ccus", ccus_total, "Mt CO2 yr-1", "national + regional CCUS capture (balance.ccus_MtCO2 / balance.ccus)")
    if partial:
        add("sink_no_inventory", lfl["excluded_sink"], "Mt CO2 yr-1",
            f"net sink of the regions without an inventory ({names}): in sink_total, left out of net_emission "
            "and sink_offset (like for like)")
        if lfl["excluded_ccus"]:
            add("ccus_no_inventory", lfl["excluded_ccus"], "Mt CO2 yr-1",
                f"CCUS of the regions without an inventory ({names}): in ccus, left out of net_emission")
    covered = (f"; over the regions with an inventory (plus unallocated waters and national CCUS), excluding "
             f"{names} (sink {lfl['excluded_sink']:,.2f} Mt CO2 yr-1)" if partial else "")
    add("net_emission", lfl["net"], "Mt CO2 yr-1",
        ("emissions - sink_total - ccus" if not partial else
         "emissions - (sink_total - sink_no_inventory) - (ccus - ccus_no_inventory)") + covered)
    add("sink_offset", lfl["offset_pct"], "%",
        ("sink_total / emissions" if not partial else "(sink_total - sink_no_inventory) / emissions") + covered)
    if "inorganic_sink_MtCO2" in budget:
        add("inorganic_sink", budget["inorganic_sink_MtCO2"].sum(), "Mt CO2 yr-1",
            "inorganic carbon (e.g. carbonate weathering), apart from the organic sinks")
    if "non_co2_MtCO2e" in budget:
        for gas in ("ch4", "n2o"):
            add(f"{gas}_emission", budget[f"{gas}_MtCO2e"].sum(), "Mt CO2e yr-1", f"GWP100 {gwp_set}")
        add("non_co2_emission", budget["non_co2_MtCO2e"].sum(), "Mt CO2e yr-1", f"CH4 + N2O, GWP100 {gwp_set}")
    all_gases = "net_all_MtCO2e" in budget
    if all_gases:
        if partial and "non_co2_MtCO2e" in budget:
            add("non_co2_no_inventory", lfl["excluded_non_co2"], "Mt CO2e yr-1",
                f"non-CO2 emissions of the regions without an inventory ({names}): in non_co2_emission, left "
                "out of net_emission_all")
        if partial and "inorganic_sink_MtCO2" in budget:
            add("inorganic_sink_no_inventory", lfl["excluded_inorganic"], "Mt CO2 yr-1",
                f"inorganic sink of the regions without an inventory ({names}): in inorganic_sink, left out of "
                "net_emission_all")
        add("net_emission_all", lfl["net_all"], "Mt CO2e yr-1",
            "emissions + non-CO2 - organic sinks - inorganic sink - ccus" + covered)
    add("gap_to_neutrality", lfl["net_all"] if all_gases else lfl["net"], "Mt CO2e yr-1" if all_gases else "Mt CO2 yr-1",
        "what must still be cut or offset for net zero (the net emission; negative = net sink)" + covered)
    if valuation is not None:
        from .valuation import annuity_factor, value_per_year

        v = value_per_year(sink, valuation.price_per_tCO2)
        note = f"at {valuation.price_per_tCO2:g} {valuation.currency} per t CO2" + (
            f" ({valuation.source})" if valuation.source else "")
        add("sink_value_per_year", v, f"{valuation.currency} yr-1", note)
        add("sink_present_value", v * annuity_factor(valuation.discount_rate, valuation.horizon_years),
            valuation.currency, f"{note}, {valuation.horizon_years} years discounted at "
                                f"{100 * valuation.discount_rate:g} % per year")
    for name, mt in (potentials or {}).items():
        add(f"land_use_potential:{name}", mt, "Mt CO2 yr-1", "sink change of the land-use scenario against the "
            "baseline (area change x net coefficient rates)")
        if valuation is not None:
            from .valuation import annuity_factor, value_per_year

            v = value_per_year(mt, valuation.price_per_tCO2)
            add(f"land_use_potential_value_per_year:{name}", v, f"{valuation.currency} yr-1",
                f"at {valuation.price_per_tCO2:g} {valuation.currency} per t CO2")
            add(f"land_use_potential_present_value:{name}", v * annuity_factor(valuation.discount_rate,
                                                                                valuation.horizon_years),
                valuation.currency, f"{valuation.horizon_years} years at {100 * valuation.discount_rate:g} %")
    src = scenario.get("source", "")
    share_of = (lambda what: f"assessed sink / {what}") if scope.national else (
        lambda what: f"{scope.possessive} share of the national {what} (their sink / the national figure)")
    for key, value in scenario.items():  # the national emissions the scheme starts from, e.g. 2019
        m = re.fullmatch(r"national_emissions_(\d{4})_GtCO2", str(key))
        if not m or value is None:
            continue
        nat_year = int(m.group(1))
        national = (value.get("central", value.get("value")) if isinstance(value, dict) else value) * MT_PER_GT
        add(f"scenario_national_emissions_{nat_year}", national, "Mt CO2 yr-1",
            f"national CO2 emissions of {nat_year}, the emissions the scheme starts from; {src}")
        if year is not None and int(year) == nat_year and np.isfinite(emissions):
            add(f"emissions_share_of_national_{nat_year}", 100.0 * emissions / national, "%",
                (f"this run's emissions / the national emissions of {nat_year} (same year)" if scope.national else
                 f"{scope.possessive} share of the national emissions of {nat_year} (same year)"))
    peak = scenario.get("peak_emissions_GtCO2")
    if peak is not None:
        for end in ("low", "high"):
            add(f"scenario_peak_emissions_{end}", peak[end] * MT_PER_GT, "Mt CO2 yr-1",
                f"national peak around {peak.get('year')}; {src}")
    cuts = scenario.get("direct_reduction_2060_GtCO2")
    if cuts is not None:
        for end in ("low", "high"):
            add(f"scenario_direct_reduction_2060_{end}", cuts[end] * MT_PER_GT, "Mt CO2 yr-1",
                f"direct emission cuts by 2060 (national, from the peak to the residual); {src}")
    target = scenario.get("ecosystem_sink_2060_GtCO2")
    if target:
        lo, hi = target["low"] * MT_PER_GT, target["high"] * MT_PER_GT
        add("scenario_sink_2060_low", lo, "Mt CO2 yr-1", src)
        add("scenario_sink_2060_high", hi, "Mt CO2 yr-1", src)
        add("assessed_sink_share_of_2060_low", 100.0 * sink / lo, "%", share_of("2060 sink target, scenario low"))
        add("assessed_sink_share_of_2060_high", 100.0 * sink / hi, "%", share_of("2060 sink target, scenario high"))
        add("assessed_sink_GtCO2", sink / MT_PER_GT, "Gt CO2 yr-1", scheme_sentence(sink, lo, hi, scope))
    residual = scenario.get("residual_emissions_2060_GtCO2")
    ccus_2060 = scenario.get("ccus_2060_GtCO2")
    if residual is not None:
        add("scenario_residual_emissions_2060", residual * MT_PER_GT, "Mt CO2 yr-1", src)
        add("assessed_sink_share_of_2060_residual", 100.0 * sink / (residual * MT_PER_GT), "%",
            "assessed sink / the 2060 residual emission it must offset with CCUS" if scope.national else
            share_of("2060 residual emission that sinks and CCUS must offset"))
    if ccus_2060 is not None:
        add("scenario_ccus_2060_low", ccus_2060["low"] * MT_PER_GT, "Mt CO2 yr-1", src)
        add("scenario_ccus_2060_high", ccus_2060["high"] * MT_PER_GT, "Mt CO2 yr-1", src)
    return pd.DataFrame(rows)


def trajectory_rows(balance_table: pd.DataFrame, year: int | None, scope: Scope | None = None) -> pd.DataFrame:
    """The scheme's national figures as a trajectory, year against year, beside the run's own values.

    From ``tables/balance.csv`` alone: the run's ``emissions``, ``sink_total`` and ``ccus`` in its
    ``year``; the national emissions the scheme starts from (``scenario_national_emissions_<year>``),
    the peak (``scenario_peak_emissions_low/high``, year from its note, e.g. "peak around 2030"), the
    2060 residual emissions and direct cuts, the 2060 ecosystem sink and CCUS. No value is divided by
    another year's. Columns: ``quantity`` (CO2 emissions, direct emission cuts, ecosystem sink, CCUS),
    ``year``, ``kind`` (``run`` or ``scheme``), ``label``, ``low``, ``central``, ``high`` (Mt CO2 yr-1;
    central NaN for a bare range), ``units``.
    """
    scope = scope or Scope()
    v = balance_table.set_index("item")["value"].astype(float)
    notes = balance_table.set_index("item")["note"] if "note" in balance_table else pd.Series(dtype=str)
    who = "this run (national)" if scope.national else f"this run ({scope.assessed})"
    rows = []

    def add(quantity, yr, kind, label, low=np.nan, central=np.nan, high=np.nan):
        if not (np.isfinite(low) or np.isfinite(central) or np.isfinite(high)):
            return
        rows.append({"quantity": quantity, "year": yr, "kind": kind, "label": label, "low": low,
                     "central": central, "high": high, "units": "Mt CO2 yr-1"})

    def rng(stem):
        return v.get(f"{stem}_low", np.nan), v.get(f"{stem}_high", np.nan)

    if year is not None:
        add("CO2 emissions", int(year), "run", who, central=v.get("emissions", np.nan))
    for item in v.index:
        m = re.fullmatch(r"scenario_national_emissions_(\d{4})", str(item))
        if m:
            add("CO2 emissions", int(m.group(1)), "scheme", "national emissions", central=v[item])
    lo, hi = rng("scenario_peak_emissions")
    note = str(notes.get("scenario_peak_emissions_low", ""))
    m = re.search(r"peak around (\d{4})", note)
    add("CO2 emissions", int(m.group(1)) if m else 2030, "scheme", "national peak", low=lo, high=hi)
    add("CO2 emissions", 2060, "scheme", "national residual emissions",
        central=v.get("scenario_residual_emissions_2060", np.nan))
    lo, hi = rng("scenario_direct_reduction_2060")
    add("direct emission cuts", 2060, "scheme", "national direct cuts by 2060", low=lo, high=hi)
    if year is not None:
        add("ecosystem sink", int(year), "run", who, central=v.get("sink_total", np.nan))
    lo, hi = rng("scenario_sink_2060")
    add("ecosystem sink", 2060, "scheme", "national 2060 sink target", low=lo, high=hi)
    if year is not None:
        add("CCUS", int(year), "run", who, central=v.get("ccus", np.nan))
    lo, hi = rng("scenario_ccus_2060")
    add("CCUS", 2060, "scheme", "national 2060 CCUS", low=lo, high=hi)
    out = pd.DataFrame(rows, columns=["quantity", "year", "kind", "label", "low", "central", "high", "units"])
    order = {q: i for i, q in enumerate(dict.fromkeys(out["quantity"]))}
    return (out.assign(_q=out["quantity"].map(order)).sort_values(["_q", "year"], kind="stable")
            .drop(columns="_q").reset_index(drop=True))

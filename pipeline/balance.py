"""Stage ``balance``: the neutrality balance of everything assessed, against the scenario targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tables import REALMS

#: 1 Gt = 1000 Mt.
MT_PER_GT = 1000.0


def national_emissions(budget: pd.DataFrame) -> float:
    """The regions' inventory emissions (missing if no region has one), plus unallocated's (a gridded
    raster's emissions outside the regions; 0 for an inventory)."""
    regions = budget[budget["region_id"] != "unallocated"]["emissions_MtCO2"].sum(min_count=1)
    rest = budget.loc[budget["region_id"] == "unallocated", "emissions_MtCO2"].sum()
    return float(regions + rest) if pd.notna(regions) else np.nan


def balance(budget: pd.DataFrame, ccus_MtCO2: float, scenario: dict, year: int | None,
            gwp_set: str = "AR6", valuation=None, potentials: dict[str, float] | None = None) -> pd.DataFrame:
    """Long table (item, value, units, note): totals over regions plus unallocated, net emission,
    and where the assessed sink stands against the scenario's 2060 requirement.

    Net = emissions - sinks - CCUS, where emissions sum the regions the inventory covers and CCUS is
    ``ccus_MtCO2`` (national, not attributed to a region) plus the regions' CCUS.
    """
    rows = []
    missing = budget.loc[budget["emissions_MtCO2"].isna(), "region"].tolist()

    def add(item, value, units, note=""):
        rows.append({"item": item, "value": float(value), "units": units, "note": note})

    emissions = national_emissions(budget)
    add("emissions", emissions, "Mt CO2 yr-1",
        f"inventory year {year}" + (f"; missing for {', '.join(missing)}" if missing else ""))
    for short in REALMS.values():
        add(f"sink_{short}", budget[f"sink_{short}_MtCO2"].sum(), "Mt CO2 yr-1", "regions + unallocated")
    add("gross_removal", budget["gross_removal_MtCO2"].sum(), "Mt CO2 yr-1")
    add("gross_emission", budget["gross_emission_MtCO2"].sum(), "Mt CO2 yr-1", "from sink realms (e.g. outgassing)")
    sink = budget["sink_total_MtCO2"].sum()
    add("sink_total", sink, "Mt CO2 yr-1", "net sink, sink positive")
    ccus_MtCO2 = ccus_MtCO2 + float(budget["ccus_MtCO2"].sum())
    add("ccus", ccus_MtCO2, "Mt CO2 yr-1", "national + regional CCUS capture (balance.ccus_MtCO2 / balance.ccus)")
    add("net_emission", emissions - sink - ccus_MtCO2, "Mt CO2 yr-1", "emissions - sink_total - ccus")
    add("sink_offset", 100.0 * sink / emissions if emissions else np.nan, "%", "sink_total / emissions")
    if "inorganic_sink_MtCO2" in budget:
        add("inorganic_sink", budget["inorganic_sink_MtCO2"].sum(), "Mt CO2 yr-1",
            "inorganic carbon (e.g. carbonate weathering), apart from the organic sinks")
    if "non_co2_MtCO2e" in budget:
        for gas in ("ch4", "n2o"):
            add(f"{gas}_emission", budget[f"{gas}_MtCO2e"].sum(), "Mt CO2e yr-1", f"GWP100 {gwp_set}")
        add("non_co2_emission", budget["non_co2_MtCO2e"].sum(), "Mt CO2e yr-1", f"CH4 + N2O, GWP100 {gwp_set}")
    if "net_all_MtCO2e" in budget:
        net_all = (emissions + budget.get("non_co2_MtCO2e", pd.Series(0.0)).sum() - sink
                   - budget.get("inorganic_sink_MtCO2", pd.Series(0.0)).sum() - ccus_MtCO2)
        add("net_emission_all", net_all, "Mt CO2e yr-1",
            "emissions + non-CO2 - organic sinks - inorganic sink - ccus")
    net_all = rows[-1]["value"] if rows[-1]["item"] == "net_emission_all" else emissions - sink - ccus_MtCO2
    add("gap_to_neutrality", net_all, "Mt CO2e yr-1" if "net_emission_all" in {r["item"] for r in rows} else "Mt CO2 yr-1",
        "what must still be cut or offset for net zero (the net emission; negative = net sink)")
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
    target = scenario.get("ecosystem_sink_2060_GtCO2")
    if target:
        src = scenario.get("source", "")
        lo, hi = target["low"] * MT_PER_GT, target["high"] * MT_PER_GT
        add("scenario_sink_2060_low", lo, "Mt CO2 yr-1", src)
        add("scenario_sink_2060_high", hi, "Mt CO2 yr-1", src)
        add("assessed_sink_share_of_2060_low", 100.0 * sink / lo, "%", "assessed sink / scenario low")
        add("assessed_sink_share_of_2060_high", 100.0 * sink / hi, "%", "assessed sink / scenario high")
    residual = scenario.get("residual_emissions_2060_GtCO2")
    ccus_2060 = scenario.get("ccus_2060_GtCO2")
    if residual is not None:
        add("scenario_residual_emissions_2060", residual * MT_PER_GT, "Mt CO2 yr-1", scenario.get("source", ""))
        add("assessed_sink_share_of_2060_residual", 100.0 * sink / (residual * MT_PER_GT), "%",
            "assessed sink / the 2060 residual emission it must offset with CCUS")
    if ccus_2060 is not None:
        add("scenario_ccus_2060_low", ccus_2060["low"] * MT_PER_GT, "Mt CO2 yr-1", scenario.get("source", ""))
        add("scenario_ccus_2060_high", ccus_2060["high"] * MT_PER_GT, "Mt CO2 yr-1", scenario.get("source", ""))
    peak = scenario.get("peak_emissions_GtCO2")
    if peak is not None:
        add("scenario_peak_emissions_low", peak["low"] * MT_PER_GT, "Mt CO2 yr-1", f"peak around {peak.get('year')}")
        add("scenario_peak_emissions_high", peak["high"] * MT_PER_GT, "Mt CO2 yr-1", f"peak around {peak.get('year')}")
    return pd.DataFrame(rows)

"""Stage ``balance``: the neutrality balance of everything assessed, against the scenario targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tables import REALMS

#: 1 Gt = 1000 Mt.
MT_PER_GT = 1000.0


def balance(budget: pd.DataFrame, ccus_MtCO2: float, scenario: dict, year: int | None,
            gwp_set: str = "AR6") -> pd.DataFrame:
    """Long table (item, value, units, note): totals over regions plus unallocated, net emission,
    and where the assessed sink stands against the scenario's 2060 requirement.

    Net = emissions - sinks - CCUS, where emissions sum the regions the inventory covers.
    """
    rows = []
    missing = budget.loc[budget["emissions_MtCO2"].isna(), "region"].tolist()

    def add(item, value, units, note=""):
        rows.append({"item": item, "value": float(value), "units": units, "note": note})

    emissions = budget["emissions_MtCO2"].sum(min_count=1)
    add("emissions", emissions, "Mt CO2 yr-1",
        f"inventory year {year}" + (f"; missing for {', '.join(missing)}" if missing else ""))
    for short in REALMS.values():
        add(f"sink_{short}", budget[f"sink_{short}_MtCO2"].sum(), "Mt CO2 yr-1", "regions + unallocated")
    add("gross_removal", budget["gross_removal_MtCO2"].sum(), "Mt CO2 yr-1")
    add("gross_emission", budget["gross_emission_MtCO2"].sum(), "Mt CO2 yr-1", "from sink realms (e.g. outgassing)")
    sink = budget["sink_total_MtCO2"].sum()
    add("sink_total", sink, "Mt CO2 yr-1", "net sink, sink positive")
    add("ccus", ccus_MtCO2, "Mt CO2 yr-1", "from the config (balance.ccus_MtCO2)")
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
    target = scenario.get("ecosystem_sink_2060_GtCO2")
    if target:
        src = scenario.get("source", "")
        lo, hi = target["low"] * MT_PER_GT, target["high"] * MT_PER_GT
        add("scenario_sink_2060_low", lo, "Mt CO2 yr-1", src)
        add("scenario_sink_2060_high", hi, "Mt CO2 yr-1", src)
        add("assessed_sink_share_of_2060_low", 100.0 * sink / lo, "%", "assessed sink / scenario low")
        add("assessed_sink_share_of_2060_high", 100.0 * sink / hi, "%", "assessed sink / scenario high")
    return pd.DataFrame(rows)

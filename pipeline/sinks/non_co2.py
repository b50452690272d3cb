"""Non-CO2 greenhouse gases: CH4 from natural wetlands and rice paddies, N2O where a factor is given.

Emissions are area x emission factor per ecosystem (the paddy factor per day x the season length,
see :func:`pipeline.units.gas_rate_factor`), so they are computed on the small region x ecosystem
area table, not on pixels. They are CO2-equivalents under a declared GWP100 set, reported apart
from the CO2 sinks and combined with them only in the balance.
"""

from __future__ import annotations

import pandas as pd

from ..units import g_gas_to_MtCO2e, grams_to_Mg, gwp100, km2_to_m2


def non_co2_table(region_eco: pd.DataFrame, factors: pd.DataFrame, gwp_set: str) -> pd.DataFrame:
    """One row per (region, ecosystem, gas) with a factor: area, emission of the gas and CO2e.

    Parameters
    ----------
    region_eco : the aggregate table (region_id, region, realm, ecosystem, area_km2, ...)
    factors : :func:`pipeline.tables.read_non_co2` (rates in g gas m-2 yr-1, ``share`` of the area)
    gwp_set : "AR6" or "AR5"
    """
    cols = ["region_id", "region", "ecosystem", "gas", "area_km2", "share", "rate_g_m2_yr",
            "emission_t_yr", "gwp100", "emission_MtCO2e", "source"]
    if factors is None or factors.empty:
        return pd.DataFrame(columns=cols)
    if "when_absent" in factors:  # e.g. a paddy share of cropland, only where no paddy class is mapped
        mapped = set(region_eco.loc[region_eco["area_km2"] > 0, "ecosystem"])
        factors = factors[~factors["when_absent"].isin(mapped)]
    f = factors[["ecosystem", "gas", "central", "share", "source"]].rename(columns={"central": "rate_g_m2_yr"})
    out = region_eco[["region_id", "region", "ecosystem", "area_km2"]].merge(f, on="ecosystem", how="inner")
    grams = km2_to_m2(out["area_km2"]) * out["share"] * out["rate_g_m2_yr"]
    out["emission_t_yr"] = grams_to_Mg(grams)  # t = Mg
    out["gwp100"] = [gwp100(g, gwp_set) for g in out["gas"]]
    out["emission_MtCO2e"] = [g_gas_to_MtCO2e(x, gas, gwp_set) for x, gas in zip(grams, out["gas"])]
    return out[cols].sort_values(["region_id", "ecosystem", "gas"], kind="stable").reset_index(drop=True)

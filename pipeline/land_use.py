"""Land-use scenarios: a scenario land cover (e.g. afforestation) against the baseline gives the
sink-enhancement potential per region and ecosystem.

The scenario map is aggregated in the same pass as everything else (areas per region x ecosystem);
the potential is the change of area times each ecosystem's net coefficient rate (removal -
emission, central, g C m-2 yr-1), i.e. the equilibrium uptake of the new cover as the cited
coefficients describe it. Stock-change transitions are not modelled here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .units import grams_to_Mg, km2_to_m2, m2_to_km2


def net_rates(coeffs: pd.DataFrame) -> pd.DataFrame:
    """Net central rate per (realm, ecosystem) [g C m-2 yr-1]: removal - emission."""
    signed = coeffs.assign(rate=np.where(coeffs["flux"] == "removal", 1.0, -1.0) * coeffs["central"])
    return signed.groupby(["realm", "ecosystem"], as_index=False)["rate"].sum()


def potential_table(name: str, base: pd.DataFrame, scenario_area_m2: np.ndarray, region_ids, ecosystems,
                    realms, coeffs: pd.DataFrame) -> pd.DataFrame:
    """Per region and ecosystem: baseline and scenario area, their change, the net rate, and the sink
    change [Mg C yr-1] (positive = enhancement)."""
    scen = pd.DataFrame({"region_id": np.repeat(region_ids, len(ecosystems)),
                         "ecosystem": np.tile(ecosystems, len(region_ids)),
                         "realm": np.tile(realms, len(region_ids)),
                         "area_scenario_km2": m2_to_km2(scenario_area_m2).ravel()})
    out = base[["region_id", "region", "realm", "ecosystem", "area_km2"]].rename(
        columns={"area_km2": "area_baseline_km2"}).merge(scen, on=["region_id", "realm", "ecosystem"], how="outer")
    out[["area_baseline_km2", "area_scenario_km2"]] = out[["area_baseline_km2", "area_scenario_km2"]].fillna(0.0)
    out["region"] = out["region"].fillna(out["region_id"])
    out["area_change_km2"] = out["area_scenario_km2"] - out["area_baseline_km2"]
    out = out.merge(net_rates(coeffs), on=["realm", "ecosystem"], how="left").rename(
        columns={"rate": "net_rate_gC_m2_yr"})
    out["net_rate_gC_m2_yr"] = out["net_rate_gC_m2_yr"].fillna(0.0)
    out["sink_change_MgC_yr"] = grams_to_Mg(km2_to_m2(out["area_change_km2"]) * out["net_rate_gC_m2_yr"])
    out.insert(0, "scenario", name)
    return out

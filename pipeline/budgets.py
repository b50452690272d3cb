"""Stage ``budgets``: one row per region (plus *unallocated*) in Mt CO2 yr-1."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .labels import UNALLOCATED
from .tables import REALMS
from .units import MgC_to_MtCO2, Mt_to_t, density_factor, gC_to_MtCO2


def emission_density(arr):
    """A gridded emissions raster (on the grid, declared density units) in g C m-2 yr-1, emission
    positive, 0 where it has no data."""
    data = arr.astype(np.float64)
    nodata = arr.attrs.get("nodata")
    if nodata is not None and np.isfinite(nodata):
        data = data.where(arr != nodata)
    return (data * density_factor(arr.attrs["units"])).fillna(0.0)


def gridded_emissions(sums: np.ndarray, region_ids) -> pd.Series:
    """Per-region emissions [Mt CO2 yr-1] from the sums of a gridded emissions raster (region, 1, 2)."""
    return pd.Series(gC_to_MtCO2(sums[:, 0, 1]), index=list(region_ids))


def budgets(region_eco: pd.DataFrame, regions: gpd.GeoDataFrame, emissions: pd.Series | None = None,
            emissions_year: int | None = None, population: pd.Series | None = None,
            inorganic: pd.DataFrame | None = None, non_co2: pd.DataFrame | None = None,
            ccus: pd.Series | None = None) -> pd.DataFrame:
    """Per-region budget: sinks by realm (net, and gross removal and emission), emissions, net emission.

    Net emission = emissions - sink_total - CCUS (``ccus``: Mt CO2 yr-1 per region id; 0 where not
    given), CO2 only. Ranks among the regions (1 = largest; *unallocated* not ranked). A
    region the inventory lacks has empty emissions and net (missing, never zero). *unallocated*
    (pixels no region covers, e.g. national waters beyond the offshore zones) has no inventory
    emissions: its emissions are 0 and its net is minus its sink.

    When given, the inorganic sink (``inorganic``, Mg C yr-1 per region and ecosystem) and the non-CO2
    emissions (``non_co2``, Mt CO2e) get columns of their own, and ``net_all_MtCO2e`` combines
    everything: emissions + non-CO2 - organic sinks - inorganic sink - CCUS.
    """
    g = region_eco.groupby(["region_id", "realm"], sort=False)[["removal_MgC_yr", "emission_MgC_yr", "sink_MgC_yr"]].sum()
    ids = list(regions["region_id"]) + [UNALLOCATED]
    out = pd.DataFrame({"region_id": ids,
                        "region": list(regions["region_name"]) + [UNALLOCATED]}).set_index("region_id", drop=False)
    out["area_km2"] = region_eco.groupby("region_id")["area_km2"].sum().reindex(ids).fillna(0.0)
    for realm, short in REALMS.items():
        s = g.xs(realm, level="realm") if realm in g.index.get_level_values("realm") else None
        for col, src in (("sink", "sink_MgC_yr"), ("removal", "removal_MgC_yr"), ("emission", "emission_MgC_yr")):
            out[f"{col}_{short}_MtCO2"] = (MgC_to_MtCO2(s[src]).reindex(ids).fillna(0.0) if s is not None else 0.0)
    tot = region_eco.groupby("region_id")[["removal_MgC_yr", "emission_MgC_yr"]].sum().reindex(ids).fillna(0.0)
    out["gross_removal_MtCO2"] = MgC_to_MtCO2(tot["removal_MgC_yr"])
    out["gross_emission_MtCO2"] = MgC_to_MtCO2(tot["emission_MgC_yr"])
    out["sink_total_MtCO2"] = out[[f"sink_{s}_MtCO2" for s in REALMS.values()]].sum(axis=1)
    if emissions is not None:
        out["emissions_MtCO2"] = emissions.reindex(ids)
        # an inventory has none outside the regions; a gridded raster may (e.g. shipping lanes)
        out.loc[UNALLOCATED, "emissions_MtCO2"] = float(emissions.get(UNALLOCATED, 0.0))
        out["emissions_year"] = emissions_year
    else:
        out["emissions_MtCO2"] = np.nan
        out["emissions_year"] = pd.NA
    out["ccus_MtCO2"] = ccus.reindex(ids).fillna(0.0) if ccus is not None else 0.0
    out["net_MtCO2"] = out["emissions_MtCO2"] - out["sink_total_MtCO2"] - out["ccus_MtCO2"]
    if inorganic is not None:
        inorg = inorganic.groupby("region_id")["inorganic_MgC_yr"].sum()
        out["inorganic_sink_MtCO2"] = MgC_to_MtCO2(inorg.reindex(ids).fillna(0.0))
    if non_co2 is not None:
        for gas in ("CH4", "N2O"):
            g = non_co2[non_co2["gas"] == gas].groupby("region_id")["emission_MtCO2e"].sum()
            out[f"{gas.lower()}_MtCO2e"] = g.reindex(ids).fillna(0.0)
        out["non_co2_MtCO2e"] = out["ch4_MtCO2e"] + out["n2o_MtCO2e"]
    if inorganic is not None or non_co2 is not None:
        out["net_all_MtCO2e"] = (out["net_MtCO2"] + out.get("non_co2_MtCO2e", 0.0)
                                 - out.get("inorganic_sink_MtCO2", 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["sink_offset_pct"] = np.where(out["emissions_MtCO2"] > 0,
                                          100.0 * out["sink_total_MtCO2"] / out["emissions_MtCO2"], np.nan)
    regions_only = out["region_id"] != UNALLOCATED
    for col, name in (("sink_total_MtCO2", "rank_sink"), ("net_MtCO2", "rank_net_emission"),
                      ("sink_offset_pct", "rank_offset")):
        out[name] = out.loc[regions_only, col].rank(ascending=False, method="min").astype("Int64")
    if population is not None:
        out["population"] = population.reindex(ids)
        out["emissions_per_capita_tCO2"] = Mt_to_t(out["emissions_MtCO2"]) / out["population"]
        out["sink_per_capita_tCO2"] = Mt_to_t(out["sink_total_MtCO2"]) / out["population"]
    return out.reset_index(drop=True)

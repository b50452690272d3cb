"""Non-CO2 greenhouse gases: CH4 from natural wetlands and rice paddies, N2O where a factor is given.

Emissions are area x emission factor per ecosystem (the paddy factor per day x the season length,
see :func:`pipeline.units.gas_rate_factor`), so they are computed on the small region x ecosystem
area table, not on pixels. They are CO2-equivalents under a declared GWP100 set, reported apart
from the CO2 sinks and combined with them only in the balance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from ..balance import UNALLOCATED
from ..units import g_gas_to_MtCO2e, grams_to_Mg, gwp100, km2_to_m2


@dataclass(frozen=True)
class ReferenceArea:
    """A cited national area [km2] the run's maps are checked against."""

    km2: float
    what: str
    cite: str  # short, for messages
    source: str


#: The national natural-wetland area the land cover's ``wetland`` class is compared with: marshes and swamps,
#: i.e. the natural wetlands that are neither lakes, rivers nor coastal (those are other ecosystems here).
CHINA_WETLAND = ReferenceArea(
    138_000.0, "China's natural marshes and swamps", "First National Wetland Resources Survey, SFA 2005",
    "13.8 Mha, 38.1 % of China's 36 Mha of natural wetlands, First National Wetland Resources Survey (State Forestry "
    "Administration 2005), as quoted in a CRC Press book chapter, doi:10.1201/b18210-27 [V]; Zhang X. & Jiang H. 2014 (Int. J. "
    "Environ. Sci. Technol. 11:77) estimate wetland CH4 over 133,000 km2 of natural wetlands")
#: China's land area, to scale the national wetland area to the assessed regions' land.
CHINA_LAND = ReferenceArea(9.6e6, "China's land area", "china.org.cn",
                           "about 9.6 million km2, china.org.cn (China Internet Information Center), "
                           "'Location and Territory' [V]")
#: Warn when the mapped wetland is below this fraction of the expected area (assumption: wetlands are unevenly
#: spread, so a land-share pro rata is a rough expectation; a third leaves room for that).
WETLAND_WARN_FRACTION = 1.0 / 3.0


def non_co2_table(region_eco: pd.DataFrame, factors: pd.DataFrame, gwp_set: str,
                  check_wetland: bool = True) -> pd.DataFrame:
    """One row per (region, ecosystem, gas) with a factor: area, emission of the gas and CO2e.

    Paddy rates include the water-regime scaling of :func:`pipeline.tables.read_non_co2` (columns
    ``water_regime`` and ``sf_water``). With ``check_wetland``, :func:`wetland_area_check` warns when the
    land cover maps far less wetland than the cited national area, pro rata of land, would give.

    Parameters
    ----------
    region_eco : the aggregate table (region_id, region, realm, ecosystem, area_km2, ...)
    factors : :func:`pipeline.tables.read_non_co2` (rates in g gas m-2 yr-1, ``share`` of the area)
    gwp_set : "AR6" or "AR5"
    check_wetland : compare the mapped wetland area with :data:`CHINA_WETLAND` (a warning, never an error)
    """
    if check_wetland and factors is not None and not factors.empty:
        wetland_area_check(region_eco, factors, gwp_set)
    cols = ["region_id", "region", "ecosystem", "gas", "area_km2", "share", "water_regime", "sf_water",
            "rate_g_m2_yr", "emission_t_yr", "gwp100", "emission_MtCO2e", "source"]
    if factors is None or factors.empty:
        return pd.DataFrame(columns=cols)
    if "when_absent" in factors:  # e.g. a paddy share of cropland, only where no paddy class is mapped
        mapped = set(region_eco.loc[region_eco["area_km2"] > 0, "ecosystem"])
        factors = factors[~factors["when_absent"].isin(mapped)]
    factors = factors.assign(water_regime=factors.get("water_regime", ""), sf_water=factors.get("sf_water", 1.0))
    f = factors[["ecosystem", "gas", "central", "share", "water_regime", "sf_water", "source"]].rename(
        columns={"central": "rate_g_m2_yr"})
    out = region_eco[["region_id", "region", "ecosystem", "area_km2"]].merge(f, on="ecosystem", how="inner")
    grams = km2_to_m2(out["area_km2"]) * out["share"] * out["rate_g_m2_yr"]
    out["emission_t_yr"] = grams_to_Mg(grams)  # t = Mg
    out["gwp100"] = [gwp100(g, gwp_set) for g in out["gas"]]
    out["emission_MtCO2e"] = [g_gas_to_MtCO2e(x, gas, gwp_set) for x, gas in zip(grams, out["gas"])]
    return out[cols].sort_values(["region_id", "ecosystem", "gas"], kind="stable").reset_index(drop=True)


def wetland_area_check(region_eco: pd.DataFrame, factors: pd.DataFrame, gwp_set: str,
                       reference: ReferenceArea = CHINA_WETLAND, land: ReferenceArea = CHINA_LAND,
                       fraction: float = WETLAND_WARN_FRACTION) -> dict | None:
    """Compare the land cover's wetland area with the national natural-wetland area scaled to the
    assessed regions' land; warn (``UserWarning``) when the mapped area is below ``fraction`` of it.

    The assessed land is every non-ocean pixel of the regions (``unallocated`` left out), so a run over a
    few provinces is compared with their share of the country, not with all of it. Returns ``mapped_km2``,
    ``land_km2``, ``expected_km2``, ``ratio`` (mapped / expected), the wetland CH4 (and N2O) as Mt CO2e
    yr-1 on the mapped and on the expected area, and ``warned``; None when the factors have no
    ``wetland`` row or the regions hold no land.
    """
    rows = factors[factors["ecosystem"] == "wetland"]
    if rows.empty:
        return None
    t = region_eco[region_eco["region_id"] != UNALLOCATED]
    land_km2 = float(t.loc[t["realm"] != "ocean", "area_km2"].sum() if "realm" in t else t["area_km2"].sum())
    if land_km2 <= 0:
        return None
    mapped = float(t.loc[t["ecosystem"] == "wetland", "area_km2"].sum())
    expected = reference.km2 * land_km2 / land.km2
    per_km2 = sum(g_gas_to_MtCO2e(km2_to_m2(1.0) * r.share * r.central, r.gas, gwp_set) for r in rows.itertuples())
    out = {"mapped_km2": mapped, "land_km2": land_km2, "expected_km2": expected, "ratio": mapped / expected,
           "mapped_MtCO2e": mapped * per_km2, "expected_MtCO2e": expected * per_km2,
           "warned": mapped < fraction * expected}
    if out["warned"]:
        warnings.warn(
            f"the land cover maps {mapped:,.0f} km2 of wetland over the assessed regions' {land_km2:,.0f} km2 of "
            f"land, {100 * out['ratio']:.0f} % of the {expected:,.0f} km2 expected from {reference.what} "
            f"({reference.km2:,.0f} km2, {reference.cite}) pro rata of land ({100 * land_km2 / land.km2:.2f} % of "
            f"{land.what}, {land.km2 / 1e6:g} million km2): wetland CH4 is {out['mapped_MtCO2e']:.2f} Mt CO2e yr-1 "
            f"where the expected area would give {out['expected_MtCO2e']:.2f} ({100 * (out['ratio'] - 1):.0f} %). "
            "Wetlands are unevenly spread, so check the map before trusting either figure. Fix: supply a wetland "
            "map through landcover.habitats (a raster and a scheme mapping its classes to ecosystem 'wetland', "
            "realm terrestrial; see README), or use a land-cover product with a wetland class (e.g. CLCD or ESA "
            "CCI LC, configs/landcover/)", UserWarning, stacklevel=3)
    return out

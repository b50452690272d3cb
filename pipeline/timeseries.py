"""Stage ``balance`` over several years: budgets and the national balance per year, with trends.

Emissions, population and CCUS are taken per year from their tables; the sinks are the run's
assessment (its land cover and flux period) in every year, so the series shows how the balance
moves with emissions and CCUS against a given sink.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .balance import like_for_like
from .budgets import budgets
from .units import grams_to_Mg, km2_to_m2, m2_to_km2


def ccus_for_year(ccus: pd.DataFrame | None, year: int | None, national_default: float) -> tuple[float, pd.Series]:
    """National CCUS (not attributed to a region) and CCUS per region id for ``year`` [Mt CO2 yr-1]."""
    if ccus is None or year is None:
        return national_default, pd.Series(dtype=float)
    rows = ccus[ccus["year"] == year]
    national = float(rows.loc[rows["region"] == "national", "ccus_MtCO2"].sum())
    regional = rows[rows["region"] != "national"].groupby("region")["ccus_MtCO2"].sum()
    return national, regional


def region_eco_for_epoch(base: pd.DataFrame, area_m2: np.ndarray, region_ids, ecosystems, coeffs: pd.DataFrame,
                         coefficient_realms: set[str]) -> pd.DataFrame:
    """The region x ecosystem table of another land-cover epoch: its areas, and for the realms computed
    by coefficients, removal and emission = area x rate; the other realms (flux, stock change) keep
    the run's sums, which no land cover of another year changes."""
    out = base.copy()
    areas = pd.DataFrame(area_m2, index=list(region_ids), columns=list(ecosystems))
    out["area_km2"] = [m2_to_km2(areas.at[r, e]) for r, e in zip(out["region_id"], out["ecosystem"])]
    for flux, col in (("removal", "removal_MgC_yr"), ("emission", "emission_MgC_yr")):
        rates = coeffs[coeffs["flux"] == flux].set_index(["realm", "ecosystem"])["central"]
        coef = out["realm"].isin(coefficient_realms)
        rate = [rates.get((r, e), 0.0) for r, e in zip(out["realm"], out["ecosystem"])]
        out.loc[coef, col] = grams_to_Mg(km2_to_m2(out.loc[coef, "area_km2"]) * np.asarray(rate)[coef.to_numpy()])
    out["sink_MgC_yr"] = out["removal_MgC_yr"] - out["emission_MgC_yr"]
    return out


def budgets_by_year(region_eco: pd.DataFrame, regions, emissions: pd.DataFrame, population: pd.DataFrame | None,
                    ccus: pd.DataFrame | None, years: list[int], inorganic=None, non_co2=None,
                    national_ccus: float = 0.0, epochs: dict[int, pd.DataFrame] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Budgets of every region per year (long table, column ``year``) and the national balance per year.

    ``emissions`` and ``population``: (year x region id) frames; a region missing in a year is
    missing (NaN), never zero. ``epochs``: region x ecosystem tables of land-cover epochs by year; a
    year uses the latest epoch not after it (the run's own table before the first epoch).
    """
    frames, nation = [], []
    for year in years:
        pop = population.loc[year] if population is not None else None
        nat_ccus, reg_ccus = ccus_for_year(ccus, year, national_ccus)
        past = [y for y in (epochs or {}) if y <= year]
        table = epochs[max(past)] if past else region_eco
        b = budgets(table, regions, emissions.loc[year].dropna(), year, pop, inorganic, non_co2, reg_ccus)
        if past:
            b.insert(1, "landcover_year", max(past))
        b.insert(0, "year", year)
        frames.append(b)
        lfl = like_for_like(b, nat_ccus)  # net over the regions with an inventory that year (DESIGN: never 0)
        s = b["sink_total_MtCO2"].sum()
        c = b["ccus_MtCO2"].sum() + nat_ccus
        row = {"year": year, "emissions_MtCO2": lfl["emissions"], "sink_total_MtCO2": s, "ccus_MtCO2": c,
               "net_MtCO2": lfl["net"], "sink_offset_pct": lfl["offset_pct"],
               "regions_missing_emissions": len(lfl["excluded"]),
               "sink_no_inventory_MtCO2": lfl["excluded_sink"], "ccus_no_inventory_MtCO2": lfl["excluded_ccus"]}
        if "non_co2_MtCO2e" in b:
            row["non_co2_MtCO2e"] = b["non_co2_MtCO2e"].sum()
        if "inorganic_sink_MtCO2" in b:
            row["inorganic_sink_MtCO2"] = b["inorganic_sink_MtCO2"].sum()
        nation.append(row)
    return pd.concat(frames, ignore_index=True), pd.DataFrame(nation)


def trends(by_year: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Least-squares slope per year of each column (units per yr) and the change first -> last year,
    per ``keys`` group; groups with fewer than two years of data get NaN."""
    rows = []
    for key, g in by_year.groupby(keys, sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        for col in columns:
            ok = g[["year", col]].dropna()
            if len(ok) >= 2:
                slope = np.polyfit(ok["year"].astype(float), ok[col].astype(float), 1)[0]
                first, last = ok[col].iloc[0], ok[col].iloc[-1]
                row[f"{col}_slope_per_yr"] = slope
                row[f"{col}_change_pct"] = 100 * (last / first - 1) if first else np.nan
            else:
                row[f"{col}_slope_per_yr"] = np.nan
                row[f"{col}_change_pct"] = np.nan
        row["years"] = f"{int(g['year'].min())}-{int(g['year'].max())}"
        rows.append(row)
    return pd.DataFrame(rows)

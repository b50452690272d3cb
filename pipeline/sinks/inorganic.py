"""Inorganic carbon sinks (e.g. carbonate weathering in karst, inorganic burial in arid lakes): an
optional rate per ecosystem, applied to the region x ecosystem areas and reported apart from the
organic sinks (DESIGN 2; combined with them only in the balance)."""

from __future__ import annotations

import pandas as pd

from ..units import grams_to_Mg, km2_to_m2


def inorganic_table(region_eco: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """One row per (region, ecosystem) with a rate: area and inorganic sink [Mg C yr-1], sink positive.

    ``rates``: :func:`pipeline.tables.read_inorganic` (g C m-2 yr-1, ``share`` of the area).
    """
    cols = ["region_id", "region", "realm", "ecosystem", "area_km2", "share", "rate_gC_m2_yr",
            "inorganic_MgC_yr", "source"]
    if rates is None or rates.empty:
        return pd.DataFrame(columns=cols)
    r = rates[["realm", "ecosystem", "central", "share", "source"]].rename(columns={"central": "rate_gC_m2_yr"})
    out = region_eco[["region_id", "region", "realm", "ecosystem", "area_km2"]].merge(
        r, on=["realm", "ecosystem"], how="inner")
    out["inorganic_MgC_yr"] = grams_to_Mg(km2_to_m2(out["area_km2"]) * out["share"] * out["rate_gC_m2_yr"])
    return out[cols].sort_values(["region_id", "ecosystem"], kind="stable").reset_index(drop=True)

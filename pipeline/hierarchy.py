"""Stage ``hierarchy``: finer levels (prefectures, counties) and composite regions (groups of
provinces), as validated sums.

* A subregion layer is aggregated on its own labels in the same pass as the regions. Its members
  are summed per parent and checked against the parent's *land* polygon aggregated on the same
  grid: the difference (boundary simplification, gaps between layers) is reported per parent.
* A composite region (e.g. the Yangtze River Delta) is the sum of its member regions' budgets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import CompositeSpec
from .units import MgC_to_MtCO2

#: Members that differ from their parent by more than this (area, relative) are flagged.
MEMBER_TOLERANCE = 0.005


def sink_by_realm(region_eco: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Area and sinks per ``keys`` and realm, wide: ``area_km2``, ``sink_<realm>_MtCO2``, gross terms."""
    from .tables import REALMS

    g = region_eco.groupby(keys + ["realm"], sort=False)[["area_km2", "removal_MgC_yr", "emission_MgC_yr",
                                                            "sink_MgC_yr"]].sum()
    out = g.groupby(keys, sort=False)[["area_km2"]].sum()
    for realm, short in REALMS.items():
        col = g["sink_MgC_yr"].xs(realm, level="realm") if realm in g.index.get_level_values("realm") else None
        out[f"sink_{short}_MtCO2"] = MgC_to_MtCO2(col).reindex(out.index).fillna(0.0) if col is not None else 0.0
    tot = g.groupby(keys, sort=False)[["removal_MgC_yr", "emission_MgC_yr", "sink_MgC_yr"]].sum()
    out["gross_removal_MtCO2"] = MgC_to_MtCO2(tot["removal_MgC_yr"])
    out["gross_emission_MtCO2"] = MgC_to_MtCO2(tot["emission_MgC_yr"])
    out["sink_total_MtCO2"] = MgC_to_MtCO2(tot["sink_MgC_yr"])
    return out.reset_index()


def check_members(members_eco: pd.DataFrame, parents_land_eco: pd.DataFrame, level: str) -> pd.DataFrame:
    """Per parent: its land area and sink against the sums of its members, with the differences.

    ``members_eco`` has a ``parent_id`` column; ``parents_land_eco`` is the region x ecosystem
    table of the parents' land polygons.
    """
    m = members_eco.groupby("parent_id")[["area_km2", "sink_MgC_yr"]].sum()
    p = parents_land_eco.groupby("region_id")[["area_km2", "sink_MgC_yr"]].sum().reindex(m.index)
    out = pd.DataFrame({
        "level": level, "parent_id": m.index,
        "parent_area_km2": p["area_km2"].to_numpy(), "members_area_km2": m["area_km2"].to_numpy(),
        "parent_sink_MgC_yr": p["sink_MgC_yr"].to_numpy(), "members_sink_MgC_yr": m["sink_MgC_yr"].to_numpy(),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["area_diff_pct"] = 100 * (out["members_area_km2"] / out["parent_area_km2"] - 1)
        out["sink_diff_pct"] = 100 * (out["members_sink_MgC_yr"] / out["parent_sink_MgC_yr"] - 1)
    out["ok"] = out["area_diff_pct"].abs() <= 100 * MEMBER_TOLERANCE
    return out


def composite_budgets(budget: pd.DataFrame, composites: list[CompositeSpec]) -> pd.DataFrame:
    """One budget row per composite: sums of its members (emissions missing if any member's is)."""
    b = budget.set_index("region_id")
    sums = [c for c in b.columns if c.endswith(("_MtCO2", "_MtCO2e", "_km2")) or c == "population"]
    rows = []
    for comp in composites:
        part = b.loc[comp.members]
        row = {"composite_id": comp.id, "composite": comp.name, "members": " ".join(comp.members)}
        for col in sums:
            whole = col in ("emissions_MtCO2", "net_MtCO2", "net_all_MtCO2e", "population")
            row[col] = part[col].sum(min_count=len(part)) if whole else part[col].sum()
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        out["sink_offset_pct"] = np.where(out["emissions_MtCO2"] > 0,
                                          100 * out["sink_total_MtCO2"] / out["emissions_MtCO2"], np.nan)
    return out

"""Stage ``hierarchy``: finer levels (prefectures, counties) and composite regions (groups of
provinces), as validated sums.

* A subregion layer is aggregated on its own labels in the same pass as the regions. Its members
  are summed per parent and checked against the parent's *land* polygon aggregated on the same
  grid, for area and for sink: the differences (boundary simplification, gaps between layers) are
  reported per parent, and a parent outside the tolerances is flagged with a warning.
* A composite region (e.g. the Yangtze River Delta) is the sum of its member regions' budgets.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .config import CompositeSpec
from .units import MgC_to_MtCO2

#: Members whose area differs from their parent's by more than this (relative) are flagged.
#:
#: Parent and members are sums over the *same* pixels weighted by exact coverage fractions, so
#: members that tile their parent agree with it to rounding (~1e-12): a difference is the area where
#: the two layers' boundaries disagree (simplification, slivers, gaps). 0.5 % allows the sample's
#: independently simplified layers (observed: below 0.02 %) and flags a missing member.
MEMBER_TOLERANCE = 0.005
#: Members whose sink differs from their parent's by more than this fraction of the parent's *gross*
#: flux (removals + emissions) are flagged.
#:
#: The sink map is pixelised: one density per pixel. A boundary disagreement of area dA_p in pixel p
#: therefore moves exactly s_p * dA_p between parent and members, and no other difference is
#: possible. With the disagreeing area bounded by MEMBER_TOLERANCE of the parent and border pixels no
#: more intense than the parent's average |density|, the sink moves by at most the same fraction of
#: the parent's gross flux |s| * A. The gross flux, not the net, is the scale: removals and
#: emissions that nearly cancel would make any relative test of the net meaningless.
SINK_TOLERANCE = MEMBER_TOLERANCE
#: Below this (relative to the gross flux) a difference is rounding, even for a parent without flux.
_ROUNDING = 1e-9


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
    table of the parents' land polygons (``area_km2``, ``sink_MgC_yr``, and ``removal_MgC_yr`` and
    ``emission_MgC_yr`` for the gross flux; without them the gross is |sink| summed per ecosystem).
    ``area_ok``: |members - parent| area within :data:`MEMBER_TOLERANCE` of the parent's area;
    ``sink_ok``: |members - parent| sink within :data:`SINK_TOLERANCE` of the parent's gross flux;
    ``ok``: both. Each parent that is not ok is named in a warning.
    """
    def gross(t: pd.DataFrame) -> pd.Series:
        if {"removal_MgC_yr", "emission_MgC_yr"} <= set(t.columns):
            return t["removal_MgC_yr"].abs() + t["emission_MgC_yr"].abs()
        return t["sink_MgC_yr"].abs()

    m = members_eco.groupby("parent_id")[["area_km2", "sink_MgC_yr"]].sum()
    p = parents_land_eco.assign(gross_MgC_yr=gross(parents_land_eco)).groupby("region_id")[
        ["area_km2", "sink_MgC_yr", "gross_MgC_yr"]].sum().reindex(m.index)
    out = pd.DataFrame({
        "level": level, "parent_id": m.index,
        "parent_area_km2": p["area_km2"].to_numpy(), "members_area_km2": m["area_km2"].to_numpy(),
        "parent_sink_MgC_yr": p["sink_MgC_yr"].to_numpy(), "members_sink_MgC_yr": m["sink_MgC_yr"].to_numpy(),
        "parent_gross_MgC_yr": p["gross_MgC_yr"].to_numpy(),
    })
    d_area = out["members_area_km2"] - out["parent_area_km2"]
    d_sink = out["members_sink_MgC_yr"] - out["parent_sink_MgC_yr"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["area_diff_pct"] = 100 * (out["members_area_km2"] / out["parent_area_km2"] - 1)
        out["sink_diff_pct"] = 100 * (out["members_sink_MgC_yr"] / out["parent_sink_MgC_yr"] - 1)
        out["sink_diff_pct_of_gross"] = 100 * d_sink / out["parent_gross_MgC_yr"]
    scale = out["parent_area_km2"].abs()
    out["area_ok"] = d_area.abs() <= np.maximum(MEMBER_TOLERANCE * scale, _ROUNDING * scale)
    g = out["parent_gross_MgC_yr"].abs()
    out["sink_ok"] = d_sink.abs() <= np.maximum(SINK_TOLERANCE * g, _ROUNDING * np.maximum(g, 1.0))
    out["ok"] = out["area_ok"] & out["sink_ok"]
    for row in out[~out["ok"]].itertuples():
        warnings.warn(mismatch_message(row), stacklevel=2)
    return out


def mismatch_message(row) -> str:
    """The warning for one parent whose members do not add up (a row of :func:`check_members`)."""
    if pd.isna(row.parent_area_km2):
        return (f"members of level '{row.level}' name parent {row.parent_id}, which has no land on the grid: "
                f"their {row.members_area_km2:,.1f} km2 and {row.members_sink_MgC_yr:,.1f} Mg C yr-1 match nothing")
    parts = []
    if not row.area_ok:
        parts.append(f"cover {row.members_area_km2:,.1f} km2 of its {row.parent_area_km2:,.1f} km2 "
                     f"({row.area_diff_pct:+.2f} %, tolerance {100 * MEMBER_TOLERANCE:.1f} %)")
    if not row.sink_ok:
        parts.append(f"sum to a sink of {row.members_sink_MgC_yr:,.1f} Mg C yr-1 against its "
                     f"{row.parent_sink_MgC_yr:,.1f} ({row.sink_diff_pct_of_gross:+.2f} % of its gross flux "
                     f"{row.parent_gross_MgC_yr:,.1f}, tolerance {100 * SINK_TOLERANCE:.1f} %)")
    return (f"members of level '{row.level}' do not add up to parent {row.parent_id}: they " + " and ".join(parts)
            + ". Fix: check that the level's members tile their parent (missing or extra members, a wrong "
            "parent field, boundaries from another source)")


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

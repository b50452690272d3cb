"""The run's terrestrial sink beside published estimates of the same quantity: ``tables/reconciliation.csv``.

The published estimates (bottom-up inventories, process models, atmospheric inversions, the national
GHG inventory's LULUCF figure) come from a cited CSV, by default
``configs/reference/published_terrestrial_sinks.csv`` (``balance.published_estimates``), one row per
estimate: ``source, period, method_class, central, low, high, units, range_basis, includes_lateral,
managed_land_only, evidence, notes``. :func:`reconciliation_table` converts each to Mt CO2 yr-1 and says
where the run's terrestrial sink (with its Monte Carlo 5-95 % when the run has one) sits: below,
inside or above the estimate's range. A run over some of a country's regions (``regions.scope:
subset``) is not like for like with a national estimate: the table says so and gives only the
assessed regions' share of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .units import accepted_rate_units, rate_to_MtCO2  # noqa: F401 (re-exported)

#: The shipped estimates (a source checkout; a pip-installed package has no configs/ folder).
DEFAULT_PUBLISHED = Path(__file__).resolve().parents[1] / "configs" / "reference" / "published_terrestrial_sinks.csv"
#: Columns a published-estimates table must have.
REQUIRED = ["source", "period", "method_class", "central", "low", "high", "units", "includes_lateral",
            "managed_land_only", "evidence"]
#: Ids under which tables/uncertainty.csv gives the whole run's rows.
NATION_IDS = ("nation", "national", "all", "total")
def load_published(path: str | Path | None = None) -> pd.DataFrame | None:
    """The published-estimates table (``path``, default :data:`DEFAULT_PUBLISHED`); None when the
    default is not on this machine (an installed package without configs/).

    Raises
    ------
    InputError
        Naming the file, the row and the field: a missing column, an empty source or evidence tag, a
        value that is not a number, ``low > central`` or ``central > high``, units not understood, or
        ``includes_lateral`` / ``managed_land_only`` other than yes or no.
    """
    from .tables import _read_csv, _require_provenance

    if path is None:
        if not DEFAULT_PUBLISHED.is_file():
            return None
        path = DEFAULT_PUBLISHED
    path = Path(path)
    df = _read_csv(path, REQUIRED, "published estimates", dtype={"period": str})
    _require_provenance(df, path, "published estimate", ["source", "period"])
    problems = []
    for i, r in df.iterrows():
        where = f"row {i + 1} ({r['source']}, {r['period']})"
        nums = {}
        for col in ("central", "low", "high"):
            x = pd.to_numeric(pd.Series([r[col]]), errors="coerce").iloc[0]
            if pd.isna(x) and not pd.isna(r[col]):
                problems.append(f"{where}: '{col}' = {r[col]!r} is not a number")
            nums[col] = x
        if pd.isna(nums["central"]):
            problems.append(f"{where}: 'central' is empty")
        if pd.notna(nums["low"]) and pd.notna(nums["central"]) and nums["low"] > nums["central"]:
            problems.append(f"{where}: 'low' {nums['low']:g} > 'central' {nums['central']:g}")
        if pd.notna(nums["high"]) and pd.notna(nums["central"]) and nums["central"] > nums["high"]:
            problems.append(f"{where}: 'central' {nums['central']:g} > 'high' {nums['high']:g}")
        if pd.isna(nums["low"]) != pd.isna(nums["high"]):
            problems.append(f"{where}: give both 'low' and 'high', or neither")
        try:
            rate_to_MtCO2(1.0, r["units"])
        except ValueError as exc:
            problems.append(f"{where}: 'units' {exc}")
        for col in ("includes_lateral", "managed_land_only"):
            if str(r[col]).strip().lower() not in ("yes", "no"):
                problems.append(f"{where}: '{col}' = {r[col]!r} (yes or no)")
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s) in the published estimates: {'; '.join(problems[:10])}"
                         ". Fix: correct those fields (sink positive numbers, units such as 'Pg C yr-1'), as in "
                         "configs/reference/published_terrestrial_sinks.csv")
    for col in ("central", "low", "high"):
        df[col] = pd.to_numeric(df[col])
    for col in ("includes_lateral", "managed_land_only"):
        df[col] = df[col].astype(str).str.strip().str.lower() == "yes"
    return df


def run_interval(uncertainty: pd.DataFrame | None, quantity: str = "sink_terrestrial_MtCO2") -> tuple[float, float]:
    """The run's 5th and 95th percentile of ``quantity`` over the whole run (the nation rows of
    ``tables/uncertainty.csv``), or NaN, NaN without them."""
    if uncertainty is None or not len(uncertainty):
        return np.nan, np.nan
    u = uncertainty[(uncertainty["region_id"].astype(str).str.casefold().isin(NATION_IDS))
                    & (uncertainty["quantity"] == quantity)]
    if u.empty:
        return np.nan, np.nan
    return float(u["p05"].iloc[0]), float(u["p95"].iloc[0])


def position(run: float, low: float, central: float, high: float) -> str:
    """Where ``run`` sits against an estimate: ``below range``, ``inside range``, ``above range``, or,
    for an estimate without a range, ``below``, ``at`` or ``above`` its central value."""
    if not np.isfinite(run):
        return "n/a"
    if np.isfinite(low) and np.isfinite(high):
        return "below range" if run < low else "above range" if run > high else "inside range"
    return "below" if run < central else "above" if run > central else "at"


def reconciliation_table(published: pd.DataFrame, balance: pd.DataFrame, uncertainty: pd.DataFrame | None = None,
                         scope=None) -> pd.DataFrame:
    """One row per published estimate, in Mt CO2 yr-1, beside the run's terrestrial sink.

    ``published``: :func:`load_published`'s table; ``balance``: tables/balance.csv (``sink_terrestrial``);
    ``uncertainty``: tables/uncertainty.csv or None; ``scope``: a :class:`pipeline.balance.Scope`
    (default: a subset of unknown size). Columns: the estimate as published (``published_central``,
    ``published_low``, ``published_high``, ``published_units``), converted (``central_MtCO2``,
    ``low_MtCO2``, ``high_MtCO2``), its ``period``, ``method_class``, ``range_basis``,
    ``includes_lateral``, ``managed_land_only``, ``evidence``, ``source``, ``notes``; the run's
    ``run_sink_MtCO2`` with ``run_p05_MtCO2`` and ``run_p95_MtCO2`` (NaN without a Monte Carlo);
    ``run_minus_central_MtCO2``; ``run_share_of_central_pct`` (the run as % of the estimate);
    ``like_for_like`` (False for a subset of the country's regions); ``position`` (see
    :func:`position`; ``not like for like`` for a subset), ``intervals_overlap`` (the run's 5-95 %
    against the estimate's range, or its central value) and ``comparability`` (what differs).
    """
    from .balance import Scope

    scope = scope or Scope()
    v = balance.set_index("item")["value"].astype(float)
    run = float(v.get("sink_terrestrial", np.nan))
    p05, p95 = run_interval(uncertainty)
    rows = []
    for _, e in published.iterrows():
        conv = [rate_to_MtCO2(x, e["units"]) if pd.notna(x) else np.nan for x in (e["low"], e["central"], e["high"])]
        lo, c, hi = conv
        if scope.national:
            pos = position(run, lo, c, hi)
            a, b = (lo, hi) if np.isfinite(lo) else (c, c)
            overlap = (bool(p05 <= b and p95 >= a) if np.isfinite(p05) and np.isfinite(p95) else None)
        else:
            pos, overlap = "not like for like", None
        rows.append({
            "source": e["source"], "period": e["period"], "method_class": e["method_class"],
            "published_central": e["central"], "published_low": e["low"], "published_high": e["high"],
            "published_units": e["units"], "central_MtCO2": c, "low_MtCO2": lo, "high_MtCO2": hi,
            "range_basis": e.get("range_basis", ""), "includes_lateral": bool(e["includes_lateral"]),
            "managed_land_only": bool(e["managed_land_only"]), "evidence": e["evidence"],
            "run_sink_MtCO2": run, "run_p05_MtCO2": p05, "run_p95_MtCO2": p95,
            "run_minus_central_MtCO2": run - c, "run_share_of_central_pct": 100.0 * run / c if c else np.nan,
            "like_for_like": scope.national, "position": pos, "intervals_overlap": overlap,
            "comparability": _comparability(e, scope), "notes": e.get("notes", "")})
    return pd.DataFrame(rows)


def _comparability(e: pd.Series, scope) -> str:
    """What differs between the estimate and the run's terrestrial sink, in words."""
    out = []
    if not scope.national:
        out.append(f"not like for like: the run covers the {scope.assessed} only, the estimate the whole country "
                   f"(run / estimate = {scope.possessive} share of it)")
    if e["includes_lateral"]:
        out.append("the estimate counts carbon exported laterally (rivers, crop and wood trade) as uptake; the run's "
                   "ecosystem sink does not")
    if e["managed_land_only"]:
        out.append("managed land only (national GHG inventory)")
    if "CO2e" in str(e["units"]):
        out.append("CO2-equivalent (the sector's CH4 and N2O included)")
    out.append(f"period {e['period']}, not the run's")
    return "; ".join(out)

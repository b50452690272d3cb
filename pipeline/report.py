"""``report.md``: a short, readable summary built from the run directory alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .balance import Scope, trajectory_rows


def _fmt(x, nd=1) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "n/a"
    return f"{x:,.{nd}f}"


def write_report(run_dir: Path) -> Path:
    """Write ``report.md`` from ``tables/*.csv`` and ``manifest.json`` in ``run_dir``."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    bud = pd.read_csv(run_dir / "tables" / "budgets.csv")
    bal = pd.read_csv(run_dir / "tables" / "balance.csv").set_index("item")
    reco = pd.read_csv(run_dir / "tables" / "region_ecosystem.csv")
    cfg = manifest["config"]
    v = bal["value"]
    scope = Scope.from_run(manifest, bud)
    year = int(bud["emissions_year"].dropna().iloc[0]) if bud["emissions_year"].notna().any() else None
    lines = [
        f"# Carbon-sink budget: {cfg['name']}",
        "",
        f"Sinks are positive (removal from the atmosphere). Units: Mt CO2 yr-1 unless stated. "
        f"Emissions: inventory year {year if year is not None else 'n/a'}.",
        "",
        (f"Scope: national ({scope.n} {scope.level} and the unallocated remainder)." if scope.national else
         f"Scope: {scope.assessed} (and the unallocated remainder), some of the country's regions: every total "
         "below is theirs, not national; national targets appear only as their share, labelled so."),
        "",
        "## Headline",
        "",
        f"- Net carbon sink {'assessed' if scope.national else 'of the ' + scope.assessed}: "
        f"**{_fmt(v['sink_total'])} Mt CO2 yr-1** "
        f"(terrestrial {_fmt(v['sink_terrestrial'])}, inland water {_fmt(v['sink_water'])}, "
        f"ocean {_fmt(v['sink_ocean'])}); gross removal {_fmt(v['gross_removal'])}, gross emission "
        f"{_fmt(v['gross_emission'])}.",
        f"- Fossil and industrial CO2 emissions: **{_fmt(v['emissions'])} Mt CO2 yr-1**; the sinks offset "
        f"**{_fmt(v['sink_offset'])} %** of them; net emission {_fmt(v['net_emission'])} Mt CO2 yr-1 "
        f"(CCUS {_fmt(v['ccus'])}).",
    ]
    if "non_co2_emission" in v:
        lines.append(f"- Non-CO2 emissions (apart from the CO2 sinks): CH4 {_fmt(v['ch4_emission'])} and N2O "
                     f"{_fmt(v['n2o_emission'])} Mt CO2e yr-1 ({bal.loc['non_co2_emission', 'note']}).")
    if "inorganic_sink" in v:
        lines.append(f"- Inorganic carbon sink (apart from the organic sinks): {_fmt(v['inorganic_sink'])} Mt CO2 yr-1.")
    if "net_emission_all" in v:
        lines.append(f"- Everything combined (emissions + non-CO2 - organic and inorganic sinks - CCUS): "
                     f"**{_fmt(v['net_emission_all'])} Mt CO2e yr-1**.")
    if "sink_no_inventory" in v and pd.notna(v["emissions"]):
        lines.append(f"- Like for like: {bal.loc['emissions', 'note'].split('; ', 1)[-1]}. The net emission and the "
                     f"offset share cover the regions with an inventory (plus unallocated waters and national CCUS); "
                     f"the sink of the regions without one, {_fmt(v['sink_no_inventory'], 2)} Mt CO2 yr-1, is in "
                     f"the total sink of {scope.whole} but not netted against emissions.")
    if "scenario_sink_2060_low" in v:
        if "assessed_sink_GtCO2" in v:
            sentence = bal.loc["assessed_sink_GtCO2", "note"]
        else:  # a run directory written before the balance stated it
            from .balance import scheme_sentence

            sentence = scheme_sentence(v["sink_total"], v["scenario_sink_2060_low"], v["scenario_sink_2060_high"],
                                       scope)
        lines.append(f"- Against the 2060 neutrality scheme ({bal.loc['scenario_sink_2060_low', 'note']}): "
                     f"{sentence}.")
    lines += ["", "## Budgets by region", "",
              "| region | area km2 | terrestrial | inland water | ocean | total sink | emissions | net emission | offset % |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in bud.itertuples():
        lines.append(f"| {r.region} | {_fmt(r.area_km2, 0)} | {_fmt(r.sink_terrestrial_MtCO2, 2)} | "
                     f"{_fmt(r.sink_water_MtCO2, 2)} | {_fmt(r.sink_ocean_MtCO2, 2)} | {_fmt(r.sink_total_MtCO2, 2)} | "
                     f"{_fmt(r.emissions_MtCO2, 1)} | {_fmt(r.net_MtCO2, 1)} | {_fmt(r.sink_offset_pct, 1)} |")
    eco = reco.groupby(["realm", "ecosystem"], sort=False)[["area_km2", "removal_MgC_yr", "emission_MgC_yr",
                                                            "sink_MgC_yr"]].sum().reset_index()
    qa0 = manifest["qa"]
    split = (f" Here: land outside the regions {qa0['unallocated_land_km2']:,.0f} km2 "
             f"(net sink {_fmt(qa0['unallocated_land_sink_MtCO2'], 2)} Mt CO2 yr-1), sea beyond the offshore zones "
             f"{qa0['unallocated_sea_km2']:,.0f} km2 ({_fmt(qa0['unallocated_sea_sink_MtCO2'], 2)} Mt CO2 yr-1)."
             if "unallocated_land_km2" in qa0 else "")
    lines += ["", "*unallocated*: pixels no region covers (land outside the regions, and sea beyond the offshore "
              "zones), counted so that regions plus unallocated add up to the whole map." + split, "",
              "## Gross and net by ecosystem (all regions)", "",
              "| realm | ecosystem | area km2 | gross removal Mg C yr-1 | gross emission Mg C yr-1 | net sink Mg C yr-1 "
              "| net g C m-2 yr-1 |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in eco.itertuples():
        dens = r.sink_MgC_yr / r.area_km2 if r.area_km2 else float("nan")  # Mg per km2 = g per m2
        lines.append(f"| {r.realm} | {r.ecosystem} | {_fmt(r.area_km2, 0)} | {_fmt(r.removal_MgC_yr, 0)} | "
                     f"{_fmt(r.emission_MgC_yr, 0)} | {_fmt(r.sink_MgC_yr, 0)} | {_fmt(dens, 1)} |")
    lines += _trajectory_lines(bal.reset_index(), year, scope)
    lines += _reconciliation_lines(run_dir, scope)
    lines += _optional_sections(run_dir, scope)
    qa = manifest["qa"]
    unconfirmed = _unconfirmed(run_dir)
    lines += ["", "## Methods and sources", "",
              f"- Terrestrial: {cfg['sinks']['terrestrial']['method']}; inland water: "
              f"{cfg['sinks']['inland_water']['method']}; ocean: {cfg['sinks']['ocean']['method']}. "
              f"Coefficients and their sources: `{Path(cfg['sinks']['coefficients']).name}`.",
              f"- Analysis grid: {manifest['grid']['crs']}, {manifest['grid']['shape'][0]} x {manifest['grid']['shape'][1]} "
              f"pixels; border pixels shared by exact covered fraction ({qa['region_border_px']} shared pixels).",
              f"- QA: {qa['nodata_px']} nodata pixels, {qa['unknown_px']} unknown-class pixels, "
              f"{qa['unallocated_km2']:,.0f} km2 unallocated."
              + "".join(f" {k}: {v}." for k, v in qa.items() if k.startswith("flux_missing"))
              + "".join(f" Flux product {n}: {v['product_integral_MgC_yr']:,.0f} Mg C yr-1 over the regions, "
                        f"{v['applied_MgC_yr']:,.0f} applied ({v['difference_pct']:.1f} % not; "
                        "`tables/flux_products.csv`)." for n, v in qa.get("flux_products", {}).items()),
              "- Every coefficient used, with its source and evidence tag: `tables/coefficients.csv`."
              + (f" **Unconfirmed values** (evidence [M], from memory of a widely cited figure; check before "
                 f"citing): {unconfirmed}." if unconfirmed else ""),
              "", "## Provenance", ""]
    for k, inp in manifest["inputs"].items():
        synthetic = " **SYNTHETIC input: results from it are illustrative**" if "synthetic" in Path(inp["path"]).name.lower() else ""
        lines.append(f"- {k}: `{Path(inp['path']).name}` (sha256 {inp['sha256'][:12]}...){synthetic}")
    lines += ["", f"carbon-sink {manifest['carbon_sink_version']}; full details in `manifest.json`.", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _optional_sections(run_dir: Path, scope: Scope | None = None) -> list[str]:
    """Sections for the tables a run may add: land-cover transitions, non-CO2 gases, inorganic carbon."""
    tables = run_dir / "tables"
    lines: list[str] = []
    if (tables / "transitions.csv").exists():
        tr = pd.read_csv(tables / "transitions.csv")
        ch = tr[tr["changed"]].groupby(["from_ecosystem", "to_ecosystem"])[["area_km2", "stock_change_MgC_yr"]].sum()
        ch = ch.sort_values("area_km2", ascending=False).head(10)
        t1, t2 = int(tr["from_year"].iloc[0]), int(tr["to_year"].iloc[0])
        lines += ["", f"## Land-cover change {t1}-{t2} (stock-difference method)", "",
                  "The same carbon densities at both epochs capture land-cover change only, not growth within a "
                  "class. Largest transitions (all regions):", "",
                  "| from | to | area km2 | stock change Mg C yr-1 |", "|---|---|---:|---:|"]
        for (a, b), r in ch.iterrows():
            lines.append(f"| {a} | {b} | {_fmt(r.area_km2, 0)} | {_fmt(r.stock_change_MgC_yr, 0)} |")
        nod = tr.loc[tr["from_ecosystem"] == "no data", "area_km2"].sum()
        if nod:
            lines.append(f"\n{_fmt(nod, 0)} km2 have no data in {t1}: no stock change is counted there.")
    if (tables / "uncertainty.csv").exists():
        u = pd.read_csv(tables / "uncertainty.csv")
        nat = u[u["region_id"] == "nation"]
        lines += ["", "## Uncertainty (Monte Carlo, 5-95 %)", "",
                  "Draws of every coefficient within its low-high range and, where configured, of alternative "
                  "products (a structural ensemble). The central estimates above use the central coefficients; "
                  "skewed ranges make the mean differ from them.", "",
                  "| quantity | units | 5 % | median | 95 % | within-product sd | between-product sd |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in nat.itertuples():
            w = getattr(r, "within_product_sd", float("nan"))
            b = getattr(r, "between_product_sd", float("nan"))
            lines.append(f"| {r.quantity} | {r.units} | {_fmt(r.p05)} | {_fmt(r.p50)} | {_fmt(r.p95)} | "
                         f"{_fmt(w)} | {_fmt(b)} |")
    if (tables / "balance_by_year.csv").exists():
        y = pd.read_csv(tables / "balance_by_year.csv")
        lines += ["", "## Balance by year", "", "Emissions, population and CCUS per year; the sinks are this run's "
                  "assessment in every year.", "",
                  "| year | emissions | sink | CCUS | net emission | offset % |", "|---|---:|---:|---:|---:|---:|"]
        for r in y.itertuples():
            lines.append(f"| {r.year} | {_fmt(r.emissions_MtCO2)} | {_fmt(r.sink_total_MtCO2)} | {_fmt(r.ccus_MtCO2)} | "
                         f"{_fmt(r.net_MtCO2)} | {_fmt(r.sink_offset_pct)} |")
        if (tables / "trends.csv").exists():
            t = pd.read_csv(tables / "trends.csv").set_index("region_id")
            if "nation" in t.index:
                n = t.loc["nation"]
                who = "National emissions" if scope is not None and scope.national else (
                    f"Emissions of the {(scope or Scope()).assessed}")
                lines.append(f"\n{who} changed {_fmt(n['emissions_MtCO2_slope_per_yr'])} Mt CO2 per year "
                             f"({_fmt(n['emissions_MtCO2_change_pct'])} % over {n['years']}).")
    if (tables / "land_use_scenarios.csv").exists():
        ls = pd.read_csv(tables / "land_use_scenarios.csv")
        g = ls.groupby(["scenario", "region"])["sink_change_MgC_yr"].sum().reset_index()
        lines += ["", "## Land-use scenarios: sink-enhancement potential", "",
                  "Area change x net coefficient rate per ecosystem (the new cover's uptake as the cited "
                  "coefficients describe it).", "", "| scenario | region | sink change Mg C yr-1 |", "|---|---|---:|"]
        lines += [f"| {r.scenario} | {r.region} | {_fmt(r.sink_change_MgC_yr, 0)} |" for r in g.itertuples()]
    if (tables / "non_co2.csv").exists():
        nc = pd.read_csv(tables / "non_co2.csv")
        g = nc.groupby(["ecosystem", "gas"])[["emission_t_yr", "emission_MtCO2e"]].sum().reset_index()
        lines += ["", "## Non-CO2 gases (all regions)", "", "| ecosystem | gas | emission t yr-1 | Mt CO2e yr-1 |",
                  "|---|---|---:|---:|"]
        for r in g.itertuples():
            lines.append(f"| {r.ecosystem} | {r.gas} | {_fmt(r.emission_t_yr, 0)} | {_fmt(r.emission_MtCO2e, 2)} |")
    if (tables / "inorganic.csv").exists():
        ic = pd.read_csv(tables / "inorganic.csv")
        g = ic.groupby("ecosystem")["inorganic_MgC_yr"].sum()
        lines += ["", "## Inorganic carbon (all regions)", "", "| ecosystem | sink Mg C yr-1 |", "|---|---:|"]
        lines += [f"| {e} | {_fmt(x, 0)} |" for e, x in g.items()]
    return lines


def _range(lo, c, hi) -> str:
    """``c (lo to hi)``, ``lo to hi`` or ``c``, no decimals."""
    rng = f"{_fmt(lo, 0)} to {_fmt(hi, 0)}" if pd.notna(lo) and pd.notna(hi) else ""
    return (_fmt(c, 0) + (f" ({rng})" if rng else "")) if pd.notna(c) else rng


def _trajectory_lines(balance: pd.DataFrame, year: int | None, scope: Scope) -> list[str]:
    """The 2060 scheme year against year, beside the run's values in its year (no cross-year shares)."""
    t = trajectory_rows(balance, year, scope)
    if t.empty or not (t["kind"] == "scheme").any():
        return []
    lines = ["", "## The 2060 scheme: trajectory", "",
             f"The scheme's national figures in their own years and this run's values ({scope.whole}) in its year, "
             "Mt CO2 yr-1; a value of one year is never given as a percentage of another year's target.", "",
             "| quantity | year | | Mt CO2 yr-1 |", "|---|---:|---|---:|"]
    for r in t.itertuples():
        lines.append(f"| {r.quantity} | {r.year} | {r.label} | {_range(r.low, r.central, r.high)} |")
    return lines


def _reconciliation_lines(run_dir: Path, scope: Scope) -> list[str]:
    """The run's terrestrial sink beside published national estimates (tables/reconciliation.csv)."""
    path = run_dir / "tables" / "reconciliation.csv"
    if not path.exists():
        return []
    rec = pd.read_csv(path)
    if rec.empty:
        return []
    r0 = rec.iloc[0]
    like = str(r0["like_for_like"]).lower() == "true"
    interval = (f" (5-95 %: {_fmt(r0['run_p05_MtCO2'], 0)} to {_fmt(r0['run_p95_MtCO2'], 0)})"
                if np.isfinite(r0["run_p05_MtCO2"]) else " (no Monte Carlo: no interval)")
    lines = ["", "## Reconciliation with published estimates", "",
             f"Terrestrial net sink of this run: **{_fmt(r0['run_sink_MtCO2'], 0)} Mt CO2 yr-1**{interval}, beside "
             "published estimates of China's national terrestrial sink (`tables/reconciliation.csv`; "
             "1 Pg C = 3,667 Mt CO2)."
             + ("" if like else f" **Not like for like**: the run covers the {scope.assessed} only; the last column "
                                f"is their share of each national estimate."), "",
             "| source | period | method | central (range) Mt CO2 yr-1 | lateral export counted | managed land only | "
             f"evidence | {'this run' if like else 'share of the estimate'} |", "|---|---|---|---:|---|---|---|---|"]
    for r in rec.itertuples():
        where = r.position if like else f"{_fmt(r.run_share_of_central_pct, 1)} %"
        central = _range(r.low_MtCO2, r.central_MtCO2, r.high_MtCO2)
        lateral, managed = ("yes" if str(x) == "True" else "no" for x in (r.includes_lateral, r.managed_land_only))
        lines.append(f"| {r.source} | {r.period} | {r.method_class} | {central} | {lateral} | {managed} | "
                     f"{r.evidence} | {where} |")
    return lines


def _unconfirmed(run_dir: Path) -> str:
    path = run_dir / "tables" / "coefficients.csv"
    if not path.exists():
        return ""
    c = pd.read_csv(path)
    bad = c[c["evidence"].astype(str).str.contains("M")]
    return "; ".join(f"{r.table} {r.ecosystem} {r.item}" for r in bad.itertuples())

"""``report.md``: a short, readable summary built from the run directory alone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


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
    lines = [
        f"# Carbon-sink budget: {cfg['name']}",
        "",
        f"Sinks are positive (removal from the atmosphere). Units: Mt CO2 yr-1 unless stated. "
        f"Emissions: inventory year {int(bud['emissions_year'].dropna().iloc[0]) if bud['emissions_year'].notna().any() else 'n/a'}.",
        "",
        "## Headline",
        "",
        f"- Net carbon sink assessed: **{_fmt(v['sink_total'])} Mt CO2 yr-1** "
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
                     "the national sink but not netted against emissions.")
    if "scenario_sink_2060_low" in v:
        if "assessed_sink_GtCO2" in v:
            sentence = bal.loc["assessed_sink_GtCO2", "note"]
        else:  # a run directory written before the balance stated it
            from .balance import scheme_sentence

            sentence = scheme_sentence(v["sink_total"], v["scenario_sink_2060_low"], v["scenario_sink_2060_high"])
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
    lines += ["", "*unallocated*: pixels no region covers (sea beyond the offshore zones, slivers between "
              "coastlines), counted so that regions plus unallocated add up to the whole map.", "",
              "## Gross and net by ecosystem (all regions)", "",
              "| realm | ecosystem | area km2 | gross removal Mg C yr-1 | gross emission Mg C yr-1 | net sink Mg C yr-1 "
              "| net g C m-2 yr-1 |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in eco.itertuples():
        dens = r.sink_MgC_yr / r.area_km2 if r.area_km2 else float("nan")  # Mg per km2 = g per m2
        lines.append(f"| {r.realm} | {r.ecosystem} | {_fmt(r.area_km2, 0)} | {_fmt(r.removal_MgC_yr, 0)} | "
                     f"{_fmt(r.emission_MgC_yr, 0)} | {_fmt(r.sink_MgC_yr, 0)} | {_fmt(dens, 1)} |")
    lines += _optional_sections(run_dir)
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
              + "".join(f" {k}: {v}." for k, v in qa.items() if k.startswith("flux_missing")),
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


def _optional_sections(run_dir: Path) -> list[str]:
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
                lines.append(f"\nNational emissions changed {_fmt(n['emissions_MtCO2_slope_per_yr'])} Mt CO2 per year "
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


def _unconfirmed(run_dir: Path) -> str:
    path = run_dir / "tables" / "coefficients.csv"
    if not path.exists():
        return ""
    c = pd.read_csv(path)
    bad = c[c["evidence"].astype(str).str.contains("M")]
    return "; ".join(f"{r.table} {r.ecosystem} {r.item}" for r in bad.itertuples())

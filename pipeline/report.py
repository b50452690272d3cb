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
    if "scenario_sink_2060_low" in v:
        lines.append(
            f"- Against the 2060 neutrality scheme's ecosystem sink of {_fmt(v['scenario_sink_2060_low'] / 1000)}-"
            f"{_fmt(v['scenario_sink_2060_high'] / 1000)} Gt CO2 yr-1 ({bal.loc['scenario_sink_2060_low', 'note']}), "
            f"the assessed sink is {_fmt(v['assessed_sink_share_of_2060_high'])}-"
            f"{_fmt(v['assessed_sink_share_of_2060_low'])} % of it.")
    lines += ["", "## Budgets by region", "",
              "| region | area km2 | terrestrial | inland water | ocean | total sink | emissions | net emission | offset % |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in bud.itertuples():
        lines.append(f"| {r.region} | {_fmt(r.area_km2, 0)} | {_fmt(r.sink_terrestrial_MtCO2, 2)} | "
                     f"{_fmt(r.sink_water_MtCO2, 2)} | {_fmt(r.sink_ocean_MtCO2, 2)} | {_fmt(r.sink_total_MtCO2, 2)} | "
                     f"{_fmt(r.emissions_MtCO2, 1)} | {_fmt(r.net_MtCO2, 1)} | {_fmt(r.sink_offset_pct, 1)} |")
    eco = reco.groupby(["realm", "ecosystem"], sort=False)[["area_km2", "sink_MgC_yr"]].sum().reset_index()
    lines += ["", "*unallocated*: pixels no region covers (sea beyond the offshore zones, slivers between "
              "coastlines), counted so that regions plus unallocated add up to the whole map.", "",
              "## Sink by ecosystem (all regions)", "", "| realm | ecosystem | area km2 | sink Mg C yr-1 | g C m-2 yr-1 |",
              "|---|---|---:|---:|---:|"]
    for r in eco.itertuples():
        dens = r.sink_MgC_yr * 1e6 / (r.area_km2 * 1e6) if r.area_km2 else float("nan")  # Mg->g, km2->m2
        lines.append(f"| {r.realm} | {r.ecosystem} | {_fmt(r.area_km2, 0)} | {_fmt(r.sink_MgC_yr, 0)} | {_fmt(dens, 1)} |")
    qa = manifest["qa"]
    lines += ["", "## Methods and sources", "",
              f"- Terrestrial: {cfg['sinks']['terrestrial']['method']}; inland water: "
              f"{cfg['sinks']['inland_water']['method']}; ocean: {cfg['sinks']['ocean']['method']}. "
              f"Coefficients and their sources: `{Path(cfg['sinks']['coefficients']).name}`.",
              f"- Analysis grid: {manifest['grid']['crs']}, {manifest['grid']['shape'][0]} x {manifest['grid']['shape'][1]} "
              f"pixels; border pixels shared by exact covered fraction ({qa['region_border_px']} shared pixels).",
              f"- QA: {qa['nodata_px']} nodata pixels, {qa['unknown_px']} unknown-class pixels, "
              f"{qa['unallocated_km2']:,.0f} km2 unallocated."
              + "".join(f" {k}: {v}." for k, v in qa.items() if k.startswith("flux_missing")),
              "", "## Provenance", ""]
    for k, inp in manifest["inputs"].items():
        lines.append(f"- {k}: `{Path(inp['path']).name}` (sha256 {inp['sha256'][:12]}...)")
    lines += ["", f"carbon-sink {manifest['carbon_sink_version']}; full details in `manifest.json`.", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

"""``report.html`` and regional pages: self-contained HTML built from the run directory alone.

Everything on a page is inline: CSS in a ``<style>`` element, figures as base64 PNG data URIs, so a
page opens offline, can be mailed as one file, and loads nothing from the network. The inputs are
the run directory's ``tables/*.csv``, ``maps/sink_total.tif``, ``budget.gpkg`` (layer ``regions``)
and ``manifest.json``, plus the scenario file the manifest's config names (published figures to
compare with). Every number is printed with its units.

Entry points: :func:`write_html_report` (``RUN_DIR/report.html``) and :func:`write_region_page`
(``RUN_DIR/regions/<slug>.html``). The numbers behind the pages come from small functions
(:func:`region_standing`, :func:`comparison_rows`, :func:`pipeline.figures.waterfall_data`) that tests
check against the tables.
"""

from __future__ import annotations

import base64
import difflib
import html
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .config import DEFAULT_SCENARIO
from .errors import InputError, OutputError
from .units import MgC_to_MtCO2

log = logging.getLogger("carbon_sink")

MT = "Mt CO2 yr-1"
MTE = "Mt CO2e yr-1"
UNALLOCATED = "unallocated"
#: Ids under which an uncertainty table may give the nation's rows.
NATION_IDS = ("nation", "national", "all", "total")
#: The seed paper's figures (Gt CO2 yr-1, and its published sink estimates): the default scenario, shown
#: when the config names no scenario file or the file offers nothing to compare with. The same dict as
#: :data:`pipeline.config.DEFAULT_SCENARIO` (= configs/scenarios/yu2022_2060.yaml).
SEED_PAPER = DEFAULT_SCENARIO
#: Scenario keys -> (label, balance item they compare with, or None). Figures of another year than the
#: run's (the 2030 peak, 2060 CCUS) are shown as a trajectory, never as a share; the national emissions
#: of a year compare with the run's emissions of that year only. The 2060 sink target is the scheme's
#: yardstick for today's sink (the seed paper's comparison), shown as a share labelled so.
_SCENARIO_KEYS = {
    "national_emissions": ("national CO2 emissions", "emissions"),
    "peak_emissions": ("peak CO2 emissions", None),
    "direct_reduction_2060": ("direct emission reduction by 2060", None),
    "residual_emissions_2060": ("residual emissions in 2060", None),
    "ecosystem_sink_2060": ("ecosystem carbon sink needed in 2060", "sink_total"),
    "ccus_2060": ("CCUS in 2060", None),
}
#: Column-name suffixes of the tables -> units.
_SUFFIX_UNITS = (("_MtCO2e", "Mt CO2e yr-1"), ("_MtCO2", "Mt CO2 yr-1"), ("per_capita_tCO2", "t CO2 per person yr-1"),
                 ("_km2", "km2"), ("_pct", "%"), ("_MgC_yr", "Mg C yr-1"), ("population", "persons"),
                 ("_year", "year"))


class UnknownRegionError(InputError):
    """``--region NAME`` names no region of the run."""


def _fg():
    """:mod:`pipeline.figures`, imported on first use (matplotlib is not needed to import the package)."""
    from . import figures

    return figures


# --- reading the run directory ------------------------------------------------------------------
@dataclass
class RunData:
    """What a report reads from a run directory."""

    run_dir: Path
    manifest: dict
    budgets: pd.DataFrame
    balance: pd.DataFrame
    region_eco: pd.DataFrame
    coefficients: pd.DataFrame | None
    uncertainty: pd.DataFrame | None

    def table(self, name: str, **kw) -> pd.DataFrame | None:
        path = self.run_dir / "tables" / f"{name}.csv"
        return pd.read_csv(path, **kw) if path.exists() else None

    def regions(self):
        """Layer ``regions`` of ``budget.gpkg`` (region polygons, land and offshore zone), or None."""
        import geopandas as gpd

        path = self.run_dir / "budget.gpkg"
        if not path.exists():
            return None
        g = gpd.read_file(path, layer="regions")
        g["region_id"] = g["region_id"].astype(str)
        return g

    @property
    def map_path(self) -> Path:
        return self.run_dir / "maps" / "sink_total.tif"

    @property
    def scope(self):
        """The run's :class:`pipeline.balance.Scope` (national, or N assessed regions), from manifest.json."""
        from .balance import Scope

        return Scope.from_run(self.manifest, self.budgets)

    @property
    def year(self) -> int | None:
        """The emissions year of the run (None without an inventory)."""
        years = self.budgets["emissions_year"].dropna() if "emissions_year" in self.budgets else []
        return int(years.iloc[0]) if len(years) else None


def _latest_year(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Rows of the latest year when a table holds a time series (a ``year`` column with several years)."""
    if df is None or "year" not in df or df["year"].nunique() <= 1:
        return df
    return df[df["year"] == df["year"].max()].reset_index(drop=True)


def read_run(run_dir: str | Path) -> RunData:
    """Read the tables and manifest of a run directory.

    Raises
    ------
    InputError
        If ``run_dir`` is not a run directory written by ``carbon-sink run``.
    """
    run_dir = Path(run_dir)
    needed = ["manifest.json", "tables/budgets.csv", "tables/balance.csv", "tables/region_ecosystem.csv"]
    lacking = [n for n in needed if not (run_dir / n).is_file()]
    if lacking:
        raise InputError(f"{run_dir}: not a carbon-sink run directory (missing {', '.join(lacking)}). "
                         "Fix: give the folder that `carbon-sink run` wrote (its --out)")
    ids = {"region_id": str}
    tables = run_dir / "tables"
    unc = tables / "uncertainty.csv"
    coef = tables / "coefficients.csv"
    return RunData(
        run_dir=run_dir,
        manifest=json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")),
        budgets=_latest_year(pd.read_csv(tables / "budgets.csv", dtype=ids)),
        balance=_latest_year(pd.read_csv(tables / "balance.csv")),
        region_eco=_latest_year(pd.read_csv(tables / "region_ecosystem.csv", dtype=ids)),
        coefficients=pd.read_csv(coef) if coef.exists() else None,
        uncertainty=_latest_year(pd.read_csv(unc, dtype=ids)) if unc.exists() else None,
    )


# --- formatting -----------------------------------------------------------------------------------
def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x, nd: int | None = 1) -> str:
    """A number with thousands separators and ``nd`` decimals (``None``: 1 decimal from 100 up, 2 from 1,
    else 3 significant digits, so small regions' totals do not print as 0.0); ``n/a`` when missing."""
    try:
        if x is None or pd.isna(x):
            return "n/a"
    except (TypeError, ValueError):
        return _e(x)
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    x = float(x)
    if nd is None:
        if x == 0 or abs(x) >= 1:
            nd = 1 if abs(x) >= 100 else 2
        else:
            return f"{x:.3g}"
    text = f"{x:,.{nd}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no "-0.0"


def _q(x, units: str, nd: int | None = None) -> str:
    """A number with its units (``n/a`` without units when missing)."""
    s = _fmt(x, nd)
    return s if s == "n/a" else f'<span class="nw">{s}&nbsp;{_e(units)}</span>'


def units_of(column: str) -> str:
    """Units of a table column from its suffix (``sink_total_MtCO2`` -> ``Mt CO2 yr-1``)."""
    for suffix, units in _SUFFIX_UNITS:
        if column.endswith(suffix):
            return units
    return ""


def _u(units) -> str:
    """Units that never wrap inside a table cell."""
    return f'<span class="nw">{_e(units)}</span>'


def _img(png: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{_e(alt)}">'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None, cls: str = "",
           row_classes: list[str] | None = None) -> str:
    """An HTML table; cells are already escaped HTML; ``numeric`` columns are right-aligned."""
    numeric = numeric or set()
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{h}</th>' for i, h in enumerate(headers))
    body = []
    for k, row in enumerate(rows):
        rc = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>' for i, c in enumerate(row))
        body.append(f"<tr{rc}>{cells}</tr>")
    return (f'<div class="tw"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table></div>")


def _collapsible(summary: str, inner: str, rows: int, limit: int = 25) -> str:
    if rows <= limit:
        return inner
    return f"<details><summary>{summary} ({rows} rows)</summary>{inner}</details>"


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{_img(png, alt)}<figcaption>{caption}</figcaption></figure>"


CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#1f2328;background:#fff;margin:0}
main{max-width:1080px;margin:0 auto;padding:18px 28px 40px}
h1{font-size:1.6em;margin:.2em 0 .1em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:2px solid #2e8b57;
padding-bottom:.2em}h3{font-size:1.05em;margin-top:1.3em}
p.lead{color:#57606a;margin-top:0}.note{color:#57606a;font-size:.88em}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid #d0d7de;border-left:5px solid #2e8b57;border-radius:6px;padding:8px 12px;min-width:150px;
background:#f6f8fa}.card.em{border-left-color:#b5532a}.card.net{border-left-color:#46505a}
.card .v{font-size:1.35em;font-weight:bold}.card .u{font-size:.8em;color:#57606a}.card .l{font-size:.85em}
.tw{overflow-x:auto;margin:8px 0 14px}table{border-collapse:collapse;font-size:.82em;width:100%}
th,td{border-bottom:1px solid #d8dee4;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.num,th.num{text-align:right}td.num{white-space:nowrap}.nw{white-space:nowrap}
tr.unconfirmed td{background:#fff4e5}span.badge{background:#b5532a;color:#fff;border-radius:3px;padding:0 4px;
font-size:.8em;white-space:nowrap}
figure{margin:10px 0 18px}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{font-size:.85em;color:#57606a}
code,.mono{font-family:"DejaVu Sans Mono",monospace;font-size:.9em;word-break:break-all}
details summary{cursor:pointer;color:#0b5394;margin:6px 0}
p.error{background:#ffebe9;border:1px solid #cf222e;padding:6px 10px}
nav a{margin-right:12px}
"""


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main></body></html>\n")


def _section(sid: str, title: str, render) -> str:
    """A section; an unexpected failure shows as a note in the page instead of losing the whole report."""
    try:
        inner = render()
    except Exception as exc:  # a broken figure must not lose a finished run's report
        log.warning("report.html: section '%s' could not be drawn: %s", title, exc, exc_info=True)
        inner = f'<p class="error">This section could not be drawn ({_e(type(exc).__name__)}: {_e(exc)}).</p>'
    if inner is None:
        return ""
    return f'<section id="{sid}"><h2>{_e(title)}</h2>\n{inner}\n</section>\n'


def _write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({exc.strerror}). Fix: make the run directory writable") from None
    return path


# --- numbers behind the pages -----------------------------------------------------------------------
def region_standing(budgets: pd.DataFrame, region_id: str) -> dict:
    """A region's rank among the regions and its share of the nation, from ``tables/budgets.csv``.

    Ranks count regions only (not *unallocated*), 1 = largest: by total sink (``sink_total_MtCO2``)
    and by net emission (``net_MtCO2``; regions without an inventory are not ranked). Ties share the
    better rank. Shares are percentages of the nation = every row of the table, regions plus
    *unallocated*, as the national balance sums them.
    """
    b = budgets.assign(region_id=budgets["region_id"].astype(str))
    row = b.loc[b["region_id"] == str(region_id)].iloc[0]
    regions = b[b["region_id"] != UNALLOCATED]

    def rank(col):
        vals = regions[col].astype(float).dropna()
        x = float(row[col])
        return (None if np.isnan(x) else int((vals > x).sum()) + 1), int(len(vals))

    def share(col):
        if col not in b:
            return np.nan
        total = b[col].astype(float).sum(min_count=1)
        x = float(row[col])
        return 100.0 * x / total if total and np.isfinite(total) and not np.isnan(x) else np.nan

    sink_rank, n_sink = rank("sink_total_MtCO2")
    net_rank, n_net = rank("net_MtCO2")
    out = {"region_id": str(row["region_id"]), "region": str(row["region"]),
           "rank_sink": sink_rank, "n_sink": n_sink, "rank_net": net_rank, "n_net": n_net}
    for key, col in (("area", "area_km2"), ("gross_removal", "gross_removal_MtCO2"), ("sink", "sink_total_MtCO2"),
                     ("emissions", "emissions_MtCO2"), ("net", "net_MtCO2"), ("population", "population")):
        out[f"share_{key}_pct"] = share(col)
    return out


def find_region(budgets: pd.DataFrame, name: str) -> str:
    """The id of the region whose name or id is ``name`` (case-insensitive).

    Raises
    ------
    UnknownRegionError
        Naming the closest region names, and the regions of the run.
    """
    b = budgets[budgets["region_id"].astype(str) != UNALLOCATED]
    key = str(name).strip().casefold()
    for rid, rname in zip(b["region_id"].astype(str), b["region"].astype(str)):
        if key in (rid.casefold(), rname.casefold(), region_slug(rname, rid)):
            return rid
    names = b["region"].astype(str).tolist()
    folded = {n.casefold(): n for n in names}
    close = [folded[c] for c in difflib.get_close_matches(key, list(folded), n=3, cutoff=0.4)]
    close += [n for n in names if key and key in n.casefold() and n not in close]
    hint = f" Closest: {', '.join(repr(c) for c in close[:3])}." if close else ""
    listing = ", ".join(f"{n} ({i})" for n, i in zip(names[:40], b["region_id"].astype(str)[:40]))
    raise UnknownRegionError(f"no region named '{name}' in this run.{hint} Regions (name or id, any case): "
                             f"{listing}{' ...' if len(names) > 40 else ''}")


def region_slug(name: str, region_id: str) -> str:
    """File-name slug of a region: its name in lower-case ASCII words joined by '-', else its id."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or re.sub(r"[^A-Za-z0-9_-]+", "-", str(region_id)).strip("-") or "region"


def _scenario(manifest: dict) -> tuple[dict, str]:
    """The scenario dict the run's config names, and a note on where it came from."""
    path = ((manifest.get("config") or {}).get("balance") or {}).get("scenario")
    if path and Path(path).is_file():
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            if isinstance(data, dict):
                return data, f"scenario file <code>{_e(Path(path).name)}</code>"
        except (OSError, yaml.YAMLError) as exc:
            return {}, f"the scenario file {_e(path)} could not be read ({_e(exc)})"
    if not path:
        return SEED_PAPER, ("the default scenario (the run's config names no scenario file): the seed paper's "
                            f"figures, {_e(SEED_PAPER['source'])}")
    return {}, f"the scenario file {_e(path)} is not on this machine"


#: Realm of a published sink -> the balance item it compares with.
_REALM_ITEM = {"terrestrial": "sink_terrestrial", "inland_water": "sink_water", "water": "sink_water",
               "ocean": "sink_ocean", "total": "sink_total", "all": "sink_total"}


def to_MtCO2(value, units: str) -> float:
    """A published mass rate (e.g. ``0.2 Pg C yr-1``) in Mt CO2 yr-1.

    Raises
    ------
    ValueError
        For units other than :func:`pipeline.reconciliation.accepted_rate_units` (Pg, Gt, Tg, Mt, ... of C,
        CO2 or CO2e per year).
    """
    from .reconciliation import rate_to_MtCO2

    return rate_to_MtCO2(value, units)


def comparison_rows(balance: pd.DataFrame, scenario: dict, year: int | None = None) -> list[dict]:
    """Published figures of ``scenario`` beside the run's national totals, in Mt CO2 yr-1.

    Understood: the seed paper's keys (``ecosystem_sink_2060_GtCO2``, ``ccus_2060_GtCO2``,
    ``national_emissions_<year>_GtCO2``, ``peak_emissions_GtCO2``, ...: a number or ``{low, high[,
    year]}`` in Gt CO2 yr-1) and the list ``published_sinks`` (``name, realm, period, low, central,
    high, units, source``; units such as ``Pg C yr-1``), each compared with the run's sink of that realm.
    Each row: label, period, low, central, high (Mt CO2 yr-1; central None for a bare range),
    published (the figure as published, with its units), item (the balance item compared with),
    assessed (Mt CO2 yr-1, or None), share_pct (assessed as % of the central value, or of each end of
    a range: share_low_pct uses ``low``), source, kind (``scheme`` or ``published``), realm. The
    national emissions of a year are compared with the run's emissions only when ``year`` (the run's
    emissions year) is that year; the peak, CCUS and other years' figures are never compared
    (:func:`pipeline.balance.trajectory_rows` shows them year against year).
    """
    v = balance.set_index("item")["value"].astype(float)
    run_year = year
    default_src = str(scenario.get("source", scenario.get("name", "")))
    rows = []

    def add(label, period, lo, central, hi, published, item, src, kind="scheme", realm=""):
        assessed = float(v[item]) if item and item in v and np.isfinite(v[item]) else None

        def pct(x):
            return 100.0 * assessed / x if assessed is not None and x else np.nan

        rows.append({"label": label, "period": "" if period is None else str(period), "low": lo, "central": central,
                     "high": hi, "published": published, "item": item, "assessed": assessed,
                     "share_pct": pct(central), "share_low_pct": pct(lo), "share_high_pct": pct(hi), "source": src,
                     "kind": kind, "realm": realm})

    for key, value in scenario.items():
        m = re.fullmatch(r"(.+?)(?:_(\d{4}))?_GtCO2", str(key))
        if not m or value is None:
            continue
        stem, year = m.group(1), m.group(2)
        label, item = _SCENARIO_KEYS.get(stem, _SCENARIO_KEYS.get(f"{stem}_{year}", (stem.replace("_", " "), None)))
        if isinstance(value, dict):
            lo, hi, central = value.get("low"), value.get("high"), value.get("central", value.get("value"))
            year = value.get("year", year)
        else:
            lo = hi = None
            central = value
        if "2060" in str(key):
            year = year or 2060
        if stem == "national_emissions" and (run_year is None or str(year) != str(run_year)):
            item = None  # another year's emissions: in the trajectory, not compared
        nums = [x for x in (lo, central, hi) if x is not None]
        if not nums:
            continue
        text = (f"{central:g}" if central is not None else "") + (
            f"{' (' if central is not None else ''}{lo:g}-{hi:g}{')' if central is not None else ''}"
            if lo is not None and hi is not None else "")
        add(label, year, None if lo is None else lo * 1000.0, None if central is None else central * 1000.0,
            None if hi is None else hi * 1000.0, f"{text} Gt CO2 yr-1", item, default_src)
    for est in scenario.get("published_sinks", []) or []:
        if not isinstance(est, dict):
            continue
        units = est.get("units", "Pg C yr-1")
        lo, central, hi = est.get("low"), est.get("central", est.get("value")), est.get("high")
        try:
            conv = [None if x is None else to_MtCO2(x, units) for x in (lo, central, hi)]
        except ValueError:
            continue
        realm = str(est.get("realm", "total"))
        nums = [x for x in (lo, central, hi) if x is not None]
        if not nums:
            continue
        text = (f"{central:g}" if central is not None else "") + (
            f" ({lo:g} to {hi:g})" if lo is not None and hi is not None else "")
        add(f"{est.get('name', 'estimate')} ({realm.replace('_', ' ')})", est.get("period", est.get("year")),
            conv[0], conv[1], conv[2], f"{text.strip()} {units}", _REALM_ITEM.get(realm, "sink_total"),
            est.get("source", default_src), "published", realm)
    return rows


#: Quantities of tables/uncertainty.csv -> the item of tables/balance.csv holding their central estimate.
_CENTRAL_ITEM = {"sink_total_MtCO2": "sink_total", "sink_terrestrial_MtCO2": "sink_terrestrial",
                 "sink_water_MtCO2": "sink_water", "sink_ocean_MtCO2": "sink_ocean", "net_MtCO2": "net_emission",
                 "net_all_MtCO2e": "net_emission_all", "non_co2_MtCO2e": "non_co2_emission",
                 "inorganic_sink_MtCO2": "inorganic_sink", "emissions_MtCO2": "emissions"}


def uncertainty_rows(unc: pd.DataFrame, balance: pd.DataFrame, region_id: str | None = None,
                     budgets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of ``tables/uncertainty.csv`` for the nation (``region_id`` None) or one region, with a
    ``label``, ``units`` and the run's ``central`` estimate (from balance.csv for the nation, from the
    region's row of budgets.csv for a region; NaN when the tables have none)."""
    u = unc.assign(region_id=unc["region_id"].astype(str))
    if region_id is None:
        sel = u[u["region_id"].str.casefold().isin(NATION_IDS)]
    else:
        sel = u[u["region_id"] == str(region_id)]
    sel = sel.dropna(subset=["p05", "p50", "p95"]).copy()
    bal = balance.set_index("item")
    bal_units = bal["units"].to_dict() if "units" in bal else {}

    def units(r):
        if isinstance(r.get("units"), str) and r["units"]:
            return r["units"]
        return units_of(str(r["quantity"])) or bal_units.get(str(r["quantity"]), "units as in tables/balance.csv")

    def central(q):
        if region_id is None:
            item = _CENTRAL_ITEM.get(q, q)
            return float(bal.loc[item, "value"]) if item in bal.index else np.nan
        if budgets is not None and q in budgets:
            row = budgets.loc[budgets["region_id"].astype(str) == str(region_id), q]
            return float(row.iloc[0]) if len(row) and pd.notna(row.iloc[0]) else np.nan
        return np.nan

    sel["units"] = [units(r) for _, r in sel.iterrows()] if len(sel) else []
    sel["label"] = [_quantity_label(str(q)) for q in sel["quantity"]]
    sel["central"] = [central(str(q)) for q in sel["quantity"]]
    return sel.reset_index(drop=True)


def _quantity_label(q: str) -> str:
    base = re.sub(r"_(MtCO2e?|MgC_yr|km2|pct)$", "", q)
    return {"sink_total": "total sink", "net": "net emission", "sink_water": "inland-water sink"}.get(
        base, base.replace("_", " "))


# --- report.html ------------------------------------------------------------------------------------
def write_html_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` (self-contained) from the run directory; return its path."""
    data = read_run(run_dir)
    m = data.manifest
    name = (m.get("config") or {}).get("name", data.run_dir.name)
    bal = data.balance.set_index("item")
    n_regions = int((data.budgets["region_id"] != UNALLOCATED).sum())
    regions_gdf = None
    try:
        regions_gdf = data.regions()
    except Exception as exc:  # the page still has its tables without the polygons
        log.warning("report.html: budget.gpkg layer 'regions' could not be read: %s", exc)
    year = str(data.year) if data.year is not None else "n/a"
    scope = data.scope
    sections = [
        _section("summary", scope.summary_title, lambda: _summary(bal, data)),
        _section("balance", "Neutrality balance", lambda: _balance_section(data.balance)),
        _section("years", "Emissions and net emission by year", lambda: _timeseries_section(data)),
        _section("maps", "Sink density map", lambda: _map_section(data, regions_gdf)),
        _section("net-map", "Net emission by region", lambda: _choropleth_section(data, regions_gdf)),
        _section("regions", "Sinks by realm and region", lambda: _regions_section(data)),
        _section("ecosystems", "Region x ecosystem", lambda: _ecosystem_section(data)),
        _section("products", "Flux products, seas and land outside the regions", lambda: _products_section(data)),
        _section("uncertainty", "Uncertainty", lambda: _uncertainty_section(data)),
        _section("comparison", "The 2060 scheme: trajectory and shares", lambda: _comparison_section(data)),
        _section("reconciliation", "Reconciliation with published estimates", lambda: _reconciliation_section(data)),
        _section("methods", "Methods, coefficients and sources", lambda: _methods_section(data)),
        _section("provenance", "Provenance", lambda: _provenance_section(data)),
    ]
    short = {"summary": "Summary", "balance": "Balance", "years": "Years", "maps": "Maps", "regions": "Regions",
             "uncertainty": "Uncertainty", "comparison": "Scheme", "reconciliation": "Reconciliation",
             "methods": "Methods", "provenance": "Provenance"}
    nav = " ".join(f'<a href="#{sid}">{label}</a>' for sid, label in short.items()
                   if any(sec.startswith(f'<section id="{sid}">') for sec in sections))
    head = [f"<h1>Carbon-sink budget: {_e(name)}</h1>",
            f'<p class="lead">{_e(_scope_lead(scope, n_regions))}; emissions of {_e(year)}. '
            "Sinks are positive (removal from the atmosphere); totals in Mt CO2 yr-1, densities in g C m-2 yr-1 "
            f"(1 g C = 44/12 g CO2).</p><nav>{nav}</nav>"]
    return _write(data.run_dir / "report.html", _page(f"Carbon-sink budget: {name}", "\n".join(head + sections)))


def _scope_lead(scope, n_regions: int) -> str:
    """The report's opening words on what the run covers."""
    if scope.national:
        return f"National run: {n_regions} {scope.level} and the unallocated remainder"
    return (f"{scope.assessed[0].upper()}{scope.assessed[1:]} (some of the country's {scope.level}, not all) and the "
            "unallocated remainder: every total is theirs, not national")


def _card(label: str, value, units: str, cls: str = "", nd: int | None = None, text: str | None = None) -> str:
    """A key figure: label, the number (or ``text``) and its units."""
    shown = text if text is not None else _fmt(value, nd)
    return (f'<div class="card {cls}"><div class="l">{_e(label)}</div><div class="v">{shown}</div>'
            f'<div class="u">{_e(units)}</div></div>')


def _summary(bal: pd.DataFrame, data: RunData) -> str:
    v = bal["value"]
    g = v.get
    cards = [_card("net carbon sink", g("sink_total"), MT), _card("gross removal", g("gross_removal"), MT),
             _card("gross emission of the sink realms", g("gross_emission"), MT, "em"),
             _card("CO2 emissions (inventory)", g("emissions"), MT, "em"),
             _card("net emission", g("net_emission"), MT, "net"),
             _card("sinks offset", g("sink_offset"), "% of emissions", "net")]
    if "net_emission_all" in v:
        cards.append(_card("net, all gases", g("net_emission_all"), MTE, "net"))
    parts = [f'<div class="cards">{"".join(cards)}</div>']
    scope = data.scope
    whose = "The assessed net sink" if scope.national else f"The net sink of the {_e(scope.assessed)}"
    sent = (f"{whose} is {_q(g('sink_total'), MT)} (terrestrial {_q(g('sink_terrestrial'), MT)}, "
            f"inland water {_q(g('sink_water'), MT)}, ocean {_q(g('sink_ocean'), MT)})")
    if np.isfinite(g("emissions", np.nan)):
        sent += (f"; against emissions of {_q(g('emissions'), MT)} it leaves a net emission of "
                 f"{_q(g('net_emission'), MT)} (CCUS {_q(g('ccus'), MT)}).")
    else:
        sent += "; the run has no emission inventory, so no net emission is given."
    scheme = _scheme_sentence(bal, scope)
    if scheme:
        sent += f" Against the 2060 neutrality scheme, {_e(scheme)} ({_e(_scheme_source(bal))})."
    parts.append(f"<p>{sent}</p>")
    missing = data.budgets.loc[data.budgets["emissions_MtCO2"].isna(), "region"].astype(str).tolist()
    if missing:
        parts.append(f'<p class="note">No emission inventory for: {_e(", ".join(missing))} (shown as "no inventory", '
                     "never as zero).</p>")
        if "sink_no_inventory" in v and np.isfinite(g("emissions", np.nan)):
            parts.append(f'<p class="note">Like for like: the net emission and the offset share cover the regions '
                         f"with an inventory (and unallocated waters, national CCUS); the sink of the regions "
                         f"without one, {_q(g('sink_no_inventory'), MT)}, is in the total sink of "
                         f"{_e(data.scope.whole)} but not netted against emissions.</p>")
    rows = [[_e(i), _fmt(r.value, 2 if abs(r.value) < 100 else 1) if pd.notna(r.value) else "n/a", _e(r.units),
             _e(r.note if isinstance(r.note, str) else "")] for i, r in bal.iterrows()]
    parts.append(_collapsible("The balance table (tables/balance.csv)",
                              _table(["item", "value", "units", "note"], rows, {1}), len(rows), limit=0))
    return "\n".join(parts)


def _scheme_sentence(bal: pd.DataFrame, scope=None) -> str:
    """The balance's "the assessed ecosystem sink is X Gt CO2/yr, Y % of the 2.0-2.5 Gt the 2060 scheme
    assumes" (the note of ``assessed_sink_GtCO2``; rebuilt from the shares for older run directories)."""
    if "assessed_sink_GtCO2" in bal.index and isinstance(bal.loc["assessed_sink_GtCO2", "note"], str):
        return bal.loc["assessed_sink_GtCO2", "note"]
    v = bal["value"]
    if {"sink_total", "scenario_sink_2060_low", "scenario_sink_2060_high"} <= set(v.index):
        from .balance import scheme_sentence

        return scheme_sentence(v["sink_total"], v["scenario_sink_2060_low"], v["scenario_sink_2060_high"], scope)
    return ""


def _scheme_source(bal: pd.DataFrame) -> str:
    note = bal["note"].get("scenario_sink_2060_low") if "note" in bal else None
    return note if isinstance(note, str) and note else "scenario"


def _balance_section(balance: pd.DataFrame) -> str:
    fg = _fg()
    wf = fg.waterfall_data(balance)
    png = fg.png_bytes(fg.waterfall_figure(wf))
    rows = [[_e(r.label), _e(r.kind), _fmt(r.value, 1), _fmt(r.delta if r.kind == "step" else r.value, 1),
             _fmt(r.top, 1), _e(r.units)] for r in wf.itertuples()]
    not_netted = (" The regions without an emission inventory are left out of the net (like for like): a step "
                  "of their own adds their sink (and CCUS) back, so the steps add up to the net shown."
                  if wf["item"].str.endswith("_no_inventory").any() else "")
    return (_figure(png, "balance waterfall", "Emissions, minus the net sink of each realm and CCUS, give the net "
                    "emission; non-CO2 gases (CO2e, GWP100) and the inorganic sink follow when assessed. "
                    "Green bars lower the balance, brown bars raise it (a realm that is a net source); the right "
                    "panel, when drawn, shows the steps on their own scale." + not_netted)
            + _table(["step", "bar", "balance value", "change", "running total", "units"], rows, {2, 3, 4}))


def _timeseries_section(data: RunData) -> str | None:
    by_year = data.table("balance_by_year")
    if by_year is None or "year" not in by_year or len(by_year) < 2:
        return None
    fg = _fg()
    parts = [_figure(fg.png_bytes(fg.timeseries_figure(by_year)), "emissions and net emission by year",
                     f"From <code>tables/balance_by_year.csv</code> [{MT}]: emissions of each inventory year against "
                     "the sink of the run's land cover and fluxes (the same sink every year unless the inputs change).")]
    trends = data.table("trends", dtype={"region_id": str})
    if trends is not None and len(trends):
        cols = [c for c in trends.columns if c.endswith(("_slope_per_yr", "_change_pct"))]

        def unit(c):
            return f"{units_of(c.rsplit('_slope', 1)[0])} per year" if c.endswith("_slope_per_yr") else "%"

        rows = [[_e(r["region"]), _u(r.get("years", ""))] + [_fmt(r[c], 1) for c in cols] for _, r in trends.iterrows()]
        heads = ["region", "years"] + [f"{_e(_quantity_label(c.rsplit('_slope', 1)[0].rsplit('_change', 1)[0]))} "
                                       f"{'trend' if c.endswith('_slope_per_yr') else 'change'} [{_e(unit(c))}]"
                                       for c in cols]
        parts.append(_collapsible("Trends (tables/trends.csv)", _table(heads, rows, set(range(2, len(heads)))),
                                  len(rows), limit=12))
    return "\n".join(parts)


def _resolution(manifest: dict) -> str:
    """The analysis grid's pixel size with its units (m, or degrees for a geographic grid)."""
    grid = manifest.get("grid") or {}
    res = (grid.get("transform") or [None])[0]
    if res is None:
        return "n/a"
    crs = str(grid.get("crs", ""))
    geographic = "longlat" in crs or "latlong" in crs or crs.upper() in ("EPSG:4326", "EPSG:4490", "OGC:CRS84")
    return f"{res:g}&nbsp;degree" if geographic else f"{_fmt(res, 0)}&nbsp;m"


def _map_crs(data: RunData):
    import rasterio

    with rasterio.open(data.map_path) as src:
        return src.crs


def _map_section(data: RunData, regions) -> str:
    fg = _fg()
    arr, extent, crs = fg.read_map(data.map_path)
    outlines = list(regions.to_crs(crs).geometry) if regions is not None else []
    fig = fg.sink_map_figure(arr, extent, outlines, title="Net carbon sink density, all realms")
    return _figure(fg.png_bytes(fig), "sink density map",
                   f"<code>maps/sink_total.tif</code> (net sink density [g C m-2 yr-1], sink positive; brown = net "
                   f"source) shown at {arr.shape[1]} x {arr.shape[0]} px (analysis grid {_resolution(data.manifest)})"
                   + "; outlines: the regions of <code>budget.gpkg</code> (land and offshore zone). "
                   "The colour scale is clipped at the 98th percentile of |density|.")


def _choropleth_section(data: RunData, regions) -> str | None:
    fg = _fg()
    if regions is None:
        return '<p class="note">budget.gpkg has no readable layer <code>regions</code>: no map.</p>'
    try:
        crs = _map_crs(data)
    except Exception:
        crs = regions.crs
    ch = fg.choropleth_data(regions.to_crs(crs), data.budgets)
    fig = fg.choropleth_figure(ch, title="Net emission = emissions - sinks - CCUS")
    note = ("; hatched grey: no emission inventory (missing, not zero)" if ch["missing"].any() else "")
    return _figure(fg.png_bytes(fig), "net emission by region",
                   f"Net emission per region [{MT}], from <code>tables/budgets.csv</code>{note}.")


def _region_links(data: RunData) -> dict[str, str]:
    """Links to the regional pages already written (``regions/<slug>.html``), by region id."""
    out = {}
    for r in data.budgets.itertuples():
        slug = region_slug(r.region, r.region_id)
        if (data.run_dir / "regions" / f"{slug}.html").exists():
            out[str(r.region_id)] = f"regions/{slug}.html"
    return out


def _regions_section(data: RunData) -> str:
    fg = _fg()
    b = data.budgets
    png = fg.png_bytes(fg.realm_bars_figure(fg.realm_bars_data(b)))
    cols = ["area_km2", "sink_terrestrial_MtCO2", "sink_water_MtCO2", "sink_ocean_MtCO2", "sink_total_MtCO2",
            "emissions_MtCO2", "net_MtCO2", "sink_offset_pct"]
    labels = ["area", "terrestrial", "inland water", "ocean", "total sink", "emissions", "net emission", "offset"]
    for col, lab in (("non_co2_MtCO2e", "non-CO2"), ("inorganic_sink_MtCO2", "inorganic sink"),
                     ("net_all_MtCO2e", "net, all gases")):
        if col in b:
            cols.append(col)
            labels.append(lab)
    links = _region_links(data)
    rows = []
    for _, r in b.iterrows():
        rid = str(r["region_id"])
        label = f'<a href="{_e(links[rid])}">{_e(r["region"])}</a>' if rid in links else _e(r["region"])
        cells = [label]
        for c in cols:
            x = r[c]
            if c.startswith(("emissions", "net")) and pd.isna(x) and rid != UNALLOCATED:
                cells.append("no inventory")
            else:
                cells.append(_fmt(x, 0 if c == "area_km2" else None))
        rows.append(cells)
    headers = ["region"] + [f"{lab} [{_e(units_of(c))}]" for lab, c in zip(labels, cols)]
    return (_figure(png, "sinks by realm per region", f"Net sink per realm [{MT}], sink positive; realms that are "
                    "net sources extend left of zero; the diamond marks the total.")
            + _table(headers, rows, set(range(1, len(headers))))
            + '<p class="note"><i>unallocated</i>: pixels no region covers (land outside the regions, and sea beyond '
              "the offshore zones: see <a href=\"#products\">below</a>), so that regions plus unallocated add up to "
              "the whole map. Regional pages: <code>carbon-sink report RUN_DIR --region NAME</code>.</p>")


def _ecosystem_rows(reco: pd.DataFrame, with_region: bool) -> tuple[list[str], list[list[str]]]:
    t = reco[reco["area_km2"] > 0]
    headers = (["region"] if with_region else []) + [
        "realm", "ecosystem", "area [km2]", "gross removal [Mg C yr-1]", "gross emission [Mg C yr-1]",
        "net sink [Mg C yr-1]", "net sink [Mt CO2 yr-1]", "net density [g C m-2 yr-1]"]
    rows = []
    for r in t.itertuples():
        dens = r.sink_MgC_yr / r.area_km2 if r.area_km2 else np.nan  # Mg per km2 = g per m2
        rows.append(([_e(r.region)] if with_region else []) + [
            _e(r.realm), _e(r.ecosystem), _fmt(r.area_km2, 0), _fmt(r.removal_MgC_yr, 0), _fmt(r.emission_MgC_yr, 0),
            _fmt(r.sink_MgC_yr, 0), _fmt(MgC_to_MtCO2(r.sink_MgC_yr), 3), _fmt(dens, 1)])
    return headers, rows


def _ecosystem_section(data: RunData) -> str:
    headers, rows = _ecosystem_rows(data.region_eco, with_region=True)
    n = len(headers)
    eco = data.region_eco.groupby(["realm", "ecosystem"], sort=False)[
        ["area_km2", "removal_MgC_yr", "emission_MgC_yr", "sink_MgC_yr"]].sum().reset_index()
    eco["region"] = "all"
    h2, rows2 = _ecosystem_rows(eco, with_region=False)
    return ("<h3>All regions, by ecosystem</h3>" + _table(h2, rows2, set(range(2, len(h2))))
            + "<h3>Each region</h3>"
            + _collapsible("Region x ecosystem (tables/region_ecosystem.csv)",
                           _table(headers, rows, set(range(3, n))), len(rows))
            + '<p class="note">Gross removal minus gross emission is the net sink; the net density is the net sink '
              "over the area.</p>")


def _products_section(data: RunData) -> str | None:
    """Each flux product's own integral beside what was applied (tables/flux_products.csv), each sea's
    flux and its source, and the pixels no region covers split into land and sea."""
    parts = []
    prod = data.table("flux_products", dtype={"region_id": str})
    if prod is not None and not prod.empty:
        regions = prod[prod["region_id"] != UNALLOCATED]
        rows = []
        for name, g in regions.groupby("product", sort=False):
            integral, applied = g["product_integral_MgC_yr"].sum(), g["applied_MgC_yr"].sum()
            causes = {c.removeprefix("on_").removesuffix("_MgC_yr").replace("_", " "): g[c].sum()
                      for c in g.columns if c.startswith("on_")}
            left = ", ".join(f"{k}: {_fmt(MgC_to_MtCO2(v), None)}" for k, v in causes.items() if v)
            rows.append([_e(name), _e(g["realm"].iloc[0]), _fmt(MgC_to_MtCO2(integral), None),
                         _fmt(MgC_to_MtCO2(applied), None),
                         _fmt(100 * (integral - applied) / integral if integral else 0.0, 1),
                         _fmt(MgC_to_MtCO2(g["redistributed_MgC_yr"].sum()), None) if "redistributed_MgC_yr" in g
                         else "0", _e(left or "none"), _fmt(MgC_to_MtCO2(g["outside_domain_MgC_yr"].sum()), None)])
        parts.append("<h3>Flux products: their own integral over the regions, and what was applied</h3>"
                     + _table(["product", "realm", f"integral [{MT}]", f"applied [{MT}]", "not applied %",
                               f"redistributed [{MT}]", f"not applied, by pixels [{MT}]", f"outside its domain [{MT}]"],
                              rows, {2, 3, 4, 5, 7})
                     + '<p class="note">Integral: the product over its domain (land and inland water for a land '
                       "product) in the regions; not applied: its mass on pixels another realm's method counts "
                       "(lakes and rivers), on ecosystems left out, or on pixels without land cover; outside its "
                       "domain: e.g. the sea pixels of a land model's coastal cells, never counted. Per region: "
                       "tables/flux_products.csv.</p>")
    reco = data.region_eco
    sea = reco[(reco["realm"] == "ocean")].groupby("ecosystem", sort=False)[
        ["area_km2", "removal_MgC_yr", "emission_MgC_yr", "sink_MgC_yr"]].sum()
    sea = sea[sea["area_km2"] > 0]
    if not sea.empty:
        coef = data.coefficients
        rows = []
        for eco, r in sea.iterrows():
            src = ""
            if coef is not None:
                c = coef[(coef.get("realm") == "ocean") & (coef.get("ecosystem") == eco)]
                src = "; ".join(sorted(set(c["source"].dropna().astype(str)))) if "source" in c else ""
            net = MgC_to_MtCO2(r["sink_MgC_yr"])
            rows.append([_e(eco.replace("_", " ")), _fmt(r["area_km2"], 0), _fmt(net, None),
                         _fmt(r["sink_MgC_yr"] / r["area_km2"], 1), "sink" if net > 0 else ("source" if net < 0 else "0"),
                         _e(src or "flux raster (see Methods)")])
        parts.append("<h3>Seas and coastal habitats</h3>"
                     + _table(["ecosystem", "area [km2]", f"net sink [{MT}]", "net [g C m-2 yr-1]", "", "source"],
                              rows, {1, 2, 3})
                     + '<p class="note">Air-sea CO2 uptake is a sink, outgassing a source; each sea takes the rate of '
                       "its own polygon (<code>landcover.zones</code>); sea pixels in no zone keep the generic "
                       "marginal-sea rate.</p>")
    qa = data.manifest.get("qa", {})
    if "unallocated_land_km2" in qa:
        rows = [["land outside the regions", _fmt(qa["unallocated_land_km2"], 0),
                 _fmt(qa["unallocated_land_sink_MtCO2"], None)],
                ["sea beyond the offshore zones", _fmt(qa["unallocated_sea_km2"], 0),
                 _fmt(qa["unallocated_sea_sink_MtCO2"], None)]]
        parts.append("<h3>Pixels no region covers (<i>unallocated</i>)</h3>"
                     + _table(["", "area [km2]", f"net sink [{MT}]"], rows, {1, 2})
                     + '<p class="note">Land outside the regions: land beyond the assessed regions\' polygons '
                       "(another region or country, or slivers between coastlines). Both rows are in the whole "
                       "map's totals (tables/balance.csv sums the regions and <i>unallocated</i>), in no region's.</p>")
    return "".join(parts) or None


def _uncertainty_section(data: RunData) -> str:
    fg = _fg()
    if data.uncertainty is None:
        return ('<p class="note">No <code>tables/uncertainty.csv</code> in this run: the numbers above are central '
                "estimates. The low and high coefficients of each source are in the methods section.</p>")
    unc = data.uncertainty
    nat = uncertainty_rows(unc, data.balance)
    parts = []
    if len(nat):
        parts.append(_figure(fg.png_bytes(fg.uncertainty_figure(nat)), "uncertainty intervals",
                             f"Totals of {_e(data.scope.whole)}: 5th-95th percentile of the Monte Carlo draws "
                             "(line), median (dot), "
                             "and the central estimate of tables/balance.csv (tick), each on its own axis."))
        cols = [c for c in ("mean", "sd", "p05", "p50", "p95", "within_product_sd", "between_product_sd") if c in unc]
        rows = [[_e(r["label"]), _fmt(r["central"], 2)] + [_fmt(r[c], 2) for c in cols] + [_u(r["units"])]
                for _, r in nat.iterrows()]
        parts.append(_table([f"quantity ({_e(data.scope.whole)})", "central"]
                            + [c.replace("_", " ") for c in cols] + ["units"], rows,
                            set(range(1, len(cols) + 2))))
    names = dict(zip(data.budgets["region_id"].astype(str), data.budgets["region"].astype(str)))
    reg = unc[~unc["region_id"].astype(str).str.casefold().isin(NATION_IDS)]
    if len(reg):
        rr = []
        for _, r in reg.iterrows():
            q = str(r["quantity"])
            units = r["units"] if isinstance(r.get("units"), str) and r.get("units") else units_of(q)
            rr.append([_e(names.get(str(r["region_id"]), r["region_id"])), _e(_quantity_label(q)),
                       _fmt(r["p05"], 2), _fmt(r["p50"], 2), _fmt(r["p95"], 2), _u(units)])
        parts.append(_collapsible("By region", _table(["region", "quantity", "p05", "p50", "p95", "units"], rr,
                                                      {2, 3, 4}), len(rr), limit=0))
    parts.append('<p class="note">From <code>tables/uncertainty.csv</code>: Monte Carlo draws of the coefficients '
                 "within their low-high ranges and of the flux products where several are given, summed over the "
                 "region x ecosystem tables. The central estimate uses one product and central coefficients, so it "
                 "need not be the median.</p>")
    return "\n".join(parts)


def _range_text(lo, c, hi) -> str:
    """``c (lo to hi)``, ``lo to hi`` or ``c`` [Mt CO2 yr-1, no decimals]."""
    have = lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi)
    rng = f"{_fmt(lo, 0)} to {_fmt(hi, 0)}" if have else ""
    if c is not None and np.isfinite(c):
        return _fmt(c, 0) + (f" ({rng})" if rng else "")
    return rng


def _trajectory_part(data: RunData) -> str:
    """The scheme year against year: a table (one row per quantity, one column per year) and a chart."""
    from .balance import trajectory_rows

    fg = _fg()
    traj = trajectory_rows(data.balance, data.year, data.scope)
    if traj.empty or not (traj["kind"] == "scheme").any():
        return ""
    cols = list(dict.fromkeys((int(r.year), r.kind) for r in traj.sort_values(["year", "kind"]).itertuples()))
    heads = ["quantity"] + [f"{y}: {'this run' if k == 'run' else 'national (scheme)'} [{MT}]" for y, k in cols]
    rows = []
    for q in dict.fromkeys(traj["quantity"]):
        cells = [_e(q)]
        for y, k in cols:
            hit = traj[(traj["quantity"] == q) & (traj["year"] == y) & (traj["kind"] == k)]
            cells.append("-" if hit.empty else "<br>".join(
                f'{_range_text(r.low, r.central, r.high)} <span class="note">{_e(r.label)}</span>'
                for r in hit.itertuples()))
        rows.append(cells)
    return ("<h3>Trajectory: this run's year, the peak, 2060</h3>"
            + _figure(fg.png_bytes(fg.trajectory_figure(traj)), "the 2060 scheme year by year",
                      f"From <code>tables/balance.csv</code> [{MT}]: the scheme's national figures in their own years "
                      f"and this run's values ({_e(data.scope.whole)}) in its year, side by side: a value of one "
                      "year is never given as a percentage of another year's target.")
            + _table(heads, rows, set(range(1, len(heads)))))


def _comparison_section(data: RunData) -> str:
    scenario, where = _scenario(data.manifest)
    scope = data.scope
    rows = comparison_rows(data.balance, scenario, data.year)
    if not rows:
        rows = comparison_rows(data.balance, SEED_PAPER, data.year)
        where += (" offers no published figure to compare with; shown instead: the seed paper's figures "
                  f"({_e(SEED_PAPER['source'])})")
    reconciled = data.table("reconciliation") is not None
    shown = [r for r in rows if r["assessed"] is not None
             and not (reconciled and r["kind"] == "published" and r["realm"] == "terrestrial")]
    body = []
    for r in shown:
        lo, c, hi = r["low"], r["central"], r["high"]
        pub = f'<span class="nw">{_range_text(lo, c, hi)}&nbsp;{MT}</span>'
        assessed = _q(r["assessed"], MT)
        if c is not None:
            share = _q(r["share_pct"], "%")
        else:
            share = f'<span class="nw">{_fmt(r["share_high_pct"])} to {_fmt(r["share_low_pct"])}&nbsp;%</span>'
        body.append([_e(r["label"]), _e(r["period"]), pub, _e(r["published"]), _e(r["item"] or ""), assessed, share,
                     _e(r["source"])])
    area = data.budgets["area_km2"].sum()
    n = int((data.budgets["region_id"] != UNALLOCATED).sum())
    share_head = ("this run / published (central, or range)" if scope.national else
                  f"{_e(scope.possessive)} share of the national figure (central, or range)")
    parts = [_trajectory_part(data)]
    parts.append("<h3>Shares</h3>"
                 f"<p>Figures from {where}, converted to Mt CO2 yr-1 (1 Pg C = 3,667 Mt CO2), beside this run's totals "
                 f"({_e(scope.whole)}, tables/balance.csv): the national emissions of the run's own year and the "
                 "sink the scheme needs in 2060"
                 + ("" if scope.national else f", each as {_e(scope.possessive)} share of the national figure, "
                                              "not a national comparison")
                 + (". The published terrestrial sinks are in the reconciliation section below." if reconciled
                    else ".") + "</p>"
                 + _table(["published figure", "year or period", "published [Mt CO2 yr-1]", "as published",
                           "compared with", "this run", share_head, "source"], body, {2, 5, 6}))
    parts.append(f'<p class="note">Why the numbers differ: this run covers {n} {_e(scope.level)} '
                 f'({_q(area, "km2", 0)} of land and sea)'
                 + (", the whole country" if scope.national else
                    ", the published figures the whole country (China's land is about 9.6 million km2)")
                 + "; the run's sink and emission years are those of its inputs, not the published periods or 2060; "
                 "and its sink counts the realms and methods listed below (net ecosystem uptake), which need not "
                 "match each published definition (e.g. a top-down inversion also sees lateral carbon export).</p>")
    return "\n".join(p for p in parts if p)


def _reconciliation_section(data: RunData) -> str:
    rec = data.table("reconciliation")
    if rec is None or rec.empty:
        return ('<p class="note">No <code>tables/reconciliation.csv</code> in this run (written by runs that have '
                "the published-estimates table, <code>balance.published_estimates</code>).</p>")
    fg = _fg()
    scope = data.scope
    r0 = rec.iloc[0]
    run, p05, p95 = float(r0["run_sink_MtCO2"]), float(r0["run_p05_MtCO2"]), float(r0["run_p95_MtCO2"])
    interval = (f" (5-95 %: {_fmt(p05, 0)} to {_fmt(p95, 0)})" if np.isfinite(p05) and np.isfinite(p95)
                else " (no Monte Carlo in this run: no interval)")
    like = bool(str(r0["like_for_like"]).lower() == "true")
    run_label = "this run" if like else f"this run ({scope.assessed} only)"
    lead = (f"<p>The run's terrestrial net sink, <b>{_q(run, MT, 0)}</b>{interval}, beside published estimates of "
            "China's national terrestrial sink (<code>tables/reconciliation.csv</code>, converted to Mt CO2 yr-1: "
            "1 Pg C = 3,667 Mt CO2). ")
    if like:
        lead += "Where the run sits: below, inside or above each estimate's range (or its central value).</p>"
    else:
        lead += (f"<b>Not like for like:</b> the run covers the {_e(scope.assessed)} only, the estimates the whole "
                 f"country; the last columns give {_e(scope.possessive)} share of each estimate, not where a "
                 "national sink would sit.</p>")
    rows = []
    for r in rec.itertuples():
        where_ = (_e(r.position) + ("" if pd.isna(r.intervals_overlap) or r.intervals_overlap == "" else
                                    f"; 5-95 % {'overlaps' if str(r.intervals_overlap) == 'True' else 'misses'} it")
                  if like else f"share {_q(r.run_share_of_central_pct, '%', 1)}")
        rows.append([_e(r.source), _e(r.period), _e(r.method_class),
                     f'<span class="nw">{_e(_fmt(r.published_central, None))} {_e(r.published_units)}</span>',
                     _range_text(r.low_MtCO2, r.central_MtCO2, r.high_MtCO2),
                     "yes" if str(r.includes_lateral) == "True" else "no",
                     "yes" if str(r.managed_land_only) == "True" else "no", _e(r.evidence), where_,
                     _e(r.comparability)])
    return (lead + _figure(fg.png_bytes(fg.reconciliation_figure(rec, run_label)), "reconciliation with published "
                           "estimates", "Each estimate's central value (dot) and range (line) [Mt CO2 yr-1]; blue: "
                           "atmospheric inversions, brown: the national GHG inventory, green: bottom-up estimates; "
                           f"black line: {_e(run_label)}, grey band: its Monte Carlo 5-95 %.")
            + _table(["source", "period", "method", "as published", f"central (range) [{MT}]", "counts lateral "
                      "export", "managed land only", "evidence", "this run" if like else "this run / estimate",
                      "what differs"], rows, {4})
            + '<p class="note">Lateral export: carbon that land takes up and rivers or trade carry away; an '
              "atmospheric inversion counts it as uptake, a stock-change inventory does not. The national "
              "inventory's LULUCF figure is a net GHG removal (CO2e) on managed land. Evidence: V read in the "
              "source, D derived, M unconfirmed.</p>")


def _methods_section(data: RunData) -> str:
    m = data.manifest
    cfg = m.get("config") or {}
    sinks = cfg.get("sinks") or {}
    items = []
    for realm in ("terrestrial", "inland_water", "ocean"):
        spec = sinks.get(realm) or {}
        method = spec.get("method", "coefficient")
        extra = ""
        if method == "flux":
            names = spec.get("flux") if isinstance(spec.get("flux"), list) else [spec.get("flux")]
            files = [Path((cfg.get("fluxes") or {}).get(n, {}).get("path", "")).name for n in names if n]
            extra = f" from {', '.join(f'<code>{_e(f)}</code>' for f in files)}"
        elif method == "stock_change":
            extra = " (stock difference between two land-cover epochs x carbon densities)"
        items.append(f"<li>{_e(realm.replace('_', ' '))}: <b>{_e(method)}</b>{extra}</li>")
    if sinks.get("inorganic"):
        items.append(f"<li>inorganic carbon: rate x area share per ecosystem (<code>{_e(Path(sinks['inorganic']).name)}"
                     "</code>), reported apart from the organic sinks</li>")
    if cfg.get("non_co2"):
        items.append(f"<li>non-CO2 gases: area x emission factor, as CO2e with GWP100 "
                     f"{_e(cfg['non_co2'].get('gwp', 'AR6'))}</li>")
    grid = m.get("grid", {})
    qa = m.get("qa", {})
    shape = grid.get("shape") or ["?", "?"]
    items.append(f"<li>analysis grid: <span class=mono>{_e(grid.get('crs', ''))}</span>, {_e(shape[0])} x {_e(shape[1])} "
                 f"px at {_resolution(m)}; border pixels shared by exactly covered fraction "
                 f"({_fmt(qa.get('region_border_px'))} px shared)</li>")
    parts = [f"<ul>{''.join(items)}</ul>"]
    qa_rows = []
    for key, unit in (("nodata_px", "px"), ("unknown_px", "px"), ("unallocated_km2", "km2")):
        if key in qa:
            qa_rows.append([_e(key), _fmt(qa[key], 0), unit])
    for key, val in qa.items():
        if key.startswith(("flux_missing_px", "flux_used_px", "stock_change")) and np.isscalar(val):
            qa_rows.append([_e(key), _fmt(val, 0), "px"])
        elif key.startswith("flux_max_abs") and np.isscalar(val):
            qa_rows.append([_e(key), _fmt(val, 1), "g C m-2 yr-1"])
    cons = qa.get("conservation") or {}
    if "relative_difference" in cons:
        qa_rows.append(["regions + unallocated vs sum of pixels", f"{cons['relative_difference']:.1e}",
                        "relative difference (fraction)"])
    parts.append("<h3>Quality checks</h3>" + _table(["check", "value", "units"], qa_rows, {1}))
    c = data.coefficients
    if c is not None and len(c):
        ev = c["evidence"].astype(str) if "evidence" in c else pd.Series("", index=c.index)
        unconfirmed = ev.str.contains("M", regex=False) & ~c["evidence"].isna() if "evidence" in c else ev != ev
        rows, classes = [], []
        for (i, r), bad in zip(c.iterrows(), unconfirmed):
            tag = ' <span class="badge">unconfirmed</span>' if bad else ""
            share = r.get("share")
            rows.append([_e(r.get("table", "")), _e("" if pd.isna(r.get("realm")) else r.get("realm")),
                         _e(r.get("ecosystem", "")), _e(r.get("item", "")), _fmt(r.get("central"), 2),
                         _fmt(r.get("low"), 2), _fmt(r.get("high"), 2), _u(r.get("units", "")),
                         _fmt(share, 2) if share is not None and pd.notna(share) else "",
                         _e("" if pd.isna(r.get("evidence")) else r.get("evidence")) + tag,
                         _e("" if pd.isna(r.get("source")) else r.get("source"))])
            classes.append("unconfirmed" if bad else "")
        n_bad = int(unconfirmed.sum())
        parts.append("<h3>Coefficients and their sources</h3>"
                     f'<p class="note">Every coefficient the run read (<code>tables/coefficients.csv</code>), in the '
                     "units given on each row; share = fraction of the ecosystem's area the rate applies to. Evidence: "
                     "V read in the source, D derived, M unconfirmed (from memory of a widely cited figure: check "
                     f"before citing). <b>{n_bad} value(s) are unconfirmed</b> and highlighted.</p>"
                     + _table(["table", "realm", "ecosystem", "item", "central", "low", "high", "units",
                               "share [fraction]", "evidence", "source"], rows, {4, 5, 6, 8}, row_classes=classes))
    return "\n".join(parts)


def _provenance_section(data: RunData) -> str:
    m = data.manifest
    def flag(path: str) -> str:  # synthetic stand-ins are named so (sample_rasters/*/PROVENANCE.md)
        return " <b>SYNTHETIC: illustrative</b>" if "synthetic" in Path(path).name.lower() else ""

    rows = [[_e(k), f'<span class=mono title="{_e(v.get("path", ""))}">{_e(Path(v.get("path", "")).name)}</span>'
             + flag(v.get("path", "")), f'<span class=mono>{_e(v.get("sha256", ""))}</span>']
            for k, v in (m.get("inputs") or {}).items()]
    parts = ["<h3>Inputs</h3>" + _table(["input", "file", "SHA-256"], rows)]
    parts.append(f"<p>Config: <code>{_e(m.get('config_file') or 'given in Python')}</code> (SHA-256 "
                 f"<span class=mono>{_e(m.get('config_sha256', ''))}</span>); the whole config is in "
                 "<code>manifest.json</code>.</p>")
    vers = m.get("versions") or {}
    timings = m.get("timings_s") or {}
    parts.append("<h3>Software</h3>" + _table(["package", "version"], [[_e(k), _e(v)] for k, v in vers.items()]))
    if timings:
        parts.append("<h3>Timings</h3>" + _table(["stage", "time [s]"], [[_e(k.removesuffix("_s")), _fmt(v, 2)]
                                                                          for k, v in timings.items()], {1}))
    parts.append(f'<p class="note">Written by carbon-sink {_e(m.get("carbon_sink_version", ""))} from the run '
                 "directory alone (tables, maps, budget.gpkg, manifest.json).</p>")
    return "\n".join(parts)


# --- regional pages ----------------------------------------------------------------------------------
def write_region_page(run_dir: str | Path, name: str) -> Path:
    """Write ``RUN_DIR/regions/<slug>.html`` for the region named ``name`` (name or id, any case).

    Raises
    ------
    UnknownRegionError
        If no region has that name or id (the message lists the closest names).
    """
    data = read_run(run_dir)
    rid = find_region(data.budgets, name)
    row = data.budgets.loc[data.budgets["region_id"] == rid].iloc[0]
    rname = str(row["region"])
    st = region_standing(data.budgets, rid)
    regions = None
    try:
        regions = data.regions()
    except Exception as exc:
        log.warning("regional page: budget.gpkg layer 'regions' could not be read: %s", exc)
    scope = data.scope
    of_whole = "the nation" if scope.national else f"all {scope.assessed}"
    body = [f'<nav><a href="../report.html">&larr; {"national report" if scope.national else "main report"}</a></nav>',
            f"<h1>{_e(rname)} <span class=note>(id {_e(rid)})</span></h1>",
            f'<p class="lead">Regional page of the run <i>{_e((data.manifest.get("config") or {}).get("name", ""))}</i>. '
            "Sinks positive; totals in Mt CO2 yr-1.</p>",
            _section("standing", f"Budget, rank and share of {of_whole}", lambda: _standing_section(row, st, of_whole)),
            _section("map", "Sink density map", lambda: _region_map(data, regions, rid, rname)),
            _section("ecosystems", "Ecosystems", lambda: _region_ecosystems(data, rid)),
            _section("members", "Subregions", lambda: _region_members(data, rid)),
            _section("uncertainty", "Uncertainty", lambda: _region_uncertainty(data, rid)),
            _section("budget", "Budget row", lambda: _budget_row(row))]
    path = data.run_dir / "regions" / f"{region_slug(rname, rid)}.html"
    return _write(path, _page(f"{rname}: carbon-sink budget", "\n".join(body)))


def _standing_section(row: pd.Series, st: dict, of_whole: str = "the nation") -> str:
    def rank(r, n):
        return f"{r} of {n}" if r is not None else "not ranked (no inventory)"

    no_inv = pd.isna(row.get("emissions_MtCO2"))
    items = [("total sink (net)", row["sink_total_MtCO2"], MT, rank(st["rank_sink"], st["n_sink"]),
              st["share_sink_pct"]),
             ("gross removal", row["gross_removal_MtCO2"], MT, "", st["share_gross_removal_pct"]),
             ("gross emission of the sink realms", row["gross_emission_MtCO2"], MT, "", None),
             ("CO2 emissions", row["emissions_MtCO2"], MT, "", st["share_emissions_pct"]),
             ("net emission", row["net_MtCO2"], MT, rank(st["rank_net"], st["n_net"]), st["share_net_pct"]),
             ("area (land and offshore zone)", row["area_km2"], "km2", "", st["share_area_pct"])]
    if "population" in row and pd.notna(row["population"]):
        items.append(("population", row["population"], "persons", "", st["share_population_pct"]))
    rows = []
    for label, val, units, rk, share in items:
        missing = pd.isna(val) and no_inv and label in ("CO2 emissions", "net emission")
        rows.append([_e(label), "no inventory" if missing else _q(val, units, 0 if units in ("km2", "persons") else 2),
                     _e(rk), _q(share, "%", 2) if share is not None else "-"])
    cards = [_card("total sink", row["sink_total_MtCO2"], MT),
             _card("rank by total sink", None, "regions, 1 = largest sink", text=_e(rank(st["rank_sink"], st["n_sink"]))),
             _card(f"share of {of_whole}' sink" if of_whole.endswith("s") else f"share of {of_whole}'s sink",
                   st["share_sink_pct"], "%"),
             _card("net emission", row["net_MtCO2"], MT, "net", text="no inventory" if no_inv else None),
             _card("rank by net emission", None, "regions, 1 = largest net emitter", "net",
                   text=_e(rank(st["rank_net"], st["n_net"])))]
    return (f'<div class="cards">{"".join(cards)}</div>'
            + _table(["quantity", "value", "rank among regions (1 = largest)", f"share of {_e(of_whole)}"], rows,
                     {1, 3})
            + f'<p class="note">Ranks among the regions of the run (not counting <i>unallocated</i>); shares of '
              f"{_e(of_whole)} = of all rows of tables/budgets.csv (regions plus unallocated), as the balance sums "
              "them. Net emission = emissions - sinks - CCUS.</p>")


def _region_map(data: RunData, regions, rid: str, rname: str) -> str:
    fg = _fg()
    if regions is None or rid not in set(regions["region_id"]):
        return '<p class="note">No polygon for this region in budget.gpkg: no map.</p>'
    crs = _map_crs(data)
    reg = regions.to_crs(crs)
    geom = reg.loc[reg["region_id"] == rid].geometry.iloc[0]
    x0, y0, x1, y1 = geom.bounds
    pad = 0.08 * max(x1 - x0, y1 - y0, 1.0)
    bounds = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    arr, extent, _ = fg.read_map(data.map_path, bounds)
    import shapely

    box = shapely.box(*bounds)
    others = [g for r, g in zip(reg["region_id"], reg.geometry) if r != rid and g is not None and g.intersects(box)]
    fig = fg.sink_map_figure(arr, extent, others, highlight=geom, title=f"{rname}: net carbon sink density")
    return _figure(fg.png_bytes(fig), f"sink density map of {rname}",
                   "The sink map (<code>maps/sink_total.tif</code>, g C m-2 yr-1, sink positive) clipped to the region's "
                   "bounds; thick outline: the region (land and offshore zone); thin: its neighbours.")


def _region_ecosystems(data: RunData, rid: str) -> str:
    reco = data.region_eco[data.region_eco["region_id"] == rid]
    headers, rows = _ecosystem_rows(reco, with_region=False)
    t = reco[["area_km2", "removal_MgC_yr", "emission_MgC_yr", "sink_MgC_yr"]].sum()
    rows.append(["<b>all</b>", "", f"<b>{_fmt(t.area_km2, 0)}</b>", f"<b>{_fmt(t.removal_MgC_yr, 0)}</b>",
                 f"<b>{_fmt(t.emission_MgC_yr, 0)}</b>", f"<b>{_fmt(t.sink_MgC_yr, 0)}</b>",
                 f"<b>{_fmt(MgC_to_MtCO2(t.sink_MgC_yr), 3)}</b>",
                 f"<b>{_fmt(t.sink_MgC_yr / t.area_km2 if t.area_km2 else np.nan, 1)}</b>"])
    return _table(headers, rows, set(range(2, len(headers))))


def _region_members(data: RunData, rid: str) -> str | None:
    sub = data.table("subregion_ecosystem", dtype={"region_id": str, "parent_id": str})
    if sub is None or "parent_id" not in sub:
        return None
    ids = {rid}
    parts = []
    for level in sub["level"].drop_duplicates():  # levels coarse to fine: members of members follow
        t = sub[(sub["level"] == level) & sub["parent_id"].isin(ids)]
        if t.empty:
            continue
        g = t.groupby(["region_id", "region"], sort=False)[["area_km2", "removal_MgC_yr", "emission_MgC_yr",
                                                            "sink_MgC_yr"]].sum().reset_index()
        rows = [[_e(r.region), _fmt(r.area_km2, 0), _fmt(r.removal_MgC_yr, 0), _fmt(r.emission_MgC_yr, 0),
                 _fmt(r.sink_MgC_yr, 0), _fmt(r.sink_MgC_yr / r.area_km2 if r.area_km2 else np.nan, 1)]
                for r in g.itertuples()]
        parts.append(f"<h3>{_e(level)} ({len(rows)})</h3>" + _collapsible(
            str(level), _table([str(level), "area [km2]", "gross removal [Mg C yr-1]", "gross emission [Mg C yr-1]",
                                "net sink [Mg C yr-1]", "net density [g C m-2 yr-1]"], rows, {1, 2, 3, 4, 5}),
            len(rows)))
        ids |= set(g["region_id"])
    return "\n".join(parts) if parts else None


def _region_uncertainty(data: RunData, rid: str) -> str | None:
    fg = _fg()
    if data.uncertainty is None:
        return None
    rows = uncertainty_rows(data.uncertainty, data.balance, rid, data.budgets)
    if rows.empty:
        return None
    body = [[_e(r["label"]), _fmt(r["central"], 2), _fmt(r["p05"], 2), _fmt(r["p50"], 2), _fmt(r["p95"], 2),
             _u(r["units"])] for _, r in rows.iterrows()]
    return (_figure(fg.png_bytes(fg.uncertainty_figure(rows)), "uncertainty intervals", "5th-95th percentile (line) "
                    "and median (dot) of the Monte Carlo draws, from tables/uncertainty.csv.")
            + _table(["quantity", "central", "p05", "p50", "p95", "units"], body, {1, 2, 3, 4}))


def _budget_row(row: pd.Series) -> str:
    rows = []
    for col, val in row.items():
        if col in ("region_id", "region"):
            continue
        units = units_of(str(col))
        if col == "emissions_year":
            text = _fmt(int(val), 0).replace(",", "") if pd.notna(val) else "n/a"
        elif str(col).startswith("rank_"):  # ranks are whole numbers ("2", not "2.000")
            text = str(int(val)) if pd.notna(val) else "not ranked"
        elif pd.isna(val) and col in ("emissions_MtCO2", "net_MtCO2", "net_all_MtCO2e", "sink_offset_pct"):
            text = "no inventory"
        else:
            text = _fmt(val, 0 if units in ("km2", "persons") else 3)
        rows.append([_e(col), text, _e(units)])
    return _table(["column of tables/budgets.csv", "value", "units"], rows, {1})

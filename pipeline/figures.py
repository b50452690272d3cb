"""Figures of the HTML report: small matplotlib functions, each returning a ``Figure`` or PNG bytes.

Figures are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never
through ``pyplot``: no global figure state, no display needed, safe in threads. Polygons are drawn
from their shapely rings, so geopandas' plotting (which imports pyplot) is not needed either.

The numbers behind each chart come from a ``*_data`` function (a DataFrame), so a test can check
them against the run's tables without reading pixels of a PNG.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath

#: Units of every map and of the tables' totals (the run's output contract).
DENSITY_LABEL = "net sink density [g C m-2 yr-1], sink positive"
MT = "Mt CO2 yr-1"
MTE = "Mt CO2e yr-1"
#: Colours: sinks green, sources and emissions brown/red, totals slate.
C_TOTAL, C_SINK, C_SOURCE, C_MISSING = "#46505a", "#2e8b57", "#b5532a", "#d9d9d9"
REALM_COLOURS = {"terrestrial": "#4f9d3a", "water": "#3a86c8", "ocean": "#1b4f8a"}
REALM_LABELS = {"terrestrial": "terrestrial", "water": "inland water", "ocean": "ocean"}


def map_size(extent, max_width: float = 7.0, max_height: float = 6.2, colour_bar: float = 1.3) -> tuple[float, float]:
    """Figure size [in] of a map of ``extent`` (left, right, bottom, top): the largest that keeps its
    aspect within ``max_width`` x ``max_height``, plus room for a colour bar and a title."""
    left, right, bottom, top = extent
    aspect = (top - bottom) / max(right - left, 1e-9)
    width = min(max_width, max_height / max(aspect, 1e-9))
    return width + colour_bar, max(width * aspect, 1.5) + 0.5


def _auto(x: float) -> str:
    """A bar label: 1 decimal from 100 up, 2 from 1, else 3 significant digits; never "-0"."""
    if not np.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) < 1:
        return f"{x:.3g}"
    return f"{x:,.{1 if abs(x) >= 100 else 2}f}"


def new_figure(width: float = 8.0, height: float = 4.5) -> Figure:
    """A Figure on an Agg canvas (inches)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (no metadata, so the same figure gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


# --- the neutrality balance as a waterfall ------------------------------------------------------
_SINK_STEPS = (("sink_terrestrial", "terrestrial sink"), ("sink_water", "inland-water sink"),
               ("sink_ocean", "ocean sink"), ("ccus", "CCUS"))
#: Balance rows of the regions without an inventory: in the national sink and CCUS, not in the net.
_NOT_NETTED = (("sink_no_inventory", "sink of regions without inventory (not netted)"),
               ("ccus_no_inventory", "CCUS of regions without inventory (not netted)"))


def waterfall_data(balance: pd.DataFrame) -> pd.DataFrame:
    """The steps of the balance waterfall, from ``tables/balance.csv`` (columns item, value, units).

    Emissions, minus each realm's net sink, minus CCUS, give the net emission (CO2). When the table
    has them, non-CO2 emissions are added and the inorganic sink subtracted, ending at the net of
    everything (CO2e). Each row: ``item`` (the balance item), ``label``, ``kind`` (``total`` bars
    stand on zero, ``step`` bars float), ``value`` (the balance table's number), ``delta`` (its
    effect on the running total: -value for a sink or CCUS, +value for an emission), ``bottom``,
    ``top`` (bar ends; ``top - bottom`` is ``delta`` for steps and ``value`` for totals) and ``units``.

    When some regions have no inventory, the net is like for like (:func:`pipeline.balance.like_for_like`):
    the realm steps still take the whole nation's sinks, and a step of their own adds back the sink
    (``sink_no_inventory``) and CCUS (``ccus_no_inventory``) of the regions without an inventory, so the
    steps end exactly at ``net_emission``; likewise ``non_co2_no_inventory`` and
    ``inorganic_sink_no_inventory`` before ``net_emission_all``.

    Without an emission inventory (emissions missing) the chart starts at zero and ends at
    "net (sinks only)", minus the sinks.
    """
    v = balance.set_index("item")["value"].astype(float)
    units = balance.set_index("item")["units"] if "units" in balance else pd.Series(dtype=str)
    rows: list[dict] = []
    emissions = v.get("emissions", np.nan)
    has_inventory = bool(np.isfinite(emissions))
    running = float(emissions) if has_inventory else 0.0
    if has_inventory:
        rows.append(_bar("emissions", "emissions", "total", running, running, 0.0, running, units.get("emissions", MT)))
    for item, label in _SINK_STEPS:
        if item not in v:
            continue
        value = float(v[item])
        start, running = running, running - value
        rows.append(_bar(item, label, "step", value, -value, start, running, units.get(item, MT)))
    if has_inventory:  # regions without an inventory: their sink and CCUS are not netted (like for like)
        for item, label in _NOT_NETTED:
            if item in v and np.isfinite(v[item]):
                value = float(v[item])
                start, running = running, running + value
                rows.append(_bar(item, label, "step", value, value, start, running, units.get(item, MT)))
    if has_inventory and "net_emission" in v:
        net = float(v["net_emission"])
        rows.append(_bar("net_emission", "net emission (CO2)", "total", net, net, 0.0, net, units.get("net_emission", MT)))
    else:
        rows.append(_bar("net_emission", "net (sinks only)", "total", running, running, 0.0, running, MT))
    extra = [("non_co2_emission", "non-CO2 (CH4 + N2O)", 1.0), ("inorganic_sink", "inorganic sink", -1.0)]
    if has_inventory:
        extra += [("non_co2_no_inventory", "non-CO2 of regions without inventory (not netted)", -1.0),
                  ("inorganic_sink_no_inventory", "inorganic sink of regions without inventory (not netted)", 1.0)]
    if any(item in v for item, _, _ in extra[:2]):
        running = rows[-1]["top"]
        for item, label, sign in extra:
            if item not in v:
                continue
            value = float(v[item])
            start, running = running, running + sign * value
            rows.append(_bar(item, label, "step", value, sign * value, start, running, units.get(item, MTE)))
        if "net_emission_all" in v and has_inventory:
            net_all = float(v["net_emission_all"])
            rows.append(_bar("net_emission_all", "net, all gases", "total", net_all, net_all, 0.0, net_all,
                             units.get("net_emission_all", MTE)))
        else:
            rows.append(_bar("net_emission_all", "net, all gases" + ("" if has_inventory else " (sinks only)"),
                             "total", running, running, 0.0, running, MTE))
    return pd.DataFrame(rows)


def _bar(item, label, kind, value, delta, bottom, top, units) -> dict:
    return {"item": item, "label": label, "kind": kind, "value": value, "delta": delta,
            "bottom": bottom, "top": top, "units": units}


def waterfall_units(data: pd.DataFrame) -> str:
    """The units of the waterfall's value axis and of its title: Mt CO2 yr-1 when every bar is CO2, else
    Mt CO2e yr-1 (non-CO2 gases enter as GWP100 CO2-equivalents; a t of CO2 is a t of CO2e)."""
    return MTE if (data["units"] == MTE).any() else MT


def waterfall_figure(data: pd.DataFrame, zoom_below: float = 0.1) -> Figure:
    """The balance waterfall: totals on zero (slate), sinks stepping down (green), sources up (brown).

    The title and the value axis carry the same units (:func:`waterfall_units`). When every step is
    smaller than ``zoom_below`` x the largest bar (sinks of tens of Mt beside emissions of thousands),
    a second panel to the right shows the steps on their own scale, each labelled with its value:
    the main axes stay ``fig.axes[0]`` and hold exactly one bar per row of ``data``.
    """
    lo = np.minimum(data["bottom"], data["top"]).to_numpy()
    hi = np.maximum(data["bottom"], data["top"]).to_numpy()
    span = max(float(np.nanmax(np.abs(np.r_[lo, hi]))), 1e-9) if len(data) else 1.0
    steps = data[data["kind"] == "step"]
    zoom = bool(len(steps)) and float(np.nanmax(np.abs(steps["delta"]))) < zoom_below * span
    fig = new_figure(11.0 if zoom else 8.5, 4.6)
    if zoom:
        ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.6, 1.0]})
    else:
        ax, side = fig.add_subplot(), None
    x = np.arange(len(data))
    colours = [C_TOTAL if k == "total" else (C_SINK if d <= 0 else C_SOURCE)
               for k, d in zip(data["kind"], data["delta"])]
    ax.bar(x, hi - lo, bottom=lo, color=colours, width=0.62, edgecolor="white", linewidth=0.5)
    for i, r in enumerate(data.itertuples()):
        if i + 1 < len(data):  # connector from this bar's end to the next bar's start
            nxt = data.iloc[i + 1]
            level = r.top
            if nxt["kind"] == "total" or abs(nxt["bottom"] - level) < 1e-9 * span:
                ax.plot([i + 0.31, i + 1 - 0.31], [level, level], color="#888888", lw=0.7, ls=":")
        text = _auto(r.value) if r.kind == "total" else ("+" if r.delta > 0 else "") + _auto(r.delta)
        ax.annotate(text, (i, max(r.bottom, r.top)), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{lab}" for lab in data["label"]], rotation=20, ha="right", fontsize=8)
    units = waterfall_units(data)
    ax.set_ylabel(units, fontsize=8)
    ax.axhline(0, color="black", lw=0.6)
    ax.margins(y=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Neutrality balance: emissions, minus sinks and CCUS, give the net emission [{units}]"
                 + ("; CH4 and N2O as GWP100 CO2e" if units == MTE else ""), fontsize=9.5)
    if side is not None:
        y = np.arange(len(steps))[::-1]
        d = steps["delta"].to_numpy(dtype=float)
        side.barh(y, d, color=[C_SINK if v <= 0 else C_SOURCE for v in d], height=0.6)
        for yi, v in zip(y, d):
            side.annotate(("+" if v > 0 else "") + _auto(v), (v, yi), xytext=(3 if v >= 0 else -3, 0),
                          textcoords="offset points", ha="left" if v >= 0 else "right", va="center", fontsize=7.5)
        side.set_yticks(y, steps["label"].tolist(), fontsize=7.5)
        side.axvline(0, color="black", lw=0.6)
        side.margins(x=0.35)
        side.tick_params(axis="x", labelsize=7)
        side.set_xlabel(f"change of the balance [{units}]", fontsize=8)
        side.spines[["top", "right"]].set_visible(False)
        side.set_title("the steps on their own scale", fontsize=9)
    return fig


# --- maps -----------------------------------------------------------------------------------------
def read_map(path: Path, bounds: tuple[float, float, float, float] | None = None, max_px: int = 900):
    """Read band 1 of a map raster at most ``max_px`` pixels on a side (GDAL picks an overview level).

    Returns ``(array, extent, crs)``: a masked float array (NaN and nodata masked), the extent
    ``(left, right, bottom, top)`` in the raster's CRS, and that CRS. ``bounds`` (xmin, ymin, xmax,
    ymax, in the raster's CRS) clips the read to a window, clamped to the raster.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as src:
        full = Window(0, 0, src.width, src.height)
        if bounds is None:
            win = full
        else:
            w = from_bounds(*bounds, transform=src.transform)
            c0, r0 = math.floor(w.col_off), math.floor(w.row_off)
            c1, r1 = math.ceil(w.col_off + w.width), math.ceil(w.row_off + w.height)
            win = Window(c0, r0, c1 - c0, r1 - r0).intersection(full)
        scale = max(win.width, win.height) / max_px
        shape = (max(1, math.ceil(win.height / scale)), max(1, math.ceil(win.width / scale))) if scale > 1 else None
        arr = src.read(1, window=win, out_shape=shape, masked=True, resampling=Resampling.average)
        left, bottom, right, top = src.window_bounds(win)
        crs = src.crs
    data = np.ma.masked_invalid(np.ma.filled(arr.astype("float64"), np.nan))
    return data, (left, right, bottom, top), crs


def _rings(geom) -> list[np.ndarray]:
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if isinstance(poly, shapely.Polygon) and not poly.is_empty:
            out.append(np.asarray(poly.exterior.coords)[:, :2])
            out += [np.asarray(r.coords)[:, :2] for r in poly.interiors]
        elif hasattr(poly, "geoms"):
            out += _rings(poly)
    return out


def _path(geom) -> MplPath | None:
    """A compound matplotlib path (exteriors and holes) of a (multi)polygon."""
    verts, codes = [], []
    for ring in _rings(geom):
        if len(ring) < 3:
            continue
        verts.append(ring)
        c = np.full(len(ring), MplPath.LINETO, dtype=MplPath.code_type)
        c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
        codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def outline(ax, geoms, color="#222222", lw=0.6, zorder=3) -> None:
    """Draw the boundaries of polygons (an iterable of shapely geometries) on ``ax``."""
    segs = [ring for g in geoms if g is not None for ring in _rings(g)]
    ax.add_collection(LineCollection(segs, colors=color, linewidths=lw, zorder=zorder))


def density_limits(data: np.ma.MaskedArray) -> float:
    """Symmetric colour limit of a density map: the 98th percentile of |value| (at least 1)."""
    vals = np.abs(data.compressed())
    vals = vals[np.isfinite(vals)]
    return float(max(np.percentile(vals, 98), 1.0)) if vals.size else 1.0


def sink_map_figure(data: np.ma.MaskedArray, extent, outlines=(), highlight=None, title: str = "",
                    labels: list[tuple[float, float, str]] | None = None, width: float = 8.0) -> Figure:
    """The sink density map with a colour bar in g C m-2 yr-1 (sink positive, green; sources brown).

    ``outlines``: shapely polygons drawn thin (e.g. provinces), in the map's CRS; ``highlight``: one
    polygon drawn thick (a regional page's region); ``labels``: (x, y, text) placed on the map.
    """
    left, right, bottom, top = extent
    fig = new_figure(*map_size(extent, max_width=width - 1.3))
    ax = fig.add_subplot()
    lim = density_limits(data)
    clipped = bool(data.count()) and float(np.abs(data).max()) > lim
    im = ax.imshow(data, extent=extent, cmap="BrBG", vmin=-lim, vmax=lim, interpolation="nearest", zorder=1)
    ax.set_facecolor("#f4f4f4")
    outline(ax, outlines, color="#333333", lw=0.5)
    if highlight is not None:
        outline(ax, [highlight], color="black", lw=1.8, zorder=4)
    for x, y, text in labels or []:
        ax.annotate(text, (x, y), ha="center", va="center", fontsize=7, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    cb = fig.colorbar(im, ax=ax, shrink=0.8, extend="both" if clipped else "neither")
    cb.set_label(DENSITY_LABEL, fontsize=8)
    cb.ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9.5)
    return fig


# --- choropleth of net emission -------------------------------------------------------------------
def choropleth_data(regions, budgets: pd.DataFrame, column: str = "net_MtCO2"):
    """Region polygons joined to ``tables/budgets.csv``: ``value`` (``column``, Mt CO2 yr-1) and
    ``missing`` (True where the region has no emission inventory: drawn hatched, never as zero)."""
    b = budgets.assign(region_id=budgets["region_id"].astype(str))
    g = regions[["region_id", "geometry"]].assign(region_id=regions["region_id"].astype(str))
    out = g.merge(b[["region_id", "region", column, "emissions_MtCO2"]], on="region_id", how="left")
    out["value"] = out[column].astype(float)
    out["missing"] = out["emissions_MtCO2"].isna() | out["value"].isna()
    return out


def choropleth_figure(data, units: str = MT, title: str = "", width: float = 8.0) -> Figure:
    """Filled polygons coloured by ``value``; regions with ``missing`` grey and hatched, labelled
    "no inventory" in the legend and on the map."""
    minx, miny, maxx, maxy = data.total_bounds
    fig = new_figure(*map_size((minx, maxx, miny, maxy), max_width=width - 1.3))
    ax = fig.add_subplot()
    ok = data[~data["missing"]]
    vals = ok["value"].to_numpy(dtype=float)
    if vals.size and vals.min() < 0 < vals.max():
        norm, cmap = TwoSlopeNorm(0.0, vals.min(), vals.max()), "RdBu_r"
    elif vals.size:
        lo, hi = (float(vals.min()), float(vals.max())) if vals.max() > vals.min() else (vals.min() - 1, vals.max() + 1)
        norm, cmap = Normalize(min(lo, 0.0) if lo >= 0 else lo, hi), ("OrRd" if hi > 0 else "Greens_r")
    else:
        norm, cmap = Normalize(0, 1), "OrRd"
    patches, values = [], []
    for geom, value in zip(ok.geometry, vals):
        p = _path(geom)
        if p is not None:
            patches.append(PathPatch(p))
            values.append(value)
    coll = PatchCollection(patches, cmap=cmap, norm=norm, edgecolor="#333333", linewidth=0.5)
    coll.set_array(np.asarray(values))
    ax.add_collection(coll, autolim=False)  # limits are set below: no per-vertex limit update
    # the regions with no inventory, as one hatched collection (one patch each would make matplotlib
    # walk every vertex of every polygon to update the data limits: seconds for detailed coastlines)
    missing = [PathPatch(p) for p in map(_path, data.loc[data["missing"]].geometry) if p is not None]
    if missing:
        ax.add_collection(PatchCollection(missing, facecolor=C_MISSING, edgecolor="#555555", hatch="////",
                                          linewidth=0.5), autolim=False)
    min_area = 0.002 * (maxx - minx) * (maxy - miny)  # no labels on regions too small to hold one
    for r in data.itertuples():
        if r.geometry is None or r.geometry.is_empty or len(data) > 60:
            continue
        x0, y0, x1, y1 = r.geometry.bounds
        if (x1 - x0) * (y1 - y0) < min_area:
            continue
        pt = r.geometry.representative_point()
        text = f"{r.region}\nno inventory" if r.missing else f"{r.region}\n{_auto(r.value)}"
        ax.annotate(text, (pt.x, pt.y), ha="center", va="center", fontsize=6.5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.65})
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    cb = fig.colorbar(coll, ax=ax, shrink=0.8)
    cb.set_label(f"net emission [{units}] (emissions - sinks - CCUS)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    if data["missing"].any():
        ax.legend(handles=[Patch(facecolor=C_MISSING, edgecolor="#555555", hatch="////", label="no inventory")],
                  loc="lower right", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9.5)
    return fig


# --- sinks by realm per region ---------------------------------------------------------------------
def realm_bars_data(budgets: pd.DataFrame) -> pd.DataFrame:
    """Net sink per realm and in total, per region (rows of ``tables/budgets.csv``) [Mt CO2 yr-1]."""
    cols = {short: f"sink_{short}_MtCO2" for short in REALM_COLOURS}
    out = pd.DataFrame({"region": budgets["region"].astype(str).to_numpy()})
    for short, col in cols.items():
        out[short] = budgets[col].astype(float).to_numpy() if col in budgets else 0.0
    out["total"] = budgets["sink_total_MtCO2"].astype(float).to_numpy()
    return out


def realm_bars_figure(data: pd.DataFrame, width: float = 8.0) -> Figure:
    """Horizontal bars: each region's net sink by realm, stacked (sources to the left of zero), with
    the total as a black mark [Mt CO2 yr-1]."""
    n = len(data)
    fig = new_figure(width, max(2.2, 0.32 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    pos, neg = np.zeros(n), np.zeros(n)
    for short, colour in REALM_COLOURS.items():
        v = data[short].to_numpy(dtype=float)
        left = np.where(v >= 0, pos, neg)
        ax.barh(y, v, left=left, color=colour, height=0.66, label=REALM_LABELS[short])
        pos += np.where(v >= 0, v, 0)
        neg += np.where(v < 0, v, 0)
    ax.scatter(data["total"], y, marker="D", s=14, color="black", zorder=3, label="total (net)")
    for yi, t in zip(y, data["total"]):
        ax.annotate(f"{t:,.1f}", (max(t, 0), yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, data["region"], fontsize=8)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel(f"net sink [{MT}], sink positive", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.margins(x=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return fig


# --- uncertainty intervals -------------------------------------------------------------------------
def uncertainty_figure(rows: pd.DataFrame, width: float = 8.0) -> Figure:
    """One strip per quantity (each with its own axis: sinks of tens and net emissions of thousands of
    Mt never share a scale): the 5-95 % interval (line), the median (dot) and, where ``rows`` has a
    ``central`` column, the central estimate of the run's tables (black tick). Columns: label, p05,
    p50, p95, units."""
    n = len(rows)
    fig = new_figure(width, 0.62 * n + 0.5)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, (_, r) in zip(axes, rows.iterrows()):
        ax.hlines(0, r["p05"], r["p95"], color="#1b4f8a", lw=3)
        ax.scatter([r["p50"]], [0], color="white", edgecolor="#1b4f8a", zorder=3, s=30)
        central = r.get("central", np.nan)
        if central is not None and np.isfinite(central):
            ax.scatter([central], [0], marker="|", s=160, color="black", zorder=4)
        ax.set_yticks([0], [f"{r['label']} [{r['units']}]"], fontsize=8)
        ax.set_ylim(-1, 1)
        lo, hi = float(min(r["p05"], central if np.isfinite(central) else r["p05"])), float(
            max(r["p95"], central if np.isfinite(central) else r["p95"]))
        pad = max(hi - lo, abs(hi) * 0.02, 1e-6) * 0.35
        ax.set_xlim(lo - pad, hi + pad)
        ax.tick_params(axis="x", labelsize=7)
        ends = ((r["p05"], "right"), (r["p95"], "left")) if r["p95"] - r["p05"] > 1e-9 * max(abs(hi), 1.0) \
            else ((r["p95"], "left"),)
        for x, ha in ends:
            ax.annotate(f"{x:,.1f}", (x, 0), xytext=(-4 if ha == "right" else 4, 0), textcoords="offset points",
                        ha=ha, va="center", fontsize=7)
        if lo < 0 < hi:
            ax.axvline(0, color="black", lw=0.5)
        ax.spines[["top", "right", "left"]].set_visible(False)
    axes[0].set_title("5th-95th percentile (line), median (dot), central estimate of the tables (tick)",
                      fontsize=8.5)
    return fig


# --- time series -------------------------------------------------------------------------------------
def timeseries_figure(by_year: pd.DataFrame, width: float = 8.0) -> Figure:
    """Emissions, net emission and the sink per year (columns year, emissions_MtCO2, net_MtCO2,
    sink_total_MtCO2, optional ccus_MtCO2) [Mt CO2 yr-1]."""
    fig = new_figure(width, 3.4)
    ax = fig.add_subplot()
    styles = (("emissions_MtCO2", "emissions", C_SOURCE, "-"), ("net_MtCO2", "net emission", C_TOTAL, "-"),
              ("sink_total_MtCO2", "net sink", C_SINK, "--"), ("ccus_MtCO2", "CCUS", "#7b5ea7", ":"))
    for col, label, colour, ls in styles:
        if col in by_year and by_year[col].notna().any() and not (col == "ccus_MtCO2" and not by_year[col].any()):
            ax.plot(by_year["year"], by_year[col], marker="o", ms=3, color=colour, ls=ls, label=label)
    ax.set_ylabel(MT, fontsize=8)
    ax.set_xticks(by_year["year"], [str(int(y)) for y in by_year["year"]], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(by_year.drop(columns="year").select_dtypes("number").to_numpy()))))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False)
    return fig


# --- the 2060 scheme as a trajectory ------------------------------------------------------------------
_TRAJECTORY_COLOURS = {"CO2 emissions": C_SOURCE, "direct emission cuts": "#d4a017", "ecosystem sink": C_SINK,
                       "CCUS": "#7b5ea7"}


def trajectory_figure(rows: pd.DataFrame, width: float = 8.0) -> Figure:
    """Year against year (columns of :func:`pipeline.balance.trajectory_rows`): the scheme's national
    figures as filled markers (a range as a vertical bar), the run's own values as hollow markers in
    its year [Mt CO2 yr-1]. Nothing is divided by another year's value."""
    fig = new_figure(width, 3.6)
    ax = fig.add_subplot()
    quantities = list(dict.fromkeys(rows["quantity"]))
    offsets = {q: (i - (len(quantities) - 1) / 2) * 0.9 for i, q in enumerate(quantities)}
    for q in quantities:
        colour = _TRAJECTORY_COLOURS.get(q, C_TOTAL)
        part = rows[rows["quantity"] == q].sort_values("year")
        xs, ys = [], []
        for r in part.itertuples():
            x = float(r.year) + offsets[q]
            has_range = np.isfinite(r.low) and np.isfinite(r.high)
            y = r.central if np.isfinite(r.central) else (r.low + r.high) / 2 if has_range else np.nan
            if has_range:
                ax.vlines(x, r.low, r.high, color=colour, lw=4, alpha=0.8)
            if r.kind == "run":
                ax.scatter([x], [y], s=42, facecolor="white", edgecolor=colour, lw=1.6, zorder=4)
            elif np.isfinite(r.central):
                ax.scatter([x], [y], s=30, color=colour, zorder=4)
            ax.annotate(f"{r.central:,.0f}" if np.isfinite(r.central) else f"{r.low:,.0f}-{r.high:,.0f}", (x, y),
                        xytext=(5, 0), textcoords="offset points", fontsize=6.5, va="center")
            if r.kind == "scheme":
                xs.append(x)
                ys.append(y)
        if len(xs) > 1:
            ax.plot(xs, ys, color=colour, lw=0.8, ls=":")
        ax.plot([], [], color=colour, lw=4, label=q)
    ax.scatter([], [], s=42, facecolor="white", edgecolor=C_TOTAL, label="this run (hollow)")
    years = sorted(set(int(y) for y in rows["year"]))
    ax.set_xticks(years, [str(y) for y in years], fontsize=7)
    ax.set_xlim(min(years) - 4, max(years) + 6)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(MT, fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_title("The scheme year by year (filled: national figures; bars: ranges) and this run in its year",
                 fontsize=8.5)
    return fig


# --- reconciliation with published estimates -----------------------------------------------------------
def reconciliation_data(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the reconciliation chart from ``tables/reconciliation.csv``: ``label`` (source, period and
    method, shortened), ``central``, ``low``, ``high`` [Mt CO2 yr-1] and ``method_class``, in the table's order."""
    def short(text: str, n: int = 30) -> str:
        return text if len(text) <= n else text[: n - 3].rstrip() + "..."

    label = [f"{short(str(s).split(',')[0], 26)} ({p})\n{short(str(m))}"
             for s, p, m in zip(table["source"], table["period"], table["method_class"])]
    return pd.DataFrame({"label": label, "method_class": table["method_class"].astype(str).to_numpy(),
                         "central": table["central_MtCO2"].astype(float).to_numpy(),
                         "low": table["low_MtCO2"].astype(float).to_numpy(),
                         "high": table["high_MtCO2"].astype(float).to_numpy()})


def reconciliation_figure(table: pd.DataFrame, run_label: str = "this run", width: float = 8.0) -> Figure:
    """Dot and interval per published estimate (inversions blue, inventories brown, others green) with
    the run's terrestrial sink as a vertical line and its 5-95 % as a band [Mt CO2 yr-1]."""
    data = reconciliation_data(table)
    n = len(data)
    fig = new_figure(width, 0.46 * n + 1.5)
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    run = float(table["run_sink_MtCO2"].iloc[0])
    p05, p95 = float(table["run_p05_MtCO2"].iloc[0]), float(table["run_p95_MtCO2"].iloc[0])
    if np.isfinite(p05) and np.isfinite(p95):
        ax.axvspan(p05, p95, color="#cfd8e3", alpha=0.7, lw=0, label=f"{run_label}: 5-95 %")
    if np.isfinite(run):
        ax.axvline(run, color="black", lw=1.2, label=f"{run_label}: {run:,.0f}")
    for yi, r in zip(y, data.itertuples()):
        method = r.method_class.lower()
        colour = "#1b4f8a" if "inversion" in method else "#8c5a2b" if "inventory" in method and "ghg" in method \
            else C_SINK
        if np.isfinite(r.low) and np.isfinite(r.high):
            ax.hlines(yi, r.low, r.high, color=colour, lw=2.5)
        ax.scatter([r.central], [yi], color=colour, s=26, zorder=3)
        ax.annotate(f"{r.central:,.0f}", (r.central, yi), xytext=(0, 5), textcoords="offset points", ha="center",
                    fontsize=6.5)
    ax.set_yticks(y, data["label"], fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"national terrestrial net sink [{MT}], sink positive", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig

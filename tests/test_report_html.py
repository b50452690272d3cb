"""report.html and the regional pages: self-contained (data-URI PNGs, no network), rendered by headless
Chromium, and their numbers (waterfall bars, ranks, shares, comparisons) recomputed from the tables."""

import base64
import io
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import ROOT
from pipeline import figures
from pipeline.report_html import (comparison_rows, region_standing, to_MtCO2, write_html_report, write_region_page)
from pipeline.units import CO2_PER_C


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src", ""))


def assert_self_contained(path: Path, min_images: int = 1) -> list[Image.Image]:
    """Every <img> is a data: URI holding a valid PNG; nothing refers to the network or another file
    to load (stylesheets, scripts, fonts); no section failed to draw."""
    text = path.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(text)
    assert len(parser.srcs) >= min_images, f"{path.name}: {len(parser.srcs)} images"
    images = []
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,"), src[:60]
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        img = Image.open(io.BytesIO(png))
        img.verify()  # raises on a broken PNG
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG" and img.width > 50 and img.height > 50
        images.append(img)
    assert not re.search(r"https?://", text), "a http(s) reference"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*//""", text), "a protocol-relative reference"
    assert not re.search(r"<link\b|<script\b|@import|url\(", text, flags=re.I), "an external resource"
    assert "could not be drawn" not in text
    return images


@pytest.fixture(scope="module")
def run_copy(sample_run, tmp_path_factory):
    """A copy of the sample run that tests may write into (regional pages, edited tables)."""
    dest = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(sample_run.run_dir, dest)
    return dest


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(run_dir, dest)
    return dest


# --- report.html ------------------------------------------------------------------------------------
def test_report_html__written_by_run_and_self_contained(sample_run):
    path = sample_run.run_dir / "report.html"
    assert path.exists()
    images = assert_self_contained(path, min_images=6)  # waterfall, years, map, choropleth, bars, uncertainty
    assert len({img.size for img in images}) > 1
    text = path.read_text(encoding="utf-8")
    for section in ("summary", "balance", "maps", "net-map", "regions", "ecosystems", "uncertainty", "comparison",
                    "reconciliation", "methods", "provenance"):
        assert f'<section id="{section}">' in text, section
    total = sample_run.balance.set_index("item").loc["sink_total", "value"]
    nd = 1 if abs(total) >= 100 else 2  # the report's rule: 1 decimal from 100 up, else 2
    assert f"{total:,.{nd}f}&nbsp;Mt CO2 yr-1" in text
    assert 'class="badge">unconfirmed' in text  # coefficients whose evidence holds M
    manifest_sha = __import__("json").loads((sample_run.run_dir / "manifest.json").read_text())["inputs"]
    assert all(v["sha256"] in text for v in manifest_sha.values())


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_html__renders_in_headless_chromium(sample_run, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make setup-test` installs Debian's chromium package")
        pytest.skip("chromium not installed (`make setup-test` installs it)")
    shot = tmp_path / "report.png"
    url = (sample_run.run_dir / "report.html").resolve().as_uri()
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                           "--window-size=1200,3000", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
                           url], capture_output=True, text=True, timeout=180)
    assert shot.exists(), proc.stderr[-2000:]
    img = Image.open(shot).convert("RGB")
    assert img.size == (1200, 3000)
    arr = np.asarray(img, dtype=float)
    assert arr.var() > 100, "blank screenshot"
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200, "too few colours: the figures did not render"
    # the page's figures show up: a good share of the pixels is neither white nor near-white
    assert (arr.min(axis=2) < 200).mean() > 0.1


def test_waterfall__bar_heights_equal_balance_table(sample_run):
    path = sample_run.run_dir / "tables" / "balance.csv"
    table = pd.read_csv(path)
    value = dict(zip(table["item"], table["value"]))
    data = figures.waterfall_data(table)
    # expected bars, straight from the table: a total stands on zero, a sink lowers the running total
    e = value["emissions"]
    expected = [("emissions", 0.0, e)]
    running = e
    for item in ("sink_terrestrial", "sink_water", "sink_ocean", "ccus"):
        expected.append((item, running, running - value[item]))
        running -= value[item]
    assert running == pytest.approx(value["net_emission"], rel=1e-12)
    expected.append(("net_emission", 0.0, value["net_emission"]))
    running = value["net_emission"]
    expected.append(("non_co2_emission", running, running + value["non_co2_emission"]))
    running += value["non_co2_emission"]
    expected.append(("inorganic_sink", running, running - value["inorganic_sink"]))
    running -= value["inorganic_sink"]
    assert running == pytest.approx(value["net_emission_all"], rel=1e-12)
    expected.append(("net_emission_all", 0.0, value["net_emission_all"]))
    assert data["item"].tolist() == [x[0] for x in expected]
    for (item, bottom, top), row in zip(expected, data.itertuples()):
        assert row.bottom == pytest.approx(bottom, rel=1e-12, abs=1e-9), item
        assert row.top == pytest.approx(top, rel=1e-12, abs=1e-9), item
        assert row.value == pytest.approx(value[item], rel=1e-12, abs=1e-12), item
    # the bars drawn have exactly these heights
    fig = figures.waterfall_figure(data)
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == len(expected)
    for bar, (item, bottom, top) in zip(bars, expected):
        assert bar.get_height() == pytest.approx(abs(top - bottom), rel=1e-9, abs=1e-9), item
        assert bar.get_y() == pytest.approx(min(bottom, top), rel=1e-9, abs=1e-9), item


def test_waterfall__co2_only_and_without_inventory():
    co2 = pd.DataFrame({"item": ["emissions", "sink_terrestrial", "sink_water", "sink_ocean", "ccus", "net_emission"],
                        "value": [100.0, 20.0, -5.0, 10.0, 3.0, 72.0], "units": "Mt CO2 yr-1"})
    d = figures.waterfall_data(co2)
    assert d["item"].tolist() == co2["item"].tolist()
    assert d["delta"].tolist() == [100.0, -20.0, 5.0, -10.0, -3.0, 72.0]
    assert d.iloc[2][["bottom", "top"]].tolist() == [80.0, 85.0]  # a net-source realm raises the balance
    no_inventory = co2.assign(value=[np.nan, 20.0, -5.0, 10.0, 3.0, np.nan])
    d = figures.waterfall_data(no_inventory)
    assert "emissions" not in d["item"].tolist()
    assert d.iloc[-1]["label"] == "net (sinks only)" and d.iloc[-1]["top"] == pytest.approx(-28.0)


def _budget_with_region_lacking_emissions() -> pd.DataFrame:
    """A (emissions 1000; sinks terrestrial 250, water 30, ocean 20; CCUS 1), B (no inventory; 150, 10, 40;
    CCUS 2), unallocated (emissions 0; ocean 100). Mt CO2 yr-1."""
    b = pd.DataFrame({"region_id": ["A", "B", "unallocated"], "region": ["Alpha", "Beta", "unallocated"],
                      "sink_terrestrial_MtCO2": [250.0, 150.0, 0.0], "sink_water_MtCO2": [30.0, 10.0, 0.0],
                      "sink_ocean_MtCO2": [20.0, 40.0, 100.0], "gross_removal_MtCO2": [310.0, 210.0, 100.0],
                      "gross_emission_MtCO2": [10.0, 10.0, 0.0], "emissions_MtCO2": [1000.0, np.nan, 0.0],
                      "ccus_MtCO2": [1.0, 2.0, 0.0]})
    b["sink_total_MtCO2"] = b[["sink_terrestrial_MtCO2", "sink_water_MtCO2", "sink_ocean_MtCO2"]].sum(axis=1)
    return b


def test_waterfall__regions_without_inventory_get_their_own_step():
    """By hand: 1000 - 400 (terrestrial) - 40 (water) - 160 (ocean) - 6 (CCUS, national 3 + 1 + 2) = 394;
    + 200 (Beta's sink, not netted) + 2 (Beta's CCUS) = 596 = the net emission shown."""
    from pipeline.balance import balance

    table = balance(_budget_with_region_lacking_emissions(), 3.0, {}, 2021)
    data = figures.waterfall_data(table)
    assert data["item"].tolist() == ["emissions", "sink_terrestrial", "sink_water", "sink_ocean", "ccus",
                                     "sink_no_inventory", "ccus_no_inventory", "net_emission"]
    tops = data.set_index("item")["top"]
    assert tops["ccus"] == pytest.approx(394.0)
    assert tops["sink_no_inventory"] == pytest.approx(594.0) and tops["ccus_no_inventory"] == pytest.approx(596.0)
    assert tops["net_emission"] == pytest.approx(596.0)
    assert table.set_index("item").loc["net_emission", "value"] == pytest.approx(596.0)
    assert "without inventory" in data.set_index("item").loc["sink_no_inventory", "label"]
    fig = figures.waterfall_figure(data)
    assert len(fig.axes[0].patches) == len(data)


def test_waterfall__units_agree_and_small_steps_get_their_own_panel(sample_run):
    table = pd.read_csv(sample_run.run_dir / "tables" / "balance.csv")
    data = figures.waterfall_data(table)
    fig = figures.waterfall_figure(data)
    units = fig.axes[0].get_ylabel()
    assert units == "Mt CO2e yr-1"  # non-CO2 gases are in the chart
    assert f"[{units}]" in fig._suptitle.get_text() and "Mt CO2 yr-1" not in fig._suptitle.get_text()
    co2 = figures.waterfall_figure(figures.waterfall_data(table[~table["units"].str.contains("CO2e") & (table["item"] != "inorganic_sink")]))
    assert co2.axes[0].get_ylabel() == "Mt CO2 yr-1" and "[Mt CO2 yr-1]" in co2._suptitle.get_text()
    # sinks of tens of Mt beside emissions of ~2,300: a side panel of the steps, labelled with their values
    steps = data[data["kind"] == "step"]
    assert steps["delta"].abs().max() < 0.1 * data["top"].abs().max()
    side = fig.axes[1]
    widths = [p.get_width() for p in side.patches]
    np.testing.assert_allclose(widths, steps["delta"].to_numpy())
    texts = {t.get_text() for t in side.texts}
    v = table.set_index("item")["value"]
    assert f"{-v['sink_terrestrial']:,.2f}" in texts and f"{-v['sink_ocean']:,.2f}" in texts
    assert [t.get_text() for t in side.get_yticklabels()] == steps["label"].tolist()


def test_report_states_the_sink_against_the_2060_scheme(sample_run):
    """X = sink_total / 1000 Gt; Y = sink / 2500 to sink / 2000, from tables/balance.csv; the sample covers six
    provinces (regions.scope: subset), so the 2060 target is their share, labelled so, never "national"."""
    sink = pd.read_csv(sample_run.run_dir / "tables" / "balance.csv").set_index("item").loc["sink_total", "value"]
    sentence = (f"the ecosystem sink of the 6 assessed provinces is {sink / 1000:.3f} Gt CO2/yr; their share of the "
                f"national 2060 sink target (2.0-2.5 Gt CO2/yr) is {100 * sink / 2500:.1f}-{100 * sink / 2000:.1f} %")
    md = (sample_run.run_dir / "report.md").read_text()
    assert sentence in md and "National emissions changed" not in md
    assert "Emissions of the 6 assessed provinces changed" in md
    html = (sample_run.run_dir / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert sentence in summary and "<h2>Summary of 6 assessed provinces</h2>" in summary
    assert "National summary" not in html


def test_sink_map__colour_bar_in_units_and_province_outlines(sample_run):
    import geopandas as gpd
    from matplotlib.collections import LineCollection

    arr, extent, crs = figures.read_map(sample_run.run_dir / "maps" / "sink_total.tif", max_px=100)
    assert max(arr.shape) <= 100 and crs is not None
    regions = gpd.read_file(sample_run.run_dir / "budget.gpkg", layer="regions").to_crs(crs)
    fig = figures.sink_map_figure(arr, extent, list(regions.geometry))
    label = fig.axes[1].get_ylabel()
    assert "g C m-2 yr-1" in label and "sink positive" in label
    # every ring of every province is drawn, at its own coordinates
    rings = [np.asarray(r.coords)[:, :2] for g in regions.geometry
             for poly in getattr(g, "geoms", [g]) for r in [poly.exterior, *poly.interiors]]
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines) == 1
    segs = lines[0].get_segments()
    assert len(regions) == 6 and len(segs) == len(rings) >= 6
    for seg, ring in zip(segs, rings):
        np.testing.assert_allclose(seg, ring)
    # the outlines lie inside the map's extent (same CRS as the raster)
    allxy = np.concatenate(segs)
    left, right, bottom, top = extent
    pad = 0.02 * max(right - left, top - bottom)
    assert allxy[:, 0].min() >= left - pad and allxy[:, 0].max() <= right + pad
    assert allxy[:, 1].min() >= bottom - pad and allxy[:, 1].max() <= top + pad


def test_choropleth__missing_inventory_hatched_not_zero(sample_run):
    import geopandas as gpd

    budgets = pd.read_csv(sample_run.run_dir / "tables" / "budgets.csv", dtype={"region_id": str})
    budgets.loc[budgets["region"] == "Jiangsu", ["emissions_MtCO2", "net_MtCO2"]] = np.nan
    regions = gpd.read_file(sample_run.run_dir / "budget.gpkg", layer="regions")
    data = figures.choropleth_data(regions, budgets)
    assert data.set_index("region")["missing"].to_dict() == {r: r == "Jiangsu" for r in data["region"]}
    fig = figures.choropleth_figure(data)
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 1  # Jiangsu alone, hatched
    assert tuple(hatched[0].get_facecolor()[0][:3]) != (1.0, 1.0, 1.0)
    assert len(ax.collections[0].get_array()) == len(data) - 1  # the missing region is not coloured as a value
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no inventory"]
    assert any("Jiangsu\nno inventory" == t.get_text() for t in ax.texts)


def test_uncertainty_and_comparison_sections(run_copy, tmp_path):
    run = _copy(run_copy, tmp_path)
    text = write_html_report(run).read_text()
    section = text.split('<section id="uncertainty">')[1].split("</section>")[0]
    assert "<img" in section and "5th-95th" in section
    (run / "tables" / "uncertainty.csv").unlink()
    text = write_html_report(run).read_text()
    assert "No <code>tables/uncertainty.csv</code>" in text
    # without a scenario file the seed paper's 2060 figures are shown
    manifest = __import__("json").loads((run / "manifest.json").read_text())
    manifest["config"]["balance"]["scenario"] = None
    (run / "manifest.json").write_text(__import__("json").dumps(manifest))
    section = write_html_report(run).read_text().split('<section id="comparison">')[1].split("</section>")[0]
    assert "seed paper" in section and "2,000 to 2,500&nbsp;Mt CO2 yr-1" in section
    assert_self_contained(run / "report.html", min_images=5)


def test_comparison_rows__against_scenario_file(sample_run):
    balance = pd.read_csv(sample_run.run_dir / "tables" / "balance.csv").set_index("item")["value"]
    scenario = yaml.safe_load((ROOT / "configs" / "scenarios" / "yu2022_2060.yaml").read_text())
    rows = {r["label"]: r for r in comparison_rows(pd.read_csv(sample_run.run_dir / "tables" / "balance.csv"),
                                                     scenario)}
    eco = rows["ecosystem carbon sink needed in 2060"]
    assert (eco["low"], eco["high"]) == (2000.0, 2500.0) and eco["assessed"] == balance["sink_total"]
    assert eco["share_low_pct"] == pytest.approx(100 * balance["sink_total"] / 2000.0)
    for est in scenario.get("published_sinks", []):
        row = next(r for r in rows.values() if r["label"].startswith(est["name"]))
        assert row["central"] == pytest.approx(est["central"] * 1000 * 44 / 12)  # Pg C -> Mt CO2
        item = {"terrestrial": "sink_terrestrial", "inland_water": "sink_water"}[est["realm"]]
        assert row["assessed"] == balance[item]
    assert to_MtCO2(1.0, "Pg C yr-1") == pytest.approx(1000 * CO2_PER_C)


# --- regional pages ----------------------------------------------------------------------------------
def test_region_page__rank_and_share_from_budgets(run_copy):
    path = write_region_page(run_copy, "zhejiang")
    assert path == run_copy / "regions" / "zhejiang.html"
    assert_self_contained(path, min_images=1)
    text = path.read_text()
    # recomputed independently from tables/budgets.csv
    b = pd.read_csv(run_copy / "tables" / "budgets.csv", dtype={"region_id": str})
    regions = b[b["region_id"] != "unallocated"].set_index("region")
    z = regions.loc["Zhejiang"]
    rank_sink = int(regions["sink_total_MtCO2"].rank(ascending=False, method="min")["Zhejiang"])
    rank_net = int(regions["net_MtCO2"].rank(ascending=False, method="min")["Zhejiang"])
    share_sink = 100 * z["sink_total_MtCO2"] / b["sink_total_MtCO2"].sum()
    share_emissions = 100 * z["emissions_MtCO2"] / b["emissions_MtCO2"].sum()
    share_area = 100 * z["area_km2"] / b["area_km2"].sum()
    st = region_standing(b, "330000")
    assert (st["rank_sink"], st["n_sink"], st["rank_net"], st["n_net"]) == (rank_sink, 6, rank_net, 6)
    assert st["share_sink_pct"] == pytest.approx(share_sink, rel=1e-12)
    assert st["share_emissions_pct"] == pytest.approx(share_emissions, rel=1e-12)
    assert st["share_area_pct"] == pytest.approx(share_area, rel=1e-12)
    if "rank_sink" in b:  # the budgets table's own ranks agree
        assert (int(z["rank_sink"]), int(z["rank_net_emission"])) == (rank_sink, rank_net)
    assert f"{rank_sink} of 6" in text and f"{rank_net} of 6" in text
    # the budget row shows ranks as whole numbers, e.g. "2", never "2.000"
    for col in ("rank_sink", "rank_net_emission", "rank_offset"):
        if col in b:
            cell = re.search(rf"<td>{col}</td><td class=num>([^<]*)</td>", text).group(1)
            assert cell == str(int(z[col])), (col, cell)
    assert f"{share_sink:,.2f}&nbsp;%" in text and f"{share_emissions:,.2f}&nbsp;%" in text
    # its ecosystems: area and net per ecosystem from tables/region_ecosystem.csv
    reco = pd.read_csv(run_copy / "tables" / "region_ecosystem.csv", dtype={"region_id": str})
    forest = reco[(reco["region_id"] == "330000") & (reco["ecosystem"] == "forest")].iloc[0]
    assert f"{forest['area_km2']:,.0f}" in text and f"{forest['sink_MgC_yr']:,.0f}" in text
    # the national report links the page now that it exists
    assert 'href="regions/zhejiang.html"' in write_html_report(run_copy).read_text()


def test_region_standing__region_without_inventory_is_not_ranked(sample_run):
    b = pd.read_csv(sample_run.run_dir / "tables" / "budgets.csv", dtype={"region_id": str})
    b.loc[b["region"] == "Anhui", ["emissions_MtCO2", "net_MtCO2"]] = np.nan
    st = region_standing(b, "340000")
    assert st["rank_net"] is None and st["n_net"] == 5 and math.isnan(st["share_emissions_pct"])
    assert st["rank_sink"] is not None
    other = region_standing(b, "320000")  # Jiangsu stays the largest net emitter among the 5 with inventories
    assert (other["rank_net"], other["n_net"]) == (1, 5)

"""Build the national China inputs (``sample_rasters/china/``) from the public data in ``../shared/data``.

Developers only: the pipeline and its tests never read ``../shared``; they read the files this
script writes into ``sample_rasters/china/``. The script is deterministic (fixed numpy seed, fixed
GeoPackage timestamps): the same inputs give the same files. Two layers are SYNTHETIC (the 2010
land cover and the air-sea CO2 flux); every step, and the constants below, are described in
``sample_rasters/china/PROVENANCE.md``.

Usage::

    python sample_rasters/make_china.py --shared ../shared/data --out sample_rasters/china

then ``make_seas.py`` (it adds the layer ``seas`` to ``regions.gpkg``, which this script rewrites).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.windows import from_bounds

# --- land cover ------------------------------------------------------------------------------
#: Code given to MODIS water (IGBP 0) outside the province land polygons: sea, not inland water
#: (the scheme ``configs/landcover/sample_modis_igbp_sea.csv``, shared with the East China sample).
SEA_CODE = 20
NODATA = 255
#: The province layer used both for the land/sea rule and for ``regions.gpkg``: the data helper's
#: topology-preserving simplification (topojson, 0.01 deg, ~1 km) of the 34 provincial units.
PROVINCE_LAYER = "provinces_coarse"
#: Coverage (topology-preserving) simplification of the offshore zones, deg (~1 km): roughly the
#: square root of the area of the triangles removed (Visvalingam-Whyatt, shapely.coverage_simplify).
OFFSHORE_SIMPLIFY_DEG = 0.01
#: Gap left between the offshore zones and the land polygons, m (see ``_regions``): negligible area
#: (~27 km2 along the whole coast), but it keeps land + offshore valid after projection.
COAST_GAP_M = 1.0
#: China Albers, the analysis grid of configs/china.yaml (used here only to remove land and to check).
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs"
#: Every source raster is cropped to the extent of the provinces and offshore zones, snapped
#: outwards to whole 1 deg cells so each source crops on its own cell edges (no resampling).
SNAP_DEG = 1.0

# --- SYNTHETIC 2010 land cover (for the stock-change method) -----------------------------------
#: Seed of the random choice of the pixels that changed (numpy default_rng).
SEED = 20102019
#: IGBP codes counted as forest (the scheme maps 1-5 and 8, woody savannas, to forest).
FOREST_CODES = (1, 2, 3, 4, 5, 8)
#: Codes a restored forest pixel may have had in 2010, in order of preference on ties:
#: croplands, cropland/natural mosaic, grasslands, savannas (Grain-for-Green converts mostly cropland).
FOREST_FROM_CODES = (12, 14, 10, 9)
#: Share of all 2019 forest pixels that were cropland/grassland in 2010 (afforestation of the
#: Grain-for-Green and other restoration programmes), drawn only among forest pixels with a
#: cropland/grassland neighbour (8-neighbourhood). Order of magnitude: China's forest area grew
#: from 208 Mha (8th national forest inventory, 2009-2013; Xinhua/People's Daily, Feb 2019) to
#: 220 Mha (SCIO press conference, 2021): 220/208 = 1.058, so ~5.5 % of today's forest is new since
#: about 2010. Definitions differ (NFI forest vs MODIS IGBP classes): the value is illustrative.
FOREST_GAIN_SHARE = 0.055
#: Codes a 2019 settlement pixel may have had in 2010, preferred in this order on ties.
URBAN_FROM_CODES = (12, 14)
#: Share of all 2019 settlement (IGBP 13) pixels that were cropland in 2010 (urban expansion onto
#: farmland), drawn only among settlement pixels with a cropland neighbour. Order of magnitude:
#: China's urban land was 0.97e5 km2 in 2020 and grew 1,857.5 km2/yr on average over 1980-2020,
#: fastest after 2000, with farmland the main land cover taken (Frontiers in Environmental Science
#: 2022, doi:10.3389/fenvs.2022.1065174): ~1.9e4 km2 per decade, ~20 % of the 2020 area.
#: Illustrative, not a measured MODIS change.
URBAN_SHARE = 0.20

# --- SYNTHETIC air-sea CO2 flux --------------------------------------------------------------
#: Per-sea central air-sea CO2 uptake, g C m-2 yr-1, uptake positive (COEFFICIENTS.md section 4):
#: Bohai -2.9 (Jiao et al. 2018: -0.22 Tg C/yr over ~77,000 km2), Yellow Sea north 0 (Front. Mar.
#: Sci. 2024, near balance), Yellow Sea south 25.2 (Kim, Cho & Choi 2024: 2.1 mol m-2 yr-1), East
#: China Sea shelf 30.2 (Guo et al. 2015: 6.9 mmol m-2 d-1), South China Sea -6.8 (Jiao et al. 2018:
#: -23.7 Tg C/yr over ~3.5 Mkm2; midpoint of -4.0 to -9.6).
SEA_FLUX_G_C = {"bohai": -2.9, "yellow_north": 0.0, "yellow_south": 25.2, "east_china": 30.2,
                "south_china": -6.8}
#: g C per mol C (IUPAC; the pipeline's pipeline.units.MOLAR_MASS_C).
MOLAR_MASS_C = 12.011
#: Sea "boxes" as lon/lat polygons, tested in this order on each sea pixel centre (first match
#: wins; South China Sea takes the rest). The boundaries follow the usual Chinese conventions and
#: cross water only at the straits; elsewhere they run over land, where there are no sea pixels:
#: - Bohai / Yellow Sea: the Bohai Strait, Penglai (120.75E 37.82N) - Laotieshan (121.13E 38.75N),
#:   then north-east along the Liaodong Peninsula (land) to 122.6E 40.5N;
#: - North / South Yellow Sea: Chengshantou (122.7E 37.4N) - Changsan Cape, Korea (124.7E 38.0N),
#:   extended straight both ways (west of Chengshantou it runs over the Shandong Peninsula);
#: - Yellow Sea / East China Sea: Qidong Point, north bank of the Yangtze mouth (121.97E 31.7N) -
#:   south-west Jeju (126.15E 33.2N), extended straight both ways;
#: - East / South China Sea: Nan'ao Island, Guangdong (117.1E 23.42N) - Eluanbi, southern tip of
#:   Taiwan (120.85E 21.9N), then 21.9N eastwards (the Taiwan Strait is East China Sea).
def _line(p, q, x):
    """Latitude at longitude ``x`` of the straight lon/lat line through points ``p`` and ``q``."""
    return p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0])


_CHENGSHAN, _CHANGSAN = (122.7, 37.4), (124.7, 38.0)
_QIDONG, _JEJU = (121.97, 31.7), (126.15, 33.2)
_NANAO, _ELUANBI = (117.1, 23.42), (120.85, 21.9)
SEA_BOXES: dict[str, list[tuple[float, float]]] = {
    "bohai": [(116.5, 36.9), (120.75, 36.9), (120.75, 37.82), (121.13, 38.75), (121.35, 38.9), (121.6, 39.0),
              (121.8, 39.3), (122.0, 39.7), (122.3, 40.0), (122.6, 40.5), (122.6, 42.0), (116.5, 42.0)],
    "yellow_north": [(116.0, _line(_CHENGSHAN, _CHANGSAN, 116.0)), (130.0, _line(_CHENGSHAN, _CHANGSAN, 130.0)),
                     (130.0, 42.0), (116.0, 42.0)],
    "yellow_south": [(116.0, _line(_QIDONG, _JEJU, 116.0)), (130.0, _line(_QIDONG, _JEJU, 130.0)),
                     (130.0, 42.0), (116.0, 42.0)],
    "east_china": [(112.0, _line(_NANAO, _ELUANBI, 112.0)), _NANAO, _ELUANBI, (130.0, 21.9), (130.0, 42.0),
                   (112.0, 42.0)],
    "south_china": [(100.0, 0.0), (130.0, 0.0), (130.0, 42.0), (100.0, 42.0)],
}

# --- tables ------------------------------------------------------------------------------------
EMISSION_YEARS = (2015, 2019)

TILED = {"compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}


def _polygons(geoms) -> list:
    """Each geometry reduced to its polygon parts, as a MultiPolygon (make_valid may return collections)."""
    return [shapely.MultiPolygon([p for p in shapely.get_parts(g) if isinstance(p, shapely.Polygon)]) for g in geoms]


def _regions(shared: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The 34 provinces and China's offshore zones (simplified, land removed), EPSG:4326.

    The zones are simplified as a coverage in EPSG:4326, the land (slightly buffered, COAST_GAP_M) is
    removed in China Albers, and the result is projected back and repaired. The gap keeps each
    zone's inner edge from touching the land polygons, so the union of a province's land and zone
    stays valid once projected to China Albers (see the check at the end)."""
    admin = shared / "china_admin_boundaries" / "china_admin_boundaries.gpkg"
    prov = gpd.read_file(admin, layer=PROVINCE_LAYER).sort_values("adcode").reset_index(drop=True)
    assert len(prov) == 34, len(prov)
    eez = gpd.read_file(shared / "china_offshore_eez_by_province" / "china_offshore_eez_by_province.gpkg",
                        layer="offshore_eez_by_province")
    eez = eez.sort_values("adcode").reset_index(drop=True)
    assert shapely.coverage_is_valid(eez.geometry.values)
    simple = gpd.GeoSeries(shapely.coverage_simplify(eez.geometry.values, OFFSHORE_SIMPLIFY_DEG), crs=eez.crs)
    land_a = shapely.union_all(prov.to_crs(ALBERS).geometry.values)
    sea_a = shapely.difference(simple.to_crs(ALBERS).values, shapely.buffer(land_a, COAST_GAP_M, quad_segs=2))
    sea = gpd.GeoSeries(sea_a, crs=ALBERS).to_crs(eez.crs)
    eez = gpd.GeoDataFrame(eez[["adcode", "name_zh", "name_en"]], geometry=_polygons(shapely.make_valid(sea.values)),
                           crs=eez.crs)
    _check_regions(prov, eez)
    return prov, eez


def _check_regions(prov: gpd.GeoDataFrame, eez: gpd.GeoDataFrame) -> None:
    """The pipeline unions each province's land and zone in the file's CRS, then projects to the grid
    (China Albers) without repair: make sure every such union, and every zone, is valid there."""
    assert eez.geometry.is_valid.all() and eez.to_crs(ALBERS).geometry.is_valid.all()
    land = prov.set_index("adcode").geometry
    for code, zone in zip(eez["adcode"], eez.geometry):
        alloc = gpd.GeoSeries([shapely.union(land[code], zone)], crs=prov.crs).to_crs(ALBERS)
        assert alloc.is_valid.all(), f"land + offshore of {code} is invalid in China Albers"
    overlap = shapely.intersection(shapely.union_all(prov.to_crs(ALBERS).geometry.values),
                                   shapely.union_all(eez.to_crs(ALBERS).geometry.values)).area
    assert overlap < 1.0, f"offshore zones overlap land by {overlap} m2"


def _box(prov, eez) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = pd.concat([prov.geometry, eez.geometry]).total_bounds
    s = SNAP_DEG
    return (np.floor(xmin / s) * s, np.floor(ymin / s) * s, np.ceil(xmax / s) * s, np.ceil(ymax / s) * s)


def _read_crop(path: Path, box, band: int = 1):
    """Window of ``box`` (exact cell edges, no resampling): array, profile, dataset and band tags."""
    with rasterio.open(path) as src:
        win = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
        arr = src.read(band, window=win)
        profile = src.profile.copy()
        profile.update(count=1, height=arr.shape[0], width=arr.shape[1], transform=src.window_transform(win),
                       interleave="band", **TILED)
        tags, band_tags, desc = src.tags(), src.tags(band), src.descriptions[band - 1]
    return arr, profile, tags, band_tags, desc


def _write(path: Path, arr, profile, tags: dict, band_tags: dict | None = None, desc: str | None = None) -> None:
    profile = {**profile, "dtype": arr.dtype.name}
    if profile["height"] < 256 or profile["width"] < 256:  # small rasters: one tile row is enough
        profile.update(blockxsize=128, blockysize=128)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.update_tags(**tags)
        dst.update_tags(1, **{**(band_tags or {}), **tags})
        if desc:
            dst.set_band_description(1, desc)


def _centres(profile):
    t = profile["transform"]
    lon = t.c + t.a * (np.arange(profile["width"]) + 0.5)
    lat = t.f + t.e * (np.arange(profile["height"]) + 0.5)
    return np.meshgrid(lon, lat)


def _neighbour_counts(arr: np.ndarray, codes) -> np.ndarray:
    """For each code, how many of the 8 neighbours of each pixel hold it: shape (len(codes), *arr.shape)."""
    pad = np.pad(arr, 1, constant_values=NODATA)
    h, w = arr.shape
    out = np.zeros((len(codes),) + arr.shape, dtype=np.uint8)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            nb = pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            for k, c in enumerate(codes):
                out[k] += nb == c
    return out


def _revert(lc: np.ndarray, new: np.ndarray, from_codes, share: float, keys: np.ndarray, what: str) -> dict:
    """Set ``round(share * new.sum())`` pixels of class ``new`` that touch one of ``from_codes`` back to
    their most frequent such neighbour (ties: order of ``from_codes``); those with the lowest random
    ``keys`` are chosen. Modifies ``lc`` in place and returns counts for the provenance."""
    counts = _neighbour_counts(lc, from_codes)
    eligible = new & (counts.sum(axis=0) > 0)
    n_class, n_elig = int(new.sum()), int(eligible.sum())
    k = int(round(share * n_class))
    if k > n_elig:
        print(f"warning: {what}: {k} pixels wanted but only {n_elig} eligible; taking all")
        k = n_elig
    idx = np.flatnonzero(eligible)
    chosen = idx[np.argsort(keys.ravel()[idx], kind="stable")[:k]]
    # argmax returns the first maximum: ties go to the earlier code of from_codes
    best = np.asarray(from_codes, dtype=lc.dtype)[counts.reshape(len(from_codes), -1)[:, chosen].argmax(axis=0)]
    flat = lc.reshape(-1)
    before = flat[chosen].copy()
    flat[chosen] = best
    return {"class_px": n_class, "eligible_px": n_elig, "changed_px": k,
            "share_of_eligible": k / n_elig if n_elig else 0.0,
            "to": {int(c): int((best == c).sum()) for c in from_codes},
            "from": {int(c): int((before == c).sum()) for c in np.unique(before)}}


def _sea_index(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index into SEA_BOXES of the first box containing each point (-1 if none)."""
    out = np.full(lon.shape, -1, dtype=np.int8)
    for i, poly in enumerate(SEA_BOXES.values()):
        inside = shapely.contains_xy(shapely.Polygon(poly), lon, lat) & (out < 0)
        out[inside] = i
    return out


def build(shared: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["OGR_CURRENT_DATE"] = "2024-01-01T00:00:00Z"  # fixed GeoPackage timestamps: same bytes each run
    prov, eez = _regions(shared)
    box = _box(prov, eez)
    land = shapely.union_all(prov.geometry.values)
    sea_domain = shapely.union_all(eez.geometry.values)

    # 1. land cover 2019: sea recoded, outside China nodata
    lc, profile, tags, _, _ = _read_crop(shared / "modis_mcd12c1_landcover" / "MCD12C1_2019_IGBP_china_0p05deg.tif", box)
    shape, transform = lc.shape, profile["transform"]
    in_land = ~geometry_mask([land], shape, transform)  # pixel centre inside a province polygon
    in_sea = ~geometry_mask([sea_domain], shape, transform) & ~in_land
    lc = lc.copy()
    lc[(lc == 0) & ~in_land] = SEA_CODE
    lc[~(in_land | in_sea)] = NODATA  # neighbouring countries' land and foreign waters
    lc_tags = {"kind": "categorical", "units": "class code", "scheme": "sample_modis_igbp_sea", "year": "2019",
               "source": "MODIS MCD12C1 C6 IGBP 2019 (doi:10.5067/MODIS/MCD12C1.006); water outside the 34 "
                         "province polygons recoded to 20 (sea); masked to China's provinces and offshore zones"}
    _write(out / "landcover_modis_igbp_2019.tif", lc, profile, {**tags, **lc_tags})

    # 2. SYNTHETIC land cover 2010: undo afforestation and urban expansion
    rng = np.random.default_rng(SEED)
    keys = rng.random(lc.shape)
    lc10 = lc.copy()
    forest = np.isin(lc, FOREST_CODES)
    settlement = lc == 13
    stats_forest = _revert(lc10, forest, FOREST_FROM_CODES, FOREST_GAIN_SHARE, keys, "forest")
    stats_urban = _revert(lc10, settlement, URBAN_FROM_CODES, URBAN_SHARE, keys, "settlement")
    syn_tags = {**lc_tags, "year": "2010", "synthetic": "yes",
                "source": "SYNTHETIC, derived from landcover_modis_igbp_2019.tif by make_china.py (seed "
                          f"{SEED}): {FOREST_GAIN_SHARE:.1%} of 2019 forest pixels set back to cropland/grassland, "
                          f"{URBAN_SHARE:.0%} of 2019 settlement pixels set back to cropland. Illustrative only"}
    _write(out / "landcover_modis_igbp_2010_synthetic.tif", lc10, profile, {**tags, **syn_tags})

    # 3. SYNTHETIC air-sea CO2 flux on the land-cover grid (mol C m-2 yr-1, uptake positive)
    lon, lat = _centres(profile)
    sea = lc == SEA_CODE
    idx = _sea_index(lon, lat)
    assert (idx[sea] >= 0).all()
    mol = np.array([v / MOLAR_MASS_C for v in SEA_FLUX_G_C.values()], dtype=np.float32)
    flux = np.full(lc.shape, np.nan, dtype=np.float32)
    flux[sea] = mol[idx[sea]]
    fprof = {**profile, "dtype": "float32", "nodata": np.nan}
    _write(out / "air_sea_co2_flux_synthetic.tif", flux, fprof, {
        "units": "mol C m-2 yr-1", "sign_convention": "uptake_positive", "kind": "density", "synthetic": "yes",
        "source": "SYNTHETIC: per-sea central air-sea CO2 uptake of COEFFICIENTS.md section 4 (g C m-2 yr-1 "
                  + ", ".join(f"{k} {v:g}" for k, v in SEA_FLUX_G_C.items())
                  + " / 12.011) painted on the sea pixels (code 20) of landcover_modis_igbp_2019.tif by lon/lat "
                    "sea boxes (make_china.py SEA_BOXES). Illustrative only"},
        desc="air_sea_co2_uptake_mol_m2_yr")
    px_area = _pixel_area_m2(lat, profile)
    sea_stats = {name: (float(px_area[sea & (idx == i)].sum() / 1e6),
                        float((px_area * np.nan_to_num(flux))[sea & (idx == i)].sum() * MOLAR_MASS_C / 1e12))
                 for i, name in enumerate(SEA_BOXES)}

    # 4. GCB2023 SLAND and ELUC, copies at native resolution
    gcb = shared / "gcb2023_gridded_land_fluxes"
    arr, p, t, bt, d = _read_crop(gcb / "GCB2023_SLAND_DGVMs_2013-2022mean_china_0p5deg.tif", box)
    _write(out / "sland_gcb2023_2013_2022.tif", arr, p, {**t, "units": "kg C m-2 s-1", "sign_convention":
           "uptake_positive", "kind": "density", "source": "Global Carbon Budget 2023 SLAND, DGVM ensemble mean "
           "2013-2022 (Friedlingstein et al. 2023, doi:10.5194/essd-15-5301-2023)"}, bt, d)
    arr, p, t, bt, d = _read_crop(gcb / "GCB2023_ELUC_bookkeeping_2013-2022mean_china_0p25deg.tif", box)
    _write(out / "eluc_gcb2023_2013_2022.tif", arr, p, {**t, "units": "kg C m-2 yr-1", "sign_convention":
           "emission_positive", "kind": "density", "source": "Global Carbon Budget 2023 land-use-change flux "
           "ELUC, mean of the bookkeeping models BLUE, H&C2023, OSCAR, 2013-2022 (Friedlingstein et al. 2023, "
           "doi:10.5194/essd-15-5301-2023)"}, bt, d)

    # 5. CDIAC NDP-058 gridded fossil CO2, 2013 band only (a per-cell TOTAL, not a density)
    cdiac = shared / "cdiac_ndp058_gridded_fossil_co2" / "cdiac_gridcar_1980-2013_china_1deg.tif"
    with rasterio.open(cdiac) as src:
        band = [i for i in range(1, src.count + 1) if src.tags(i).get("year") == "2013"][0]
    arr, p, t, bt, d = _read_crop(cdiac, box, band)
    _write(out / "fossil_co2_cdiac_ndp058_2013.tif", arr, p, {**t, "units": "Tg C yr-1 per cell", "sign_convention":
           "emission_positive", "kind": "total", "year": "2013"}, bt, d)

    # 6. regions: provinces and offshore zones
    regions = out / "regions.gpkg"
    regions.unlink(missing_ok=True)
    prov[["adcode", "name_zh", "name_en", "iso3166_2", "ceads_name", "geometry"]].to_file(
        regions, layer="provinces", driver="GPKG")
    eez.to_file(regions, layer="offshore", driver="GPKG")

    # 7. emissions (CEADs, 30 provinces) and population (NBS, 31 provinces)
    y0, y1 = EMISSION_YEARS
    ceads = pd.read_csv(shared / "ceads_provincial_co2" / "ceads_province_totals_by_fuel_2015_2019.csv")
    ceads = ceads[ceads["year"].between(y0, y1)]
    ceads[["year", "adcode", "ceads_name", "name_en", "Process_MtCO2", "Scope_1_Total_MtCO2"]].sort_values(
        ["year", "adcode"]).to_csv(out / f"emissions_ceads_{y0}_{y1}.csv", index=False)
    pop = pd.read_csv(shared / "china_provincial_population" / "china_provincial_population_2005_2024.csv")
    pop = pop[pop["year"].between(y0, y1)]
    pop[["year", "adcode", "name_en", "population"]].sort_values(["year", "adcode"]).to_csv(
        out / f"population_nbs_{y0}_{y1}.csv", index=False)

    # report
    print(f"box (lon/lat): {box}; land-cover grid {lc.shape[1]} x {lc.shape[0]} px")
    print(f"land px {int(in_land.sum())}, sea px (code 20) {int(sea.sum())}, nodata px {int((lc == NODATA).sum())}, "
          f"inland water px (code 0) {int((lc == 0).sum())}")
    print(f"synthetic 2010, forest: {stats_forest}")
    print(f"synthetic 2010, settlement: {stats_urban}")
    for name, (km2, tg) in sea_stats.items():
        print(f"sea {name}: {km2:,.0f} km2, {SEA_FLUX_G_C[name]:+.1f} g C m-2 yr-1, {tg:+.3f} Tg C yr-1")
    missing = sorted(set(prov["adcode"]) - set(ceads["adcode"]))
    print(f"provinces without CEADs emissions: {prov.set_index('adcode').loc[missing, 'name_en'].tolist()}")
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"total size of {out}: {total / 1e6:.2f} MB")


def _pixel_area_m2(lat: np.ndarray, profile) -> np.ndarray:
    """Area of each lon/lat pixel on the WGS84 authalic sphere (for the printed check only)."""
    r = 6371007.2
    t = profile["transform"]
    half = abs(t.e) / 2
    return (np.radians(abs(t.a)) * r ** 2 * np.abs(np.sin(np.radians(lat + half)) - np.sin(np.radians(lat - half))))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=here.parent.parent / "shared" / "data",
                    help="the shared data folder (default: ../shared/data beside the repository)")
    ap.add_argument("--out", type=Path, default=here / "china")
    a = ap.parse_args()
    build(a.shared, a.out)

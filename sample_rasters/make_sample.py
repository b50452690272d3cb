"""Build the bundled East China sample from the real public data in ``../shared/data``.

Developers only: the pipeline and its tests never read ``../shared``; they read the files this
script writes into ``sample_rasters/`` (committed). The script is deterministic: the same inputs
give the same files. Every step is described in ``sample_rasters/PROVENANCE.md``.

Usage::

    python sample_rasters/make_sample.py --shared ../shared/data --out sample_rasters

then ``make_seas.py`` (it adds the layer ``seas`` to ``regions.gpkg``, which this script rewrites).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.windows import from_bounds

#: The six provinces of the sample: four coastal (Shanghai, Jiangsu, Zhejiang, Fujian),
#: two inland (Anhui, Jiangxi), with Taihu, Hongze, Chaohu and Poyang lakes and the East China Sea.
PROVINCES = [310000, 320000, 330000, 340000, 350000, 360000]
#: Code given to MODIS water (IGBP 0) outside the province land polygons: sea, not inland water.
SEA_CODE = 20
#: Zhejiang's prefectures (a sub-provincial level for the hierarchy), with standard pinyin names.
ZHEJIANG_PREFECTURES_EN = {
    330100: "Hangzhou", 330200: "Ningbo", 330300: "Wenzhou", 330400: "Jiaxing", 330500: "Huzhou",
    330600: "Shaoxing", 330700: "Jinhua", 330800: "Quzhou", 330900: "Zhoushan", 331000: "Taizhou",
    331100: "Lishui",
}
NODATA = 255


def _box(shared: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, tuple[float, float, float, float]]:
    admin = shared / "china_admin_boundaries" / "china_admin_boundaries.gpkg"
    prov = gpd.read_file(admin, layer="provinces")
    prov = prov[prov["adcode"].isin(PROVINCES)].sort_values("adcode").reset_index(drop=True)
    eez = gpd.read_file(
        shared / "china_offshore_eez_by_province" / "china_offshore_eez_by_province.gpkg",
        layer="offshore_eez_by_province_minus_land",
    )
    own = eez[eez["adcode"].isin(PROVINCES)]
    xmin, ymin, xmax, ymax = pd.concat([prov.geometry, own.geometry]).total_bounds
    # Snap outwards to whole 0.5 degree cells so every source crops on its own cell edges.
    box = (np.floor(xmin * 2) / 2, np.floor(ymin * 2) / 2, np.ceil(xmax * 2) / 2, np.ceil(ymax * 2) / 2)
    clip = shapely.box(*box)
    eez = eez[eez.intersects(clip)].copy()
    eez["geometry"] = eez.geometry.intersection(clip)
    eez = eez.sort_values("adcode").reset_index(drop=True)
    return prov, eez, box


def _crop(src_path: Path, box, out_path: Path, transform_array, tags: dict) -> None:
    with rasterio.open(src_path) as src:
        win = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
        arr = src.read(1, window=win)
        profile = src.profile.copy()
        profile.update(
            height=arr.shape[0], width=arr.shape[1], transform=src.window_transform(win),
            compress="deflate", tiled=True, blockxsize=128, blockysize=128,
        )
        src_tags = src.tags(1)
    arr = transform_array(arr, profile)
    with rasterio.open(out_path, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.update_tags(1, **{**src_tags, **tags})
        dst.update_tags(**tags)


def build(shared: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    prov, eez, box = _box(shared)
    land = shapely.union_all(prov.geometry.values)
    sea_domain = shapely.union_all(eez.geometry.values)

    def landcover(arr, profile):
        shape, transform = arr.shape, profile["transform"]
        in_land = ~geometry_mask([land], shape, transform)  # pixel centre inside a sample province
        in_sea = ~geometry_mask([sea_domain], shape, transform) & ~in_land
        arr = arr.copy()
        arr[(arr == 0) & ~in_land] = SEA_CODE
        arr[~(in_land | in_sea)] = NODATA  # other provinces' land and foreign waters: outside the sample
        return arr

    _crop(
        shared / "modis_mcd12c1_landcover" / "MCD12C1_2019_IGBP_china_0p05deg.tif", box,
        out / "landcover_modis_igbp_2019.tif", landcover,
        {"source": "MODIS MCD12C1 C6 IGBP 2019 (doi:10.5067/MODIS/MCD12C1.006); sea recoded to 20; "
         "masked to six East China provinces and China's EEZ", "kind": "categorical",
         "scheme": "sample_modis_igbp_sea"},
    )
    _crop(
        shared / "gcb2023_gridded_land_fluxes" / "GCB2023_SLAND_DGVMs_2013-2022mean_china_0p5deg.tif", box,
        out / "sland_gcb2023_2013_2022.tif", lambda a, p: a,
        {"units": "kg C m-2 s-1", "sign_convention": "uptake_positive", "kind": "density",
         "source": "Global Carbon Budget 2023 SLAND, DGVM ensemble mean 2013-2022 (Friedlingstein et al. 2023, "
                   "doi:10.5194/essd-15-5301-2023)"},
    )

    regions = out / "regions.gpkg"
    regions.unlink(missing_ok=True)
    prov[["adcode", "name_zh", "name_en", "iso3166_2", "ceads_name", "geometry"]].to_file(
        regions, layer="provinces", driver="GPKG")
    eez[["adcode", "name_zh", "name_en", "geometry"]].to_file(regions, layer="offshore", driver="GPKG")
    pref = gpd.read_file(shared / "china_admin_boundaries" / "china_admin_boundaries.gpkg",
                         layer="prefectures_guangdong_zhejiang")
    pref = pref[pref["province_adcode"] == 330000].sort_values("adcode").reset_index(drop=True)
    pref["name_en"] = pref["adcode"].map(ZHEJIANG_PREFECTURES_EN)
    pref[["adcode", "name_zh", "name_en", "province_adcode", "geometry"]].to_file(
        regions, layer="zhejiang_prefectures", driver="GPKG")
    county = gpd.read_file(shared / "china_admin_boundaries" / "china_admin_boundaries.gpkg",
                           layer="counties_guangdong_zhejiang")
    county = county[county["province_adcode"] == 330000].sort_values("adcode").reset_index(drop=True)
    county[["adcode", "name_zh", "prefecture_adcode", "province_adcode", "geometry"]].to_file(
        regions, layer="zhejiang_counties", driver="GPKG")

    ceads = pd.read_csv(shared / "ceads_provincial_co2" / "ceads_province_totals_by_fuel_2015_2019.csv")
    ceads = ceads[ceads["adcode"].isin(PROVINCES)]
    ceads[["year", "adcode", "ceads_name", "name_en", "Process_MtCO2", "Scope_1_Total_MtCO2"]].sort_values(
        ["year", "adcode"]).to_csv(out / "emissions_ceads_2015_2019.csv", index=False)
    pop = pd.read_csv(shared / "china_provincial_population" / "china_provincial_population_2005_2024.csv")
    pop = pop[pop["adcode"].isin(PROVINCES) & pop["year"].between(2015, 2019)]
    pop[["year", "adcode", "name_en", "population"]].sort_values(["year", "adcode"]).to_csv(
        out / "population_nbs_2015_2019.csv", index=False)
    print(f"sample box (lon/lat): {box}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("sample_rasters"))
    a = ap.parse_args()
    build(a.shared, a.out)

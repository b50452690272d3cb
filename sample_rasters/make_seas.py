"""Add the layer ``seas`` (China's marginal seas) to a regions GeoPackage, from Natural Earth.

Developers only, like ``make_sample.py`` and ``make_china.py`` (run it after them: they rewrite
``regions.gpkg``). The source is Natural Earth's 1:10m marine polygons (public domain), as GeoJSON in
github.com/martynafford/natural-earth-geojson, ``10m/physical/ne_10m_geography_marine_polys.json``; the
features that touch 70-140 E, 2 S-56 N are kept in this repository as
``sample_rasters/sources/ne_10m_geography_marine_polys_east_asia.geojson`` (``make sample`` reads it; the
layers it gives equal those of the whole file).
Deterministic: the same inputs give the same layer. See ``PROVENANCE.md``.

What it does:

1. keeps the features named in :data:`SEAS` (field ``name``), cropped to the extent of the GeoPackage's
   ``provinces`` and ``offshore`` layers plus :data:`MARGIN_DEG`;
2. extends each sea landwards by :data:`EXTEND_DEG`, never onto another Natural Earth marine polygon (river
   mouths excepted) nor onto a sea extended before it, so that sea pixels of the land cover whose centre lies on Natural
   Earth's land (another coastline, reclaimed land, estuaries) still fall in their sea (the run applies a
   zone to sea pixels only, so the land it overlaps does not matter);
3. simplifies to :data:`SIMPLIFY_DEG` (about 1 km) and writes the layer ``seas`` (fields ``name``,
   ``featurecla``, EPSG:4326), replacing it if present.

Usage::

    python sample_rasters/make_seas.py --geojson sample_rasters/sources/ne_10m_geography_marine_polys_east_asia.geojson \
        --gpkg sample_rasters/regions.gpkg   # and the same with --gpkg sample_rasters/china/regions.gpkg
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

#: Natural Earth features kept (field ``name``), in the order they claim land when extended. The
#: configs map them to ecosystems (``landcover.zones.ecosystem_of``): the Taiwan Strait and Hangzhou Bay
#: to the East China Sea, the Gulf of Tonkin and the Qiongzhou Strait to the South China Sea.
SEAS = ("Bo Hai", "Yellow Sea", "Hangzhou Bay", "East China Sea", "Taiwan Strait", "Qiongzhou Strait",
        "Gulf of Tonkin", "South China Sea")
#: Margin around the regions' extent the seas are cropped to [degrees].
MARGIN_DEG = 1.0
#: How far each sea is extended onto land [degrees, about 30 km].
EXTEND_DEG = 0.3
#: Simplification tolerance [degrees, about 1 km].
SIMPLIFY_DEG = 0.01


def build(geojson: Path, gpkg: Path) -> gpd.GeoDataFrame:
    """The ``seas`` layer for ``gpkg`` (see the module docstring); written into ``gpkg``."""
    os.environ["OGR_CURRENT_DATE"] = "2024-01-01T00:00:00Z"  # fixed GeoPackage timestamps: same bytes each run
    marine = gpd.read_file(geojson).to_crs("EPSG:4326")
    missing = [s for s in SEAS if s not in set(marine["name"])]
    if missing:
        raise SystemExit(f"{geojson}: no feature named {missing} in field 'name'")
    extent = pd.concat([gpd.read_file(gpkg, layer=layer).to_crs("EPSG:4326").geometry
                        for layer in ("provinces", "offshore")])
    xmin, ymin, xmax, ymax = extent.total_bounds
    clip = shapely.box(xmin - MARGIN_DEG, ymin - MARGIN_DEG, xmax + MARGIN_DEG, ymax + MARGIN_DEG)
    marine = marine[marine.intersects(clip)].copy()
    marine["geometry"] = shapely.make_valid(marine.geometry.intersection(clip).values)
    # other seas and bays are not claimed; river mouths (e.g. the Yangtze's, featurecla 'river') may be
    all_marine = shapely.union_all(marine.geometry[marine["featurecla"] != "river"].values)
    taken = shapely.Polygon()
    rows = []
    for name in SEAS:
        feature = marine[marine["name"] == name]
        if feature.empty:  # outside this GeoPackage's extent
            continue
        own = shapely.union_all(feature.geometry.values)
        # the 0.3 degree band around the sea that no Natural Earth sea covers (land), minus what is taken
        band = shapely.difference(shapely.difference(shapely.buffer(own, EXTEND_DEG), all_marine), taken)
        geom = shapely.union(own, shapely.intersection(band, clip))
        geom = shapely.make_valid(shapely.simplify(geom, SIMPLIFY_DEG, preserve_topology=True))
        geom = shapely.difference(geom, taken)  # the simplified outline may cross a neighbour's
        geom = shapely.union_all([g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"])
        taken = shapely.union(taken, geom)
        rows.append({"name": name, "featurecla": feature["featurecla"].iloc[0], "geometry": geom})
    seas = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    seas["geometry"] = [shapely.MultiPolygon(list(shapely.get_parts(g))) for g in seas.geometry]
    seas.to_file(gpkg, layer="seas", driver="GPKG")
    return seas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--geojson", type=Path, required=True,
                    help="Natural Earth 10m marine polygons (ne_10m_geography_marine_polys.json)")
    ap.add_argument("--gpkg", type=Path, required=True, help="regions GeoPackage with layers provinces, offshore")
    args = ap.parse_args()
    seas = build(args.geojson, args.gpkg)
    areas = seas.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs").area / 1e6
    for name, km2 in zip(seas["name"], areas):
        print(f"{name:18s} {km2:12,.0f} km2 (cropped and extended)")


if __name__ == "__main__":
    main()

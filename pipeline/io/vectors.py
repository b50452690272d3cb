"""Vector edges: read region polygons (and offshore zones), write the GeoPackage."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from ..errors import InputError, did_you_mean


def _read(path: Path, layer: str | None, fields: list[str], what: str) -> gpd.GeoDataFrame:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError(f"{path}: cannot be opened as a vector file ({exc})") from None
    if layer is not None and layer not in layers:
        raise InputError(f"{path}: no layer '{layer}'.{did_you_mean(layer, layers)} Layers: {layers}")
    if layer is None and len(layers) > 1:
        raise InputError(f"{path}: the file holds {len(layers)} layers ({', '.join(layers)}) and the config names none "
                         f"for the {what}. Fix: add `layer: NAME` next to this path in the config")
    gdf = gpd.read_file(path, layer=layer)
    if gdf.empty:
        raise InputError(f"{path}: the {what} layer{f' {layer!r}' if layer else ''} has no features. "
                         f"Fix: give a layer with polygons (layers in the file: {layers})")
    kinds = gdf.geometry.geom_type.fillna("no geometry")
    other = kinds[~kinds.isin(["Polygon", "MultiPolygon"])]
    if len(other):
        found = ", ".join(f"{k} ({n})" for k, n in other.value_counts().items())
        raise InputError(f"{path}: the {what} layer{f' {layer!r}' if layer else ''} must hold polygons; it has "
                         f"{found}. Fix: give the region polygons (e.g. administrative areas), not points or lines")
    if gdf.crs is None:
        raise InputError(f"{path}: the {what} layer has no CRS. Fix: assign one (e.g. EPSG:4326) in GIS "
                         "or with `ogr2ogr -a_srs EPSG:4326`")
    for f in fields:
        if f not in gdf.columns:
            raise InputError(f"{path}: the {what} layer has no field '{f}'.{did_you_mean(f, gdf.columns)} "
                             f"Fields: {[c for c in gdf.columns if c != 'geometry']}")
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        names = gdf.loc[invalid, fields[0]].astype(str).tolist()
        warnings.warn(f"{path}: repaired invalid geometries of {names} with shapely.make_valid", stacklevel=2)
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].values)
    return gdf


def read_regions(path: Path, layer: str | None, id_field: str, name_field: str,
                 offshore: tuple[Path, str | None, str] | None = None) -> gpd.GeoDataFrame:
    """Read regions as a GeoDataFrame with ``region_id`` (str), ``region_name``, ``geometry`` (land)
    and ``allocation`` (land plus the region's offshore zone: the area its pixels are counted in).

    Raises
    ------
    InputError
        If the file, layer or fields are missing, the CRS is undefined or ids are duplicated.
    """
    gdf = _read(path, layer, [id_field, name_field], "regions")
    out = gpd.GeoDataFrame({"region_id": gdf[id_field].astype(str), "region_name": gdf[name_field].astype(str)},
                           geometry=gdf.geometry.values, crs=gdf.crs)
    dup = out["region_id"][out["region_id"].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: duplicate region id(s) {dup} in field '{id_field}'. Fix: one feature per "
                         "region (dissolve multi-part regions first)")
    dup = sorted(set(out["region_name"][out["region_name"].duplicated()]))
    if dup:
        raise InputError(f"{path}: duplicate region name(s) {dup} in field '{name_field}' (ids "
                         f"{out.loc[out['region_name'].isin(dup), 'region_id'].tolist()}). Fix: make names unique "
                         "(e.g. add the province), or dissolve the features into one region")
    alloc = out.geometry.copy()
    out["offshore_km2"] = 0.0
    if offshore is not None:
        opath, olayer, oid = offshore
        zones = _read(opath, olayer, [oid], "offshore zones").to_crs(out.crs)
        zones["region_id"] = zones[oid].astype(str)
        zones = zones.dissolve("region_id")
        for i, rid in enumerate(out["region_id"]):
            if rid in zones.index:
                alloc.iloc[i] = shapely.union(alloc.iloc[i], zones.geometry[rid])
        out.attrs["offshore_unmatched"] = sorted(set(zones.index) - set(out["region_id"]))
    out["allocation"] = gpd.GeoSeries(alloc.values, crs=out.crs)
    return out


def read_subregions(path: Path, layer: str | None, id_field: str, name_field: str, parent_field: str,
                    parents: list[str]) -> gpd.GeoDataFrame:
    """Read a finer level of regions: ``region_id``, ``region_name``, ``parent_id``, ``geometry``.

    Raises
    ------
    InputError
        If a member names a parent that is not among ``parents`` (ids of the regions and of the
        levels listed before this one), or ids repeat.
    """
    gdf = _read(path, layer, [id_field, name_field, parent_field], "subregions")
    out = gpd.GeoDataFrame({"region_id": gdf[id_field].astype(str), "region_name": gdf[name_field].astype(str),
                            "parent_id": gdf[parent_field].astype(str)}, geometry=gdf.geometry.values, crs=gdf.crs)
    dup = out["region_id"][out["region_id"].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: duplicate id(s) {dup} in field '{id_field}'")
    orphans = sorted(set(out["parent_id"]) - set(parents))
    if orphans:
        raise InputError(f"{path}: field '{parent_field}' names parent(s) {orphans} that are not ids of the regions or of an earlier level."
                         f"{did_you_mean(orphans[0], parents)} Fix: list the parent level first (regions, then "
                         "subregions from coarse to fine) or correct the field")
    return out


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame | pd.DataFrame]) -> None:
    """Write each (Geo)DataFrame as a layer of one GeoPackage (attribute tables for plain frames)."""
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_file(path, layer=name, driver="GPKG", SPATIAL_INDEX="YES")
        else:
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")

"""Offshore zones when the user gives none: each sea point goes to the nearest region.

A sea point within ``offshore_km`` of the coast belongs to the region whose land is nearest to it;
farther sea stays unallocated (national waters). The zones are built as polygons (a Voronoi
partition of points sampled along the region boundaries), so that they flow through the same exact
coverage-fraction path as user-given zones (:func:`pipeline.io.vectors.read_regions`).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely


def _id_column(regions: gpd.GeoDataFrame) -> str:
    for col in ("region_id", "id"):
        if col in regions.columns:
            return col
    raise ValueError(f"regions need an id column ('region_id' or 'id'); columns: {list(regions.columns)}")


def _groups(geoms: np.ndarray, owner: np.ndarray, n: int, union) -> np.ndarray:
    """Union ``geoms`` by ``owner`` (0..n-1) into one geometry per owner (empty where none)."""
    out = np.array([shapely.Polygon()] * n, dtype=object)
    order = np.argsort(owner, kind="stable")
    keys, starts = np.unique(owner[order], return_index=True)
    for key, chunk in zip(keys, np.split(geoms[order], starts[1:])):
        out[key] = union(chunk)
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a (made valid) geometry: a Polygon/MultiPolygon, or an empty Polygon."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]  # Polygon, MultiPolygon
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def nearest_zones(regions: gpd.GeoDataFrame, offshore_km: float, spacing_m: float, *,
                  mask: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Per-region zones of the sea nearest to each region, up to ``offshore_km`` from it.

    The zone of region R is the part of the plane that is (a) within ``offshore_km`` of R,
    (b) closer to R than to any other region and (c) outside every region polygon. Sea farther than
    ``offshore_km`` from every region is in no zone.

    Method: every region boundary is densified to vertices at most ``spacing_m`` apart; the vertices
    on the coast (the boundary of the union of all regions: the nearest land point of any sea point
    lies there) are the sites of a Voronoi diagram; the cells are dissolved per region, intersected
    with the region buffered by ``offshore_km`` and the land union is removed. A vertex shared by
    two regions goes to the first of them in row order (it is on land, so this only moves the zone
    border by up to one spacing).

    Accuracy: the sampled distance to a region exceeds the exact one by at most ``spacing_m / 2``,
    so the borders between zones lie within about ``spacing_m`` of the exact equidistance lines
    (a sea point whose distances to its two nearest regions differ by more than ``spacing_m / 2``
    is always in the right zone). The outer edge at ``offshore_km`` is exact on straight coasts and
    within ``spacing_m / 4`` of the exact circle arcs around convex corners (polygonal buffers).
    Callers pass about half the pixel size as ``spacing_m``.

    Parameters
    ----------
    regions : geopandas.GeoDataFrame
        Region polygons/multipolygons with an id column (``region_id`` or ``id``), in a projected
        CRS whose unit is the metre (e.g. the analysis grid's China Albers).
    offshore_km : float
        Maximum distance of a zone from its region, in kilometres (>= 0).
    spacing_m : float
        Maximum distance between boundary samples, in metres (> 0).
    mask : shapely geometry, optional
        If given, the zones are also clipped to it (e.g. an ocean polygon in the regions' CRS).
        Without it, "sea" is everything outside the regions, including foreign land across a land
        border and gaps between regions.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per region, same index, CRS and id column as ``regions``, and ``geometry``: the
        zone (valid Polygon/MultiPolygon; an empty Polygon for regions with no zone).

    Raises
    ------
    ValueError
        If the CRS is missing or geographic, or ``offshore_km``/``spacing_m`` are out of range.
    """
    idcol = _id_column(regions)
    if regions.crs is None or not regions.crs.is_projected:
        raise ValueError(f"nearest_zones needs regions in a projected metric CRS, got {regions.crs}")
    if not offshore_km >= 0 or not spacing_m > 0:
        raise ValueError(f"need offshore_km >= 0 and spacing_m > 0, got {offshore_km} and {spacing_m}")
    geoms = shapely.make_valid(np.asarray(regions.geometry.values, dtype=object))
    n, dist = len(geoms), offshore_km * 1000.0
    land = shapely.union_all(geoms)

    # Boundary samples tagged with their region; snap to spacing/1000 so that the vertices two
    # neighbours share (equal up to floating noise) coincide, then keep one of each.
    snap = spacing_m * 1e-3
    xy, owner = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geoms), spacing_m),
                                        return_index=True)
    xy, first = np.unique(np.round(xy / snap) * snap, axis=0, return_index=True)
    sites, owner = shapely.points(xy), owner[first]
    coast = shapely.boundary(land)
    shapely.prepare(coast)
    on_coast = shapely.dwithin(coast, sites, 10 * snap)
    sites, owner = sites[on_coast], owner[on_coast]

    zones = np.array([shapely.Polygon()] * n, dtype=object)
    if len(sites) and dist > 0:
        x0, y0, x1, y1 = shapely.total_bounds(sites)
        pad = dist + spacing_m
        extent = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=extent,
                                                           ordered=True))  # ordered: shapely >= 2.1
        nearest = _groups(cells, owner, n, shapely.coverage_union_all)
        # Buffer part by part (much faster than buffering island-rich multipolygons whole), with
        # enough segments per quarter circle that the arcs sag by at most spacing/4.
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        quad_segs = max(8, math.ceil(math.pi * math.sqrt(dist / (8 * spacing_m))))
        reach = _groups(shapely.buffer(parts, dist, quad_segs=quad_segs), part_owner, n, shapely.union_all)
        zones = shapely.difference(shapely.intersection(nearest, reach), land)
        if mask is not None:
            zones = shapely.intersection(zones, mask)
    geometry = [_polygonal(z) for z in zones]
    return gpd.GeoDataFrame({idcol: regions[idcol].values}, geometry=geometry, crs=regions.crs,
                            index=regions.index)


def attach_nearest(regions: gpd.GeoDataFrame, offshore_km: float, spacing_m: float, *,
                   mask: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """A copy of ``regions`` whose ``allocation`` is each region's land plus its nearest zone.

    The same contract as :func:`pipeline.io.vectors.read_regions` gives for user-given offshore
    zones; ``offshore_km2`` is set to the zone area in km2. Arguments as in :func:`nearest_zones`
    (``regions`` in a projected metric CRS, ``offshore_km`` in km, ``spacing_m`` in metres).
    """
    zones = nearest_zones(regions, offshore_km, spacing_m, mask=mask)
    out = regions.copy()
    alloc = shapely.union(np.asarray(out.geometry.values, dtype=object), zones.geometry.values)
    out["allocation"] = gpd.GeoSeries(alloc, index=out.index, crs=out.crs)
    out["offshore_km2"] = zones.geometry.area.values / 1e6
    return out

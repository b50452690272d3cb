"""Nearest-region offshore zones (pipeline.offshore) on toy coastlines with hand-computed answers.

Coordinates are metres in China Albers; ``KM`` converts kilometres to metres.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from pipeline.offshore import attach_nearest, nearest_zones

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs"
KM = 1000.0
SPACING = 250.0  # m


def _regions(boxes: dict[str, tuple[float, float, float, float]], id_col: str = "id") -> gpd.GeoDataFrame:
    """Regions from boxes given in km (xmin, ymin, xmax, ymax)."""
    return gpd.GeoDataFrame({id_col: list(boxes), "name": [f"region {k}" for k in boxes]},
                            geometry=[box(*(v * KM for v in b)) for b in boxes.values()], crs=ALBERS)


def _zone(zones: gpd.GeoDataFrame, rid: str) -> shapely.Geometry:
    return zones.set_index("id").geometry[rid]


# A and B on a straight coast (sea: y < 0); hinterland W, N, E closes the land above y = 0, so
# the sea within 5 km is exactly the strip -5 km <= y < 0.
COAST = {"A": (0, 0, 10, 10), "B": (10, 0, 20, 10),
         "W": (-30, 0, 0, 30), "N": (0, 10, 20, 30), "E": (20, 0, 50, 30)}


@pytest.fixture(scope="module")
def coast_zones() -> gpd.GeoDataFrame:
    return nearest_zones(_regions(COAST), offshore_km=5, spacing_m=SPACING)


def test_straight_coast_zones_are_the_strips_below_each_region(coast_zones):
    # the A|B and W|A borders may move by up to one spacing each, over the 5 km strip depth
    tol = 2 * SPACING * 5 * KM
    for rid, x0 in (("A", 0), ("B", 10)):
        zone, expected = _zone(coast_zones, rid), box(x0 * KM, -5 * KM, (x0 + 10) * KM, 0)
        assert zone.area == pytest.approx(50 * KM**2, abs=tol)
        assert zone.symmetric_difference(expected).area < tol
    # nothing farther than 5 km from the coast
    everything = shapely.union_all(coast_zones.geometry.values)
    assert everything.bounds[1] >= -5 * KM - 1e-6
    assert not everything.intersects(box(-100 * KM, -100 * KM, 100 * KM, -5.01 * KM))


def test_sea_points_go_to_the_nearest_region(coast_zones):
    a, b = _zone(coast_zones, "A"), _zone(coast_zones, "B")
    assert b.contains(shapely.Point(14 * KM, -3 * KM)) and not a.contains(shapely.Point(14 * KM, -3 * KM))
    assert a.contains(shapely.Point(4 * KM, -3 * KM)) and not b.contains(shapely.Point(4 * KM, -3 * KM))
    far = shapely.Point(10 * KM, -6 * KM)  # 6 km from the coast: unallocated national waters
    assert not any(z.intersects(far) for z in coast_zones.geometry)


def test_lone_pair_zone_wraps_around_the_corners():
    # A and B alone: A's zone is the 5 km strips west, south and north of it (3 x 50 km2) plus
    # the two quarter discs of radius 5 km at its outer corners; the A|B border is x = 10 km
    zones = nearest_zones(_regions({"A": COAST["A"], "B": COAST["B"]}), offshore_km=5, spacing_m=SPACING)
    expected = (150 + 2 * math.pi * 25 / 4) * KM**2
    for rid in "AB":
        assert _zone(zones, rid).area == pytest.approx(expected, abs=4 * SPACING * 5 * KM)


# A tall region, B set back from the coast behind a bay (x 10..20 km, y 0..5 km), N and E around
# it: sea points south of B's bay mouth are nearer to A's corner than to B.
CONCAVE = {"A": (0, 0, 10, 20), "B": (10, 5, 20, 10), "N": (10, 10, 20, 20), "E": (20, 0, 40, 20)}


def test_concave_coast_matches_direct_distances():
    offshore_km, spacing = 8.0, 200.0
    regions = _regions(CONCAVE)
    zones = nearest_zones(regions, offshore_km, spacing)
    land = shapely.union_all(regions.geometry.values)
    xs, ys = np.meshgrid(np.arange(-15, 55.01, 0.5) * KM, np.arange(-15, 35.01, 0.5) * KM)
    pts = shapely.points(xs.ravel() + 1.0, ys.ravel() + 1.0)  # off the box edges
    pts = pts[~shapely.intersects(land, pts)]
    # the independent reference: the region at the smallest shapely distance, if within reach
    dist = np.stack([shapely.distance(g, pts) for g in regions.geometry.values], axis=1)
    first, second = np.sort(dist, axis=1)[:, :2].T
    expected = np.where(first <= offshore_km * KM, regions["id"].to_numpy()[dist.argmin(axis=1)], "")
    member = np.full(len(pts), "", dtype=object)
    for rid, zone in zip(zones["id"], zones.geometry):
        inside = shapely.contains(zone, pts)
        assert not (inside & (member != "")).any(), "a point in two zones"
        member[inside] = rid
    # clear of the equidistance lines and of the offshore_km edge by 2 spacings
    clear = (second - first > 2 * spacing) & (np.abs(first - offshore_km * KM) > 2 * spacing)
    assert clear.sum() > 1000
    assert (member[clear] == expected[clear]).all()
    # the corner case is exercised: sea south of B's bay that belongs to A, and bay water of B
    x = shapely.get_x(pts)
    assert ((x > 10 * KM) & (x < 20 * KM) & (expected == "A") & clear).sum() > 10
    assert ((expected == "B") & clear).sum() > 10


@pytest.mark.parametrize("layout", [COAST, CONCAVE], ids=["coast", "concave"])
def test_zones_overlap_neither_land_nor_each_other(layout):
    regions = _regions(layout)
    zones = nearest_zones(regions, offshore_km=6, spacing_m=SPACING)
    assert zones.is_valid.all() and set(zones.geom_type) <= {"Polygon", "MultiPolygon"}
    land = shapely.union_all(regions.geometry.values)
    assert shapely.area(shapely.intersection(zones.geometry.values, land)).max() < 1.0  # m2
    for z1, z2 in itertools.combinations(zones.geometry, 2):
        assert z1.intersection(z2).area < 1.0  # m2


def test_inland_region_gets_no_zone():
    # 3 x 3 squares of 10 km: the centre C is 10 km from the sea, farther than offshore_km = 5
    layout = {f"R{i}{j}": (10 * i, 10 * j, 10 * i + 10, 10 * j + 10) for i in range(3) for j in range(3)}
    layout["C"] = layout.pop("R11")
    zones = nearest_zones(_regions(layout), offshore_km=5, spacing_m=SPACING)
    assert _zone(zones, "C").area < 1.0  # m2
    assert (zones.set_index("id").drop("C").area > 40 * KM**2).all()
    assert list(zones["id"]) == list(layout)  # one row per region, in order


def test_attach_nearest_unions_land_and_zone():
    regions = _regions(COAST, id_col="region_id")
    out = attach_nearest(regions, offshore_km=5, spacing_m=SPACING)
    assert list(out.columns[:3]) == ["region_id", "name", "geometry"] and "allocation" in out
    assert out.geometry.equals(regions.geometry)  # land untouched, a copy
    assert "allocation" not in regions
    a = out.set_index("region_id").loc["A"]
    assert a["allocation"].area == pytest.approx(a.geometry.area + a["offshore_km2"] * 1e6)
    assert a["offshore_km2"] == pytest.approx(50, abs=2 * SPACING * 5 * KM / 1e6)
    assert a["allocation"].contains(shapely.Point(4 * KM, -3 * KM))


def test_rejects_geographic_crs_and_bad_arguments():
    regions = _regions(COAST)
    with pytest.raises(ValueError, match="projected"):
        nearest_zones(regions.set_crs("EPSG:4326", allow_override=True), 5, SPACING)
    with pytest.raises(ValueError, match="spacing_m"):
        nearest_zones(regions, 5, 0)
    assert nearest_zones(regions, 0, SPACING).is_empty.all()

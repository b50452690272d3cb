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


# --- offshore-zone polygons joined by region id, through the whole pipeline ------------------------
#: Toy coast on the tiny 4 x 4 grid of 1 km2 pixels (tests/conftest.py): land on rows 0-1, sea (code 3)
#: on rows 2-3, the south-east pixel nodata. 1 forest, 2 lake, 3 sea.
COAST_CODES = np.array([[1, 1, 1, 2],
                        [1, 1, 2, 1],
                        [3, 3, 3, 3],
                        [3, 3, 3, 9]], dtype=np.uint8)
MT_CO2_PER_MG_C = 44 / 12 / 1e6


def test_offshore_zone_polygons_allocate_sea_to_coastal_regions(tmp_path):
    """Sea pixels inside a region's offshore zone are that region's; the rest is unallocated.

    Land: West (id 1) = x 0-2000, y 2000-4000; East (id 2) = x 2000-4000, y 2000-4000. Zones, joined by
    id: West's = x 0-1500, y 1000-2000 (row 2: column 0 and half of column 1 = 1.5 km2 of sea); East's
    = x 1500-4000, y 1000-2000 (the other half of column 1 and columns 2-3 = 2.5 km2); a zone of id 9
    (no such region) = x 0-1000, y 0-1000. Row 3 (columns 0-2, 3 km2 of sea; column 3 is nodata)
    lies in no region's zone: unallocated, the id-9 zone included.

    Rates (conftest + here): forest 100, lake burial 10 and outgassing 30, sea uptake 30 g C m-2 yr-1,
    i.e. Mg C km-2 yr-1 on 1 km2 pixels. By hand:
      West: forest 4 km2 -> 400; sea 1.5 km2 -> 45 Mg C yr-1
      East: forest (0,2), (1,3) -> 200; lake (0,3), (1,2): 2 km2 x (10 - 30) -> -40; sea 2.5 -> 75
      unallocated: sea 3 km2 -> 90
    """
    from conftest import tiny_case, write_tif
    from pipeline import run
    from pipeline.grid import CHINA_ALBERS

    case = tmp_path / "case"
    cfg = tiny_case(case, **{"regions.offshore": {"path": "regions.gpkg", "layer": "offshore", "id_field": "code"}})
    # the toy coast over the tiny case's files
    write_tif(case / "landcover.tif", COAST_CODES, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("3,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,30,20,40,g C m-2 yr-1,test,test shelf uptake\n")
    (case / "regions.gpkg").unlink()
    gpd.GeoDataFrame({"code": [1, 2], "name": ["West", "East"]},
                     geometry=[box(0, 2000, 2000, 4000), box(2000, 2000, 4000, 4000)],
                     crs=CHINA_ALBERS).to_file(case / "regions.gpkg", layer="regions", driver="GPKG")
    gpd.GeoDataFrame({"code": [1, 2, 9]},
                     geometry=[box(0, 1000, 1500, 2000), box(1500, 1000, 4000, 2000), box(0, 0, 1000, 1000)],
                     crs=CHINA_ALBERS).to_file(case / "regions.gpkg", layer="offshore", driver="GPKG")

    result = run(cfg, tmp_path / "out")
    eco = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    sea = eco.xs("marginal_sea", level="ecosystem")
    assert sea.loc["1", "area_km2"] == pytest.approx(1.5, rel=1e-9)
    assert sea.loc["2", "area_km2"] == pytest.approx(2.5, rel=1e-9)
    assert sea.loc["unallocated", "area_km2"] == pytest.approx(3.0, rel=1e-9)
    assert sea["sink_MgC_yr"].to_dict() == pytest.approx({"1": 45.0, "2": 75.0, "unallocated": 90.0}, rel=1e-9)
    # the land is untouched by the zones
    assert eco.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(400.0, rel=1e-9)
    assert eco.loc[("2", "forest"), "sink_MgC_yr"] == pytest.approx(200.0, rel=1e-9)
    assert eco.loc[("2", "open_water"), "sink_MgC_yr"] == pytest.approx(-40.0, rel=1e-9)

    budgets = result.budgets.set_index("region_id")
    expected = {  # region: (terrestrial, water, ocean) in Mg C yr-1
        "1": (400.0, 0.0, 45.0), "2": (200.0, -40.0, 75.0), "unallocated": (0.0, 0.0, 90.0)}
    for rid, (terr, water, ocean) in expected.items():
        row = budgets.loc[rid]
        assert row["sink_terrestrial_MtCO2"] == pytest.approx(terr * MT_CO2_PER_MG_C, rel=1e-9, abs=1e-15)
        assert row["sink_water_MtCO2"] == pytest.approx(water * MT_CO2_PER_MG_C, rel=1e-9, abs=1e-15)
        assert row["sink_ocean_MtCO2"] == pytest.approx(ocean * MT_CO2_PER_MG_C, rel=1e-9, abs=1e-15)
    # nothing dropped: 7 km2 of sea x 30 = 210 Mg C yr-1 in all
    assert budgets["sink_ocean_MtCO2"].sum() == pytest.approx(210.0 * MT_CO2_PER_MG_C, rel=1e-9)


def test_without_zones_sea_within_offshore_km_goes_to_the_nearest_region(tmp_path):
    """The same toy coast without zone polygons, ``offshore_km: 1.2``: the sea within 1.2 km of the
    coast (y 800-2000: all of row 2 and the top 0.2 of row 3) goes to the nearer region, split at
    x = 2000 (the West|East border meets a straight coast at a right angle). By hand, 1 km2 pixels:
      West: row 2 columns 0-1 (2) + 0.2 x row 3 columns 0-1 (0.4) = 2.4 km2 -> 72 Mg C yr-1
      East: row 2 columns 2-3 (2) + 0.2 x row 3 column 2 (0.2; column 3 nodata) = 2.2 km2 -> 66
      unallocated: 0.8 x row 3 columns 0-2 = 2.4 km2 -> 72
    """
    from conftest import tiny_case, write_tif
    from pipeline import run
    from pipeline.grid import CHINA_ALBERS

    case = tmp_path / "case"
    cfg = tiny_case(case, **{"regions.offshore_km": 1.2})
    write_tif(case / "landcover.tif", COAST_CODES, nodata=9)
    with open(case / "scheme.csv", "a") as f:
        f.write("3,Sea,marginal_sea,ocean\n")
    with open(case / "coefficients.csv", "a") as f:
        f.write("ocean,marginal_sea,removal,30,20,40,g C m-2 yr-1,test,test shelf uptake\n")
    (case / "regions.gpkg").unlink()
    gpd.GeoDataFrame({"code": [1, 2], "name": ["West", "East"]},
                     geometry=[box(0, 2000, 2000, 4000), box(2000, 2000, 4000, 4000)],
                     crs=CHINA_ALBERS).to_file(case / "regions.gpkg", layer="regions", driver="GPKG")
    result = run(cfg, tmp_path / "out")
    sea = result.region_ecosystem.set_index(["region_id", "ecosystem"]).xs("marginal_sea", level="ecosystem")
    # zones are built from boundary points every half pixel (spacing 500 m). Two tolerances follow:
    # - the West|East split may sit up to half a spacing off x = 2000 (the corner point (2000, 2000) is
    #   on both regions' boundaries and its Voronoi cell, 250 m either side, goes to one of them):
    #   0.25 km x 1.2 km = 0.3 km2 between West and East;
    # - the 1.2 km outer edge is traced through the sampled points: 0.01 km2 (1 % of a pixel).
    area = sea["area_km2"]
    assert area["1"] + area["2"] == pytest.approx(2.4 + 2.2, abs=0.01)
    assert area["1"] == pytest.approx(2.4, abs=0.3 + 0.01) and area["2"] == pytest.approx(2.2, abs=0.3 + 0.01)
    assert area["unallocated"] == pytest.approx(2.4, abs=0.01)
    assert sea["sink_MgC_yr"].sum() == pytest.approx(7 * 30.0, rel=1e-9)  # 7 km2 of sea, none dropped
    assert (sea["sink_MgC_yr"] / area).to_numpy() == pytest.approx(30.0, rel=1e-6)
    land = result.region_ecosystem.set_index(["region_id", "ecosystem"])
    assert land.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(400.0, rel=1e-9)  # land stays land

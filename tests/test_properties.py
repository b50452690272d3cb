"""Property tests (hypothesis): unit conversions, pixel areas and the aggregation keep DESIGN.md's
invariants on random grids, polygons and chunkings."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline import units
from pipeline.aggregate import aggregate
from pipeline.grid import CHINA_ALBERS, AnalysisGrid
from pipeline.labels import region_labels, resolve_overlaps

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


#: Seconds in the project's year: pint's Julian year, 365.25 d x 86,400 s (units.py, GCB convention).
YEAR_S = 365.25 * 86400
#: g C in 1 unit of each accepted density unit, per m2 and year, worked out by hand: kg = 1e3 g,
#: Mg = t = 1e6 g, ha = 1e4 m2, km2 = 1e6 m2, mol C = 12.011 g (units.MOLAR_MASS_C), CO2 -> C x 12/44.
BY_HAND = {
    "g C m-2 yr-1": 1.0,
    "kg C m-2 yr-1": 1e3,
    "kg C m-2 s-1": 1e3 * YEAR_S,
    "Mg C ha-1 yr-1": 1e6 / 1e4,
    "t C ha-1 yr-1": 1e6 / 1e4,
    "t C km-2 yr-1": 1e6 / 1e6,
    "mol C m-2 yr-1": 12.011,
    "mol C m-2 s-1": 12.011 * YEAR_S,
    "mmol C m-2 d-1": 12.011e-3 * 365.25,
    "g CO2 m-2 yr-1": 12.0 / 44.0,
}


def test_density_units__every_accepted_unit_has_a_hand_constant():
    assert sorted(units.accepted_density_units()) == sorted(BY_HAND)
    assert units.MOLAR_MASS_C == 12.011 and units.CO2_PER_C == 44.0 / 12.0


@given(st.sampled_from(sorted(BY_HAND)), st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False))
def test_density_factor__round_trip_against_hand_constants(unit, value):
    """A value in ``unit`` converted by the pipeline, then back with the hand constant, is itself."""
    g = value * units.density_factor(unit)
    assert g == pytest.approx(value * BY_HAND[unit], rel=1e-12, abs=1e-300)
    assert g / BY_HAND[unit] == pytest.approx(value, rel=1e-12, abs=1e-12)


@given(st.sampled_from(sorted(BY_HAND)), st.sampled_from(sorted(BY_HAND)),
       st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))
def test_density_factor__between_two_units(a, b, value):
    """``value`` in unit a, re-expressed in unit b with the hand constants, converts to the same g C."""
    in_b = value * BY_HAND[a] / BY_HAND[b]
    assert in_b * units.density_factor(b) == pytest.approx(value * units.density_factor(a), rel=1e-12)


def test_density_factor__worked_examples():
    # 1 kg C m-2 s-1 = 1000 g x 31,557,600 s = 3.15576e10 g C m-2 yr-1
    assert units.density_factor("kg C m-2 s-1") == pytest.approx(3.15576e10, rel=1e-15)
    # 2.5 Mg C ha-1 yr-1 = 250 g C m-2 yr-1
    assert 2.5 * units.density_factor("Mg C ha-1 yr-1") == pytest.approx(250.0, rel=1e-15)
    # 3 mol C m-2 yr-1 = 36.033 g C m-2 yr-1
    assert 3 * units.density_factor("mol C m-2 yr-1") == pytest.approx(36.033, rel=1e-15)
    # 44 g CO2 m-2 yr-1 = 12 g C m-2 yr-1
    assert 44 * units.density_factor("g CO2 m-2 yr-1") == pytest.approx(12.0, rel=1e-15)


@given(st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False))
def test_masses__round_trip_against_hand_constants(mg_c):
    """Mg C -> Mt CO2 is x 44/12 x 1e-6; g C -> Mt CO2 is that x 1e-6 more."""
    assert units.MgC_to_MtCO2(mg_c) * 1e6 * 12 / 44 == pytest.approx(mg_c, rel=1e-12, abs=1e-9)
    assert units.gC_to_MtCO2(mg_c * 1e6) == pytest.approx(mg_c * 44 / 12 / 1e6, rel=1e-12, abs=1e-18)


@given(st.sampled_from([0.05, 0.1, 0.25, 0.5, 1.0]), st.integers(-160, 150), st.integers(1, 20))
def test_row_area__refining_keeps_the_total(res, south_cells, rows):
    """Halving the pixel size (2 x 2 sub-pixels) keeps the total area: the q-function telescopes."""
    south = max(-89.0, south_cells * res / 2)
    south = round(south / res) * res
    north = min(south + rows * res, 89.0)
    if north - south < res:
        return
    bounds = (0.0, south, res, north)
    coarse = AnalysisGrid.from_bounds("EPSG:4326", res, bounds)
    fine = AnalysisGrid.from_bounds("EPSG:4326", res / 2, bounds)
    assert fine.width == 2 * coarse.width and fine.height == 2 * coarse.height
    assert coarse.row_area().sum() == pytest.approx(2 * fine.row_area().sum(), rel=1e-9)
    assert (coarse.row_area() > 0).all()


@st.composite
def cases(draw):
    ny, nx = draw(st.integers(3, 12)), draw(st.integers(3, 12))
    res = 1000.0
    n = draw(st.integers(1, 4))
    boxes = []
    for _ in range(n):
        x0 = draw(st.floats(-1500, nx * res))
        y0 = draw(st.floats(-1500, ny * res))
        w, h = draw(st.floats(50, nx * res)), draw(st.floats(50, ny * res))
        boxes.append(shapely.box(x0, y0, x0 + w, y0 + h))
    seed = draw(st.integers(0, 2**31 - 1))
    chunks = draw(st.lists(st.integers(1, 12), min_size=2, max_size=3, unique=True))
    return ny, nx, boxes, seed, chunks


@SETTINGS
@given(cases())
def test_aggregate__conservation_and_chunk_invariance(tmp_path_factory, case):
    ny, nx, boxes, seed, chunks = case
    rng = np.random.default_rng(seed)
    eco = rng.integers(-1, 3, size=(ny, nx)).astype(np.int16)  # -1 = nodata
    removal = rng.uniform(0, 500, size=(ny, nx))
    emission = rng.uniform(0, 100, size=(ny, nx))
    polys = gpd.GeoDataFrame({"region_id": [str(i) for i in range(len(boxes))]}, geometry=boxes, crs=CHINA_ALBERS)
    polys, _ = resolve_overlaps(polys, "first")
    frame = shapely.box(0, 0, nx * 1000, ny * 1000)
    assume(any(shapely.intersection(g, frame).area > 0 for g in polys.geometry))
    cache = tmp_path_factory.mktemp("labels")
    results = []
    for c in chunks:
        grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, nx * 1000, ny * 1000), chunks=c)
        labels = region_labels(polys, grid, cache)

        def lazy(a):
            return xr.DataArray(a, dims=("y", "x")).chunk({"y": c, "x": c})

        sums = aggregate(lazy(eco), [lazy(removal), lazy(emission)], labels, grid, 3).compute()
        results.append(sums)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])  # bit for bit, whatever the chunking
    valid = eco >= 0
    # conservation against numpy: every valid pixel's area and mass counted exactly once
    assert results[0][:, :, 0].sum() == pytest.approx(valid.sum() * 1e6, rel=1e-12)
    assert results[0][:, :, 1].sum() == pytest.approx((removal * 1e6)[valid].sum(), rel=1e-9)
    assert results[0][:, :, 2].sum() == pytest.approx((emission * 1e6)[valid].sum(), rel=1e-9)
    # each ecosystem's totals over regions + unallocated
    for e in range(3):
        assert results[0][:, e, 1].sum() == pytest.approx((removal * 1e6)[eco == e].sum(), rel=1e-9, abs=1e-3)
    # a region's area never exceeds its polygon's area inside the grid (beyond single-precision fractions)
    for i, geom in enumerate(polys.geometry):
        inside = shapely.intersection(geom, frame).area
        assert results[0][i, :, 0].sum() <= inside * (1 + 1e-6) + 1e-3

import numpy as np
import pytest
from pyproj import Geod

from pipeline.errors import GridError
from pipeline.grid import CHINA_ALBERS, AnalysisGrid


def test_row_area__geographic_matches_pyproj_geod():
    grid = AnalysisGrid.from_bounds("EPSG:4326", 0.05, (113.5, 21.5, 126.5, 35.5), chunks=64)
    area = grid.row_area()
    geod = Geod(ellps="WGS84")
    # A pixel is bounded by parallels, not geodesics: densify its north and south edges so the
    # geodesic polygon follows them (200 points per edge: error << 1e-9).
    lons = np.linspace(113.5, 113.55, 200)
    for row in (0, 57, 139, 279):
        north = 35.5 - 0.05 * row
        south = north - 0.05
        lon = np.concatenate([lons, lons[::-1]])
        lat = np.concatenate([np.full(200, south), np.full(200, north)])
        expected, _ = geod.polygon_area_perimeter(lon, lat)
        assert area[row] == pytest.approx(abs(expected), rel=1e-9)


def test_row_area__equal_area_is_constant():
    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 5000, (0, 0, 20000, 10000))
    assert grid.shape == (2, 4)
    np.testing.assert_array_equal(grid.row_area(), [25e6, 25e6])
    assert float(grid.pixel_area().sum()) == 8 * 25e6


def test_row_area__conformal_crs_refused():
    grid = AnalysisGrid.from_bounds("EPSG:3857", 1000, (0, 0, 2000, 2000))
    with pytest.raises(GridError, match="neither geographic nor equal-area"):
        grid.row_area()


def test_from_bounds__snaps_outwards():
    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (150, -20, 2100, 990))
    assert grid.bounds == (0, -1000, 3000, 1000)
    assert grid.shape == (2, 3)

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


# --- chunk size chosen from the inputs' tiles and the memory (issue 9) ------------------------------
def test_choose_chunks__multiple_of_the_input_tiles_near_512():
    from pipeline.grid import choose_chunks

    gib = 2.0**30
    assert choose_chunks([256], 2, 24 * gib)[0] == 512  # 2 x 256
    assert choose_chunks([304], 2, 24 * gib)[0] == 608  # round(512 / 304) = 2 tiles
    assert choose_chunks([1024], 2, 24 * gib)[0] == 1024  # never less than one tile
    c, why = choose_chunks([], 2, 24 * gib)
    assert c == 512 and "default" in why


def test_choose_chunks__halved_to_fit_a_quarter_of_the_memory():
    """8 workers x 8 blocks x 200 B/px = 12,800 B per chunk pixel; a quarter of 4 GiB is 1 GiB:
    512^2 x 12,800 = 3.36e9 > 1.07e9, 256^2 x 12,800 = 8.4e8 fits."""
    from pipeline.grid import choose_chunks

    c, why = choose_chunks([], 8, 4 * 2.0**30)
    assert c == 256 and "halved" in why


def _tiled(path, transform, size=64, tile=16):
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", height=size, width=size, count=1, dtype="uint8",
                       crs=CHINA_ALBERS, transform=transform, tiled=True, blockxsize=tile, blockysize=tile) as dst:
        dst.write(np.zeros((1, size, size), dtype=np.uint8))


def test_auto_chunks_follow_an_input_on_the_grid(tmp_path):
    """A 16-px-tiled input whose origin is the grid's (or whole tiles away) sets chunks = 32 tiles
    = 512 px; one offset by half a tile does not (the default, 512, for another reason)."""
    from affine import Affine

    from pipeline.align import chunk_choice
    from pipeline.config import GridSpec
    from pipeline.io.rasters import raster_info
    from pipeline.load import RasterSource

    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000.0, (0, 0, 64_000, 64_000))
    on = tmp_path / "on.tif"
    _tiled(on, Affine(1000.0, 0, -16_000.0, 0, -1000.0, 80_000.0))  # one tile left and above
    off = tmp_path / "off.tif"
    _tiled(off, Affine(1000.0, 0, -8_000.0, 0, -1000.0, 64_000.0))  # half a tile to the left
    spec = GridSpec(resolution=1000.0)
    src = {"lc": RasterSource("lc", on, "nearest", 1, raster_info(on))}
    c, why = chunk_choice(spec, grid, src)
    assert c == 512 and "16-px tiles" in why
    c, why = chunk_choice(spec, grid, {"lc": RasterSource("lc", off, "nearest", 1, raster_info(off))})
    assert c == 512 and "default" in why
    assert chunk_choice(GridSpec(resolution=1000.0, chunks=128), grid, src) == (128, "grid.chunks in the config")

"""Shared fixtures: tiny rasters you can check by hand, and one run of the bundled sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from affine import Affine

from pipeline.grid import CHINA_ALBERS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = ROOT / "configs" / "sample.yaml"

#: Tiny case: a 4 x 4 grid of 1 km pixels in China Albers, origin (0, 4000).
TINY_TRANSFORM = Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 4000.0)
#: Land-cover codes of the tiny case (row 0 is the north edge): 1 forest, 2 lake, 9 nodata.
TINY_CODES = np.array([[1, 1, 1, 2],
                       [1, 1, 2, 2],
                       [1, 1, 1, 1],
                       [9, 1, 1, 1]], dtype=np.uint8)


def write_tif(path: Path, arr: np.ndarray, transform=TINY_TRANSFORM, crs=CHINA_ALBERS, nodata=None, tags=None):
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": 1,
               "dtype": arr.dtype, "crs": crs, "transform": transform, "nodata": nodata}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        if tags:
            dst.update_tags(1, **tags)
    return path


def tiny_case(tmp: Path, **overrides) -> Path:
    """Write the tiny case's files and config into ``tmp``; return the config path.

    Regions: West = x 0..1500 m (columns 0 and half of column 1), East = x 1500..4000 m,
    y 1000..4000 m (rows 0-2), so column 1 is split half and half and row 3 east of 1500 m
    belongs to no region (unallocated).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    write_tif(tmp / "landcover.tif", TINY_CODES, nodata=9)
    (tmp / "scheme.csv").write_text(
        "# test scheme\ncode,name,ecosystem,realm\n1,Forest,forest,terrestrial\n2,Lake,open_water,inland_water\n")
    (tmp / "coefficients.csv").write_text(
        "realm,ecosystem,flux,central,low,high,units,evidence,source\n"
        "terrestrial,forest,removal,1.0,0.5,1.5,Mg C ha-1 yr-1,test,test value (= 100 g C m-2 yr-1)\n"
        "inland_water,open_water,removal,10,5,15,g C m-2 yr-1,test,test burial\n"
        "inland_water,open_water,emission,30,20,40,g C m-2 yr-1,test,test outgassing\n")
    regions = gpd.GeoDataFrame(
        {"code": [1, 2], "name": ["West", "East"]},
        geometry=[shapely.box(0, 0, 1500, 4000), shapely.box(1500, 1000, 4000, 4000)], crs=CHINA_ALBERS)
    regions.to_file(tmp / "regions.gpkg", layer="regions", driver="GPKG")
    (tmp / "emissions.csv").write_text("year,code,co2\n2020,1,5.0\n2020,2,1.0\n2021,1,6.0\n2021,2,2.0\n")
    cfg = {
        "name": "tiny",
        "grid": {"crs": CHINA_ALBERS, "resolution": 1000, "bounds": [0, 0, 4000, 4000], "chunks": 2},
        "landcover": {"path": "landcover.tif", "scheme": "scheme.csv"},
        "regions": {"path": "regions.gpkg", "layer": "regions", "id_field": "code", "name_field": "name"},
        "sinks": {"coefficients": "coefficients.csv"},
        "emissions": {"path": "emissions.csv", "region_field": "code", "value_field": "co2"},
    }
    for key, value in overrides.items():
        section, _, sub = key.partition(".")
        if sub:
            cfg[section][sub] = value
        else:
            cfg[section] = value
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """The bundled sample, run once for the whole session (threaded scheduler)."""
    from pipeline import run

    out = tmp_path_factory.mktemp("sample") / "run"
    return run(SAMPLE_CONFIG, out)


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    return tiny_case(tmp_path / "case")


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A copy of configs/ and sample_rasters/ that tests may break."""
    for name in ("configs", "sample_rasters"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path / "configs" / "sample.yaml"


@pytest.fixture(scope="session", autouse=True)
def _label_cache(tmp_path_factory):
    """Keep the tests' label caches out of the user's home."""
    import os

    os.environ["CARBON_SINK_CACHE"] = str(tmp_path_factory.mktemp("label-cache"))
    yield

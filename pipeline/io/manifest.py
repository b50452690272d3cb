"""``manifest.json``: what was run, on which inputs (checksums), with which versions, how long."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("carbon-sink", "numpy", "pandas", "xarray", "rioxarray", "rasterio", "geopandas", "pyogrio",
            "shapely", "pyproj", "dask", "distributed", "exactextract", "pint", "pydantic")


def sha256(path: Path, block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python, GDAL and the packages a result depends on."""
    import rasterio

    out = {"python": platform.python_version(), "gdal": rasterio.__gdal_version__}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_manifest(path: Path, content: dict) -> None:
    """Write the manifest as indented, key-sorted JSON."""
    path.write_text(json.dumps(content, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")

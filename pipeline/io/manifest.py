"""``manifest.json``: what was run, on which inputs (checksums), with which versions, how long."""

from __future__ import annotations

import hashlib
import json
import os
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


#: Key of the manifest's output checksums, added by :func:`seal_manifest` when the run is complete.
OUTPUT_CHECKSUMS = "output_sha256"
#: The manifest's name in a run directory.
MANIFEST = "manifest.json"


def write_manifest(path: Path, content: dict) -> None:
    """Write the manifest as indented, key-sorted JSON (through a temporary file and a rename, so a
    reader never sees half of it)."""
    path = Path(path)
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(content, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(part, path)


def output_checksums(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every file in ``run_dir`` except the manifest itself, by POSIX path relative to it."""
    run_dir = Path(run_dir)
    return {p.relative_to(run_dir).as_posix(): sha256(p) for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.relative_to(run_dir).as_posix() != MANIFEST}


def seal_manifest(run_dir: Path) -> bool:
    """Add the checksums of every output (maps, tables, GeoPackage, reports) to ``run_dir/manifest.json``
    once every file is written (the reports are written after the manifest and read it). Returns
    False if there is no manifest."""
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return False
    content = json.loads(path.read_text(encoding="utf-8"))
    content[OUTPUT_CHECKSUMS] = output_checksums(run_dir)
    write_manifest(path, content)
    return True

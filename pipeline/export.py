"""Stage ``export``: hand each product to its writer inside the run's temporary directory."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from .labels import UNALLOCATED
from .io.csv import write_table
from .io.vectors import write_gpkg
from .units import m2_to_km2

#: Output names users and scripts rely on (the foundation's output contract).
MAPS = ("sink_total", "sink_terrestrial", "sink_water", "sink_ocean")
TABLES = {"region_ecosystem": "tables/region_ecosystem.csv", "budgets": "tables/budgets.csv",
          "balance": "tables/balance.csv"}


def export_tables(run_dir: Path, region_eco: pd.DataFrame, budget: pd.DataFrame, bal: pd.DataFrame,
                  extra: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the CSV tables (the contract's three, then ``extra`` as ``tables/<name>.csv``); return their paths."""
    paths = []
    frames = [(TABLES[k], f) for k, f in (("region_ecosystem", region_eco), ("budgets", budget), ("balance", bal))]
    frames += [(f"tables/{k}.csv", f) for k, f in (extra or {}).items()]
    for rel, frame in frames:
        path = run_dir / rel
        write_table(frame, path)
        paths.append(path)
    return paths


def export_gpkg(run_dir: Path, regions: gpd.GeoDataFrame, budget: pd.DataFrame, bal: pd.DataFrame,
                extra: dict[str, gpd.GeoDataFrame] | None = None, geometries: dict | None = None) -> Path:
    """``budget.gpkg``: layer ``regions`` (polygon + budget columns per region, land and offshore
    zone together) and layer ``nation`` (the union of the regions with the balance as columns).

    ``geometries``: :func:`region_geometries` of ``regions`` if already computed (the runner computes
    them while the pass runs)."""
    geo = regions[["region_id", "allocation"]].set_geometry("allocation").rename_geometry("geometry")
    layer = geo.merge(budget[budget["region_id"] != UNALLOCATED], on="region_id", how="left")
    wide, nation_units = nation_columns(bal)
    geometries = geometries if geometries is not None else region_geometries(regions)
    nation = gpd.GeoDataFrame([wide], geometry=[geometries["nation"]], crs=geo.crs)
    layers = {"regions": layer, "nation": nation, **(extra or {})}
    zones = geometries["offshore_zones"]
    if zones is not None:
        layers["offshore_zones"] = zones
    layers["units"] = units_table(layers, {"nation": nation_units})
    path = run_dir / "budget.gpkg"
    with _fixed_gpkg_date():
        write_gpkg(path, layers)
    return path


#: ``gpkg_contents.last_change`` of every layer when ``SOURCE_DATE_EPOCH`` is not set: a fixed, valid
#: ISO 8601 timestamp, so the same run gives a byte-identical GeoPackage (GDAL otherwise writes the
#: wall-clock time of each layer). The run's real time is in ``manifest.json``.
FIXED_GPKG_DATE = "1970-01-01T00:00:00.000Z"


def gpkg_date() -> str:
    """The ``last_change`` written into the GeoPackage: ``SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention, seconds since 1970 UTC) when set, else :data:`FIXED_GPKG_DATE`."""
    import datetime as dt

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch.isdigit():
        return FIXED_GPKG_DATE
    t = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@contextlib.contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """Set GDAL's ``OGR_CURRENT_DATE`` (pyogrio's GDAL, the one that writes the GeoPackage) for the
    write, then restore the previous value."""
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": gpkg_date()})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def nation_columns(bal: pd.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    """The balance as one wide row: ``{column: value}`` and ``{column: units}``.

    Column names are GIS-safe (letters, digits and ``_``, starting with a letter): the item, cleaned
    (``land_use_potential:afforestation`` -> ``land_use_potential_afforestation``), then its units
    (``_MtCO2``, ``_MtCO2e``, ``_pct``, the currency code such as ``_CNY``; per year is implied as in
    the regions layer's ``_MtCO2``). The units table keeps each column's exact units.
    """
    wide: dict[str, float] = {}
    units: dict[str, str] = {}
    for r in bal.itertuples():
        base, suffix = _clean(str(r.item)), _unit_suffix(str(r.units))
        if base.endswith(f"_{suffix}"):  # the item names its units already (assessed_sink_GtCO2)
            base = base[: -len(suffix) - 1]
        col, n = f"{base}_{suffix}", 1
        while col in wide:  # two items cleaned to one name (e.g. scenarios 'a-b' and 'a b'): number them
            n += 1
            col = f"{base}_{n}_{suffix}"
        wide[col] = r.value
        units[col] = str(r.units)
    return wide, units


def _clean(name: str) -> str:
    """A GIS-safe field name: runs of other characters become one ``_``; a leading digit gets ``x``."""
    out = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "value"
    return out if out[0].isalpha() else f"x{out}"


def region_geometries(regions: gpd.GeoDataFrame) -> dict:
    """The geometries of ``budget.gpkg`` that depend on the regions only: ``nation`` (the union of
    every region's allocation) and ``offshore_zones`` (see :func:`_offshore_zones`). GEOS work that
    releases the GIL: the runner overlaps it with the pass."""
    return {"nation": shapely.union_all(regions["allocation"].values), "offshore_zones": _offshore_zones(regions)}


def _offshore_zones(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The offshore zones the run used (each region's allocation minus its land), if any, with their
    area in km2 (in EPSG:6933, a global equal-area CRS)."""
    zones = shapely.difference(regions["allocation"].values, regions.geometry.values)
    out = gpd.GeoDataFrame({"region_id": regions["region_id"], "region": regions["region_name"]},
                           geometry=zones, crs=regions.crs)
    out["area_km2"] = m2_to_km2(out.to_crs("EPSG:6933").area)
    out = out[out["area_km2"] > 1e-6].reset_index(drop=True)
    return out if len(out) else None


#: Units of output columns, by name suffix (longest first).
_SUFFIX_UNITS = [("_MtCO2e", "Mt CO2e yr-1"), ("_MtCO2", "Mt CO2 yr-1"), ("_MgC_yr", "Mg C yr-1"),
                 ("_km2", "km2"), ("_pct", "%"), ("_tCO2", "t CO2 per person yr-1"),
                 ("_per_year", "currency yr-1"), ("_gC_m2_yr", "g C m-2 yr-1")]


def units_table(layers: dict, known: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """One row per (layer, column) with its units, for GIS users (QGIS shows it as a table).

    ``known`` gives exact units per layer and column (e.g. the balance's own units for ``nation``);
    other columns get theirs from their name's suffix; text columns are marked as such."""
    rows = []
    known = known or {}
    for name, frame in layers.items():
        for col in frame.columns:
            if col == "geometry":
                continue
            if col in known.get(name, {}):
                rows.append({"layer": name, "column": col, "units": known[name][col]})
                continue
            units = next((u for suf, u in _SUFFIX_UNITS if col.endswith(suf)), "")
            if not pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
                units = "none (text)"
            if col.startswith("rank_"):
                units = "rank among regions (1 = largest)"
            elif col == "population":
                units = "persons"
            elif col.endswith("_year") and "value" not in col:
                units = "year"
            rows.append({"layer": name, "column": col, "units": units})
    return pd.DataFrame(rows)


#: Column-name suffix of each balance unit (per year is implied, as in ``sink_total_MtCO2``).
_UNIT_SUFFIX = {"Mt CO2 yr-1": "MtCO2", "Mt CO2e yr-1": "MtCO2e", "Mt CO2": "MtCO2", "Mt CO2e": "MtCO2e",
                "Mg C yr-1": "MgC_yr", "g C m-2 yr-1": "gC_m2_yr", "km2": "km2", "%": "pct"}


def _unit_suffix(units: str) -> str:
    """``Mt CO2 yr-1`` -> ``MtCO2``, ``%`` -> ``pct``, a currency (``CNY``, ``CNY yr-1``) -> ``CNY``;
    anything else cleaned to letters, digits and ``_``."""
    units = " ".join(units.split())
    if units in _UNIT_SUFFIX:
        return _UNIT_SUFFIX[units]
    mass = re.fullmatch(r"([kMGT]?t) (CO2e?|C)( yr-1)?", units)  # Gt CO2 yr-1 -> GtCO2, kt C -> ktC
    if mass:
        return mass.group(1) + mass.group(2)
    currency = re.fullmatch(r"([A-Z]{3}) yr-1|([A-Z]{3})", units)
    if currency:
        return currency.group(1) or currency.group(2)
    return _clean(units.replace("%", "pct")) if units else "value"

"""Stage ``export``: hand each product to its writer inside the run's temporary directory."""

from __future__ import annotations

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
                extra: dict[str, gpd.GeoDataFrame] | None = None) -> Path:
    """``budget.gpkg``: layer ``regions`` (polygon + budget columns per region, land and offshore
    zone together) and layer ``nation`` (the union of the regions with the balance as columns)."""
    geo = regions[["region_id", "allocation"]].set_geometry("allocation").rename_geometry("geometry")
    layer = geo.merge(budget[budget["region_id"] != UNALLOCATED], on="region_id", how="left")
    wide = {f"{r.item}_{_unit_suffix(r.units)}": r.value for r in bal.itertuples()}
    nation = gpd.GeoDataFrame([wide], geometry=[shapely.union_all(geo.geometry.values)], crs=geo.crs)
    layers = {"regions": layer, "nation": nation, **(extra or {})}
    zones = _offshore_zones(regions)
    if zones is not None:
        layers["offshore_zones"] = zones
    layers["units"] = units_table(layers)
    path = run_dir / "budget.gpkg"
    write_gpkg(path, layers)
    return path


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


def units_table(layers: dict) -> pd.DataFrame:
    """One row per (layer, column) with its units, for GIS users (QGIS shows it as a table)."""
    rows = []
    for name, frame in layers.items():
        for col in frame.columns:
            if col == "geometry":
                continue
            units = next((u for suf, u in _SUFFIX_UNITS if col.endswith(suf)), "")
            if col.startswith("rank_"):
                units = "rank among regions (1 = largest)"
            elif col == "population":
                units = "persons"
            elif col.endswith("_year") and "value" not in col:
                units = "year"
            rows.append({"layer": name, "column": col, "units": units})
    return pd.DataFrame(rows)


def _unit_suffix(units: str) -> str:
    return {"Mt CO2 yr-1": "MtCO2", "%": "pct"}.get(units, units.replace(" ", ""))

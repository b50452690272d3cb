"""Stage ``export``: hand each product to its writer inside the run's temporary directory."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from .labels import UNALLOCATED
from .io.csv import write_table
from .io.vectors import write_gpkg

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
    path = run_dir / "budget.gpkg"
    write_gpkg(path, {"regions": layer, "nation": nation, **(extra or {})})
    return path


def _unit_suffix(units: str) -> str:
    return {"Mt CO2 yr-1": "MtCO2", "%": "pct"}.get(units, units.replace(" ", ""))

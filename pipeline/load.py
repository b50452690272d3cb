"""Stage ``load``: check every input's header and read the small tables and polygons.

No pixel is read here. Rasters are described by :class:`RasterSource` (path, header, how to
resample); :mod:`pipeline.align` opens them lazily on the analysis grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from .config import RunConfig
from .errors import ConfigError, InputError, did_you_mean
from .io.rasters import raster_info
from .io.vectors import read_regions, read_subregions
from .tables import (Scheme, read_ccus, read_coefficients, read_densities, read_inorganic, read_non_co2,
                     read_region_table, read_scheme)
from .zones import Zones, read_zones


@dataclass(frozen=True)
class RasterSource:
    """One input raster: where it is, its header, and how it is resampled onto the grid."""

    name: str
    path: Path
    resampling: str
    band: int
    info: dict
    units: str | None = None  # density units (fluxes); None for categorical rasters
    sign: str | None = None
    nodata: float | None = None  # from the config, overriding the file's


@dataclass
class Inputs:
    """Everything a run reads, with rasters still unread."""

    rasters: dict[str, RasterSource]
    regions: gpd.GeoDataFrame
    scheme: Scheme
    coefficients: pd.DataFrame
    emissions: pd.Series | None = None
    emissions_year: int | None = None
    population: pd.Series | None = None
    population_year: int | None = None
    scenario: dict = field(default_factory=dict)
    subregions: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    habitat_scheme: Scheme | None = None  # classes of the habitat raster, when given
    earlier_scheme: Scheme | None = None  # scheme of the earlier epoch (stock change)
    densities: np.ndarray | None = None  # carbon-stock density per ecosystem index [g C m-2] (stock change)
    density_table: pd.DataFrame | None = None
    non_co2: pd.DataFrame | None = None
    inorganic: pd.DataFrame | None = None
    ccus: pd.DataFrame | None = None  # year, region ('national' or an id), ccus_MtCO2
    scenario_schemes: dict[str, Scheme] = field(default_factory=dict)  # land-use scenario name -> scheme
    emissions_by_sector: pd.DataFrame | None = None  # year, region_key, sector, value, region_id
    zones: Zones | None = None  # polygons splitting an ecosystem into zone ecosystems (landcover.zones)


def read_scenario(path: Path):
    """Read and validate a neutrality scenario (configs/scenarios/*.yaml)."""
    from pydantic import ValidationError

    from .config import ScenarioSpec, _format_errors

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return ScenarioSpec.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, Path(path)).replace("configuration", "scenario")) from None


def _categorical(key: str, path: Path, resampling: str, band: int, nodata, config_key: str) -> RasterSource:
    """A class-code raster (land cover, an earlier epoch, habitats): integer, with a nodata value."""
    src = RasterSource(key, path, resampling, band, raster_info(path), nodata=nodata)
    if nodata is None and src.info["nodata"] is None:
        raise InputError(f"{path}: the {key} raster declares no nodata value, so pixels outside it would "
                         f"read as class 0. Fix: set '{config_key}.nodata' in the config (e.g. 255), or declare it in "
                         "the file (`gdal_edit.py -a_nodata 255 FILE`)")
    if not pd.api.types.is_integer_dtype(src.info["dtype"]):
        raise InputError(f"{path}: a {key} raster must hold integer class codes, found {src.info['dtype']}. "
                         f"Fix: point '{config_key}.path' at the class raster")
    return src


def load(cfg: RunConfig) -> Inputs:
    """Open every input's header, read tables and polygons; fail early with a clear message."""
    lc = cfg.landcover
    rasters = {"landcover": _categorical("land-cover", lc.path, lc.resampling, lc.band, lc.nodata, "landcover")}
    if lc.habitats is not None:
        h = lc.habitats
        rasters["habitats"] = _categorical("habitat", h.path, "nearest", h.band, h.nodata, "landcover.habitats")
    sc = cfg.sinks.terrestrial.stock_change if cfg.sinks.terrestrial.method == "stock_change" else None
    if sc is not None:
        rasters["landcover_earlier"] = _categorical("earlier land-cover", sc.earlier.path, sc.earlier.resampling,
                                                    sc.earlier.band, sc.earlier.nodata,
                                                    "sinks.terrestrial.stock_change.earlier")
    for name, spec in cfg.fluxes.items():
        rasters[f"flux:{name}"] = RasterSource(name, spec.path, spec.resampling, spec.band,
                                               raster_info(spec.path), spec.units, spec.sign, spec.nodata)
    for year, path in cfg.balance.landcover_by_year.items():
        rasters[f"epoch:{year}"] = _categorical("land-cover", path, lc.resampling, lc.band, lc.nodata,
                                                f"balance.landcover_by_year.{year}")
    for scen in cfg.land_use_scenarios:
        rasters[f"scenario:{scen.name}"] = _categorical("scenario land-cover", scen.path, lc.resampling, lc.band,
                                                        scen.nodata, f"land_use_scenarios[{scen.name}]")
    if cfg.emissions_grid is not None:
        e = cfg.emissions_grid
        rasters["emissions_grid"] = RasterSource("emissions_grid", e.path, e.resampling, e.band, raster_info(e.path),
                                                 e.units, "emission_positive", e.nodata)
    for src in rasters.values():
        if src.band > src.info["count"]:
            raise InputError(f"{src.path}: band {src.band} requested but the raster has {src.info['count']}")

    r = cfg.regions
    offshore = (r.offshore.path, r.offshore.layer, r.offshore.id_field) if r.offshore else None
    regions = read_regions(r.path, r.layer, r.id_field, r.name_field, offshore)

    inputs = Inputs(rasters, regions, read_scheme(lc.scheme), read_coefficients(cfg.sinks.coefficients))
    if lc.habitats is not None:  # habitat classes (e.g. mangrove) join the ecosystems of the run
        inputs.habitat_scheme = read_scheme(lc.habitats.scheme)
        inputs.scheme = inputs.scheme.with_ecosystems(inputs.habitat_scheme)
    if lc.zones is not None:  # zone ecosystems (e.g. one per sea) join the ecosystems of the run
        inputs.zones, inputs.scheme = read_zones(lc.zones, inputs.scheme)
    for scen in cfg.land_use_scenarios:
        inputs.scenario_schemes[scen.name] = read_scheme(scen.scheme) if scen.scheme else inputs.scheme
        inputs.scheme = inputs.scheme.with_ecosystems(inputs.scenario_schemes[scen.name])
    if sc is not None:
        inputs.earlier_scheme = read_scheme(sc.earlier.scheme) if sc.earlier.scheme else inputs.scheme
        inputs.scheme = inputs.scheme.with_ecosystems(inputs.earlier_scheme)
        inputs.densities, inputs.density_table = read_densities(sc.densities, inputs.scheme, list(sc.pools))
    if cfg.non_co2 is not None:
        inputs.non_co2 = read_non_co2(cfg.non_co2.factors, cfg.non_co2.water_regime)
    if cfg.sinks.inorganic is not None:
        inputs.inorganic = read_inorganic(cfg.sinks.inorganic)
    ids = list(regions["region_id"])
    parents = list(ids)  # a level's parents are regions or members of an earlier level
    for sub in r.subregions:
        inputs.subregions[sub.name] = read_subregions(sub.path, sub.layer, sub.id_field, sub.name_field,
                                                      sub.parent_field, parents)
        parents += list(inputs.subregions[sub.name]["region_id"])
    seen: set[str] = set()
    for comp in r.composites:
        unknown = [m for m in comp.members if m not in ids]
        if unknown:
            raise ConfigError(f"regions.composites '{comp.id}': member(s) {unknown} are not region ids."
                              f"{did_you_mean(unknown[0], ids)} Region ids: {ids}. Fix: list ids of the "
                              f"'regions' layer (field '{r.id_field}'; subregions cannot be members)")
        twice = sorted({m for m in comp.members if comp.members.count(m) > 1})
        if twice:
            raise ConfigError(f"regions.composites '{comp.id}': member(s) {twice} are listed more than once, "
                              "so they would be counted twice. Fix: list each member once")
        if comp.id in seen:
            raise ConfigError(f"regions.composites: id '{comp.id}' is used by more than one composite. "
                              "Fix: give each composite its own id")
        seen.add(comp.id)
    if cfg.emissions is not None:
        e = cfg.emissions
        inputs.emissions, inputs.emissions_year = read_region_table(
            e.path, e.region_field, e.value_field, e.year_field, e.year, "emissions", e.sector_field, e.allow_negative)
        by_sector = inputs.emissions.attrs.get("by_sector")
        inputs.emissions = match_regions(inputs.emissions, regions, e.path, "emissions")
        if by_sector is not None:  # region keys as ids (the sums were matched above)
            key_to_id = dict(zip(by_sector["region_key"].drop_duplicates(),
                                 match_regions(pd.Series(0, index=by_sector["region_key"].drop_duplicates()),
                                               regions, e.path, "emissions").index))
            inputs.emissions_by_sector = by_sector.assign(region_id=by_sector["region_key"].map(key_to_id))
    if cfg.population is not None:
        p = cfg.population
        inputs.population, inputs.population_year = read_region_table(
            p.path, p.region_field, p.value_field, p.year_field, p.year, "population")
        inputs.population = match_regions(inputs.population, regions, p.path, "population")
    if cfg.balance.scenario is not None:
        inputs.scenario = read_scenario(cfg.balance.scenario).model_dump(exclude_none=True)
    if cfg.balance.ccus is not None:
        inputs.ccus = read_ccus(cfg.balance.ccus)
        regional = inputs.ccus[inputs.ccus["region"] != "national"].set_index("region")
        regional = match_regions(regional, regions, cfg.balance.ccus, "CCUS")
        inputs.ccus = pd.concat([inputs.ccus[inputs.ccus["region"] == "national"],
                                 regional.reset_index(names="region")], ignore_index=True)
    return inputs


def match_regions(table, regions: gpd.GeoDataFrame, path: Path, what: str):
    """Return ``table`` indexed by region id. Its keys may be region ids or region names (matched
    case-insensitively); keys that match neither are an error listing them with the closest names."""
    known = list(regions["region_id"])
    keys = [str(k) for k in table.index]
    if all(k in known for k in keys):
        return table
    by_name = {str(n).casefold(): rid for rid, n in zip(regions["region_id"], regions["region_name"])}
    if all(k.casefold() in by_name for k in keys):
        return table.set_axis([by_name[k.casefold()] for k in keys])
    names = list(regions["region_name"])
    use_names = sum(k.casefold() in by_name for k in keys) > sum(k in known for k in keys)
    vocab = names if use_names else known
    unknown = sorted({k for k in keys if (k.casefold() not in by_name if use_names else k not in known)})
    hints = "; ".join(f"'{u}'{did_you_mean(u, vocab)}" for u in unknown[:10])
    listed = f"Known region {'names' if use_names else 'ids'}: {sorted(vocab)}"
    raise InputError(f"{path}: {len(unknown)} {what} row(s) name regions that do not exist: {hints}. "
                     f"{listed}. Fix: correct the {'names' if use_names else 'ids'} or drop the rows")

"""``run(config) -> RunResult``: wire the stages, compute once, write atomically."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import xarray as xr
from rasterio.errors import RasterioError
from rasterio._err import CPLE_BaseError

from . import __version__
from .aggregate import Parts, aggregate_parts, region_ecosystem_table
from .align import align, chunk_choice, grid_from_spec
from .balance import Scope, balance
from .budgets import budgets, emission_density, gridded_emissions
from .classify import classify, overlay
from .zones import split_by_zones
from .config import RunConfig, load_config
from .errors import CarbonSinkError, InputError, UnknownClassError
from .export import MAPS, export_gpkg, export_tables, region_geometries
from .io.manifest import sha256, versions, write_manifest
from .io.rasters import PASS_CACHE_MB, StagedMap, first_infinite, reading
from .io.rundir import check_target, raise_if_interrupted, remove_empty_dirs, staged_run_dir
from .hierarchy import check_members, composite_budgets, sink_by_realm
from .io.csv import write_table
from .labels import UNALLOCATED, majority_labels, polygonal, region_labels, resolve_overlaps_cached
from .load import load, match_regions
from .reconciliation import load_published, reconciliation_table
from .resources import check_resources
from .report import write_report
from .report_html import write_html_report
from .sinks import compute_sinks
from .sinks.fused import sink_pass
from .sinks.inorganic import inorganic_table
from .sinks._methods import flux_density, in_realm
from .sinks.non_co2 import non_co2_table
from .sinks.products import DOMAIN_REALMS, national_summary, product_classes, product_table
from .sinks.redistribute import cell_sums, redistributed, source_cells
from .streaming import reduce_window, windows
from .sinks.terrestrial import transition_class, transition_table
from .uncertainty import inputs_from_run, simulate, summarise
from .timeseries import budgets_by_year, ccus_for_year, region_eco_for_epoch, trends
from .land_use import potential_table
from .tables import read_region_table_years
from .tables import REALMS
from .units import PLAUSIBLE_ABS_MAX, MgC_to_MtCO2, check_plausible

log = logging.getLogger("carbon_sink")


@dataclass
class RunResult:
    """What a run produced: where, the tables, QA counts and timings."""

    run_dir: Path
    region_ecosystem: pd.DataFrame
    budgets: pd.DataFrame
    balance: pd.DataFrame
    qa: dict
    timings: dict = field(default_factory=dict)


def run(config: RunConfig | str | Path, out: str | Path | None = None, *, overwrite: bool = False,
        scheduler: str | None = None, progress: bool = False) -> RunResult:
    """Run the whole pipeline and write one run directory.

    Parameters
    ----------
    config : RunConfig or path to a YAML config
    out : run directory (default ``out/<config name>`` beside the current folder)
    overwrite : replace an existing run directory (otherwise an error)
    scheduler : ``None``/``"threads"`` (default), ``"processes"``, ``"synchronous"``, or the address
        of a ``dask.distributed`` scheduler (``tcp://host:8786``)
    progress : show a progress bar during the computation
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    target = Path(out) if out is not None else Path("out") / cfg.name
    created = check_target(target, overwrite, [cfg.source_path, *cfg.input_paths().values()])  # before any work
    try:
        return _run(cfg, target, overwrite, scheduler, progress, t0, timings)
    except BaseException:
        remove_empty_dirs(created)  # the folders made for this run's --out, when nothing was left in them
        raise


def _run(cfg: RunConfig, target: Path, overwrite: bool, scheduler: str | None, progress: bool, t0: float,
         timings: dict[str, float]) -> RunResult:
    inputs = load(cfg)
    published = load_published(cfg.balance.published_estimates)  # tables/reconciliation.csv (None: not shipped)
    nearest = cfg.regions.offshore is None and cfg.regions.offshore_km is not None
    if nearest:  # sea within offshore_km goes to the nearest region (zones built as polygons)
        inputs.regions = _with_nearest_zones(inputs.regions, cfg)
    grid = grid_from_spec(cfg.grid, inputs.regions, inputs.rasters)
    cost = check_resources(grid, inputs.regions, target.resolve().parent)  # refuse or warn before any work
    chunks_reason = chunk_choice(cfg.grid, grid, inputs.rasters)[1]
    layers = align(inputs.rasters, grid, cfg.label_cache_dir())
    lc = layers["landcover"]
    eco, code_counts = classify(lc, inputs.scheme, lc.attrs.get("nodata"))
    # class rasters whose codes are checked against their scheme after the compute
    categorical = {"landcover": (code_counts, inputs.scheme, cfg.landcover.scheme, lc)}
    if "habitats" in layers:
        hab = layers["habitats"]
        hab_eco, hab_counts = classify(hab, inputs.habitat_scheme, hab.attrs.get("nodata"), inputs.scheme)
        eco = overlay(eco, hab_eco)
        categorical["habitats"] = (hab_counts, inputs.habitat_scheme, cfg.landcover.habitats.scheme, hab)
    # zone ecosystems (landcover.zones, e.g. one per sea) after the habitats, on every land-cover epoch alike
    zoned = (lambda e: split_by_zones(e, inputs.zones, grid)) if inputs.zones is not None else (lambda e: e)
    eco = zoned(eco)
    stock = earlier = None
    if "landcover_earlier" in layers:
        sc = cfg.sinks.terrestrial.stock_change
        old = layers["landcover_earlier"]
        earlier, old_counts = classify(old, inputs.earlier_scheme, old.attrs.get("nodata"), inputs.scheme)
        if "habitats" in layers:  # the habitat map holds for both epochs: no made-up transitions
            earlier = overlay(earlier, hab_eco)
        earlier = zoned(earlier)
        categorical["landcover_earlier"] = (old_counts, inputs.earlier_scheme, sc.earlier.scheme or cfg.landcover.scheme,
                                            old)
        stock = {"earlier": earlier, "densities": inputs.densities, "years": (sc.earlier.year, cfg.landcover.year)}
    for scen in cfg.land_use_scenarios:  # scenario land covers, classified like the baseline
        key = f"scenario:{scen.name}"
        scen_eco, scen_counts = classify(layers[key], inputs.scenario_schemes[scen.name],
                                         layers[key].attrs.get("nodata"), inputs.scheme)
        categorical[key] = (scen_counts, inputs.scenario_schemes[scen.name], scen.scheme or cfg.landcover.scheme,
                            layers[key])
        layers[key] = zoned(overlay(scen_eco, hab_eco) if "habitats" in layers else scen_eco)
    for year in cfg.balance.landcover_by_year:  # land cover of other years (time series), like the baseline
        key = f"epoch:{year}"
        ep_eco, ep_counts = classify(layers[key], inputs.scheme, layers[key].attrs.get("nodata"), inputs.scheme)
        categorical[key] = (ep_counts, inputs.scheme, cfg.landcover.scheme, layers[key])
        layers[key] = zoned(overlay(ep_eco, hab_eco) if "habitats" in layers else ep_eco)
    fluxes = {src.name: layers[key] for key, src in inputs.rasters.items() if key.startswith("flux:")}
    for name, arr in fluxes.items():
        arr.attrs["source"] = str(inputs.rasters[f"flux:{name}"].path.name)
    sinks = compute_sinks(eco, inputs.scheme, inputs.coefficients, cfg.sinks, fluxes, stock)
    area = grid.pixel_area()
    applied_fluxes = _redistributed_fluxes(cfg, inputs, grid, eco, fluxes, area, sinks)
    if applied_fluxes is not fluxes:  # the same methods on the redistributed products
        sinks = compute_sinks(eco, inputs.scheme, inputs.coefficients, cfg.sinks, applied_fluxes, stock)
    # every realm's removal and emission, the net maps and the QA numbers in one compiled task per block
    fused = sink_pass(eco, area, inputs.scheme, inputs.coefficients, sinks, applied_fluxes)
    removal, emission = fused.removal, fused.emission
    t_labels = time.perf_counter()
    label_sets, overlaps = _label_sets(inputs, cfg, grid)
    labels = label_sets["regions"]
    timings["labels_s"] = time.perf_counter() - t_labels
    timings["prepare_s"] = time.perf_counter() - t0
    max_density = max(PLAUSIBLE_ABS_MAX.values()) + float(inputs.coefficients[["central", "low", "high"]].abs().max().max())
    n_eco = len(inputs.scheme.ecosystems)
    if nearest:  # nearest-region zones take sea pixels only: land pixels stay with the land polygons
        ocean = np.array([r == "ocean" for r in inputs.scheme.ecosystem_realm] + [False, False])
        is_sea = xr.apply_ufunc(lambda e: ocean[e], eco, dask="parallelized", output_dtypes=[bool])

    def by_region(cls, dens, n_cls, bound=max_density, signed=False):
        """Sums per (region, class) on the regions' labels (sea pixels on the nearest zones, land pixels
        on the land polygons, when the zones are built by nearest distance)."""
        if not nearest:
            return aggregate_parts(cls, dens, labels, grid, n_cls, bound, signed)
        sea = aggregate_parts(cls.where(is_sea, -1), dens, labels, grid, n_cls, bound, signed)
        land = aggregate_parts(cls.where(~is_sea, -1), dens, label_sets["regions_land"], grid, n_cls, bound, signed)
        return Parts(sea.counts + land.counts, sea.q, sea.n_reg, sea.n_cls)  # exact integer counts

    sums = {k: aggregate_parts(eco, [removal, emission], lab, grid, n_eco, max_density)
            for k, lab in label_sets.items()
            if k != "regions"}
    sums["regions"] = by_region(eco, [removal, emission], n_eco)
    if "emissions_grid" in layers:  # emissions summed per region over the pixels with land cover, same pass
        sums["emissions_grid"] = by_region(xr.where(eco >= 0, 0, -1).astype(np.int16),
                                           [emission_density(layers["emissions_grid"])], 1, bound=1e7)
    if cfg.uncertainty is not None:  # alternative flux products of a realm's ensemble, in the same pass
        for realm, ens in cfg.uncertainty.ensembles.items():
            spec = getattr(cfg.sinks, realm)
            own = "+".join(spec.flux_names()) if spec.method == "flux" else None
            for name in ens.members:
                if name in fluxes and name != own:
                    alt = compute_sinks(eco, inputs.scheme, inputs.coefficients, _only_flux(cfg.sinks, realm, name),
                                        fluxes)[realm]
                    sums[f"ens:{realm}:{name}"] = by_region(eco, [alt.removal, alt.emission], n_eco)
    applied = _applied_products(sinks)
    for name in applied:  # each flux product's own integral per region and class, in the same pass
        cls, dens = product_classes(eco, flux_density(fluxes[name]), n_eco)
        sums[f"product:{name}"] = by_region(cls, [dens], 2 * n_eco + 2, signed=True)
        if applied_fluxes[name] is not fluxes[name]:  # redistributed: what was applied, by the same classes
            cls, dens = product_classes(eco, applied_fluxes[name], n_eco)
            sums[f"redistributed:{name}"] = by_region(cls, [dens], 2 * n_eco + 2, signed=True)
    for year in cfg.balance.landcover_by_year:  # areas of each land-cover year, in the same pass
        sums[f"epoch:{year}"] = by_region(layers[f"epoch:{year}"], [], n_eco)
    for scen in cfg.land_use_scenarios:  # areas of each scenario land cover, in the same pass
        sums[f"scenario:{scen.name}"] = by_region(layers[f"scenario:{scen.name}"], [], n_eco)
    if stock is not None:  # area per (region, earlier ecosystem, later ecosystem), in the same pass
        sums["transitions"] = by_region(transition_class(eco, earlier, n_eco), [], (n_eco + 1) * n_eco)
    # the nation, summed directly over the pixels: regions + unallocated must equal it (DESIGN 4)
    pixel_total = fused.pixel_total
    maps = fused.maps
    qa_lazy = dict(fused.qa)

    config_hash = sha256(cfg.source_path) if cfg.source_path else hashlib.sha256(
        cfg.model_dump_json().encode()).hexdigest()
    with staged_run_dir(target, overwrite) as tmp, _scheduler(scheduler) as workers, _side_thread() as side:
        geometries = side.submit(region_geometries, inputs.regions)  # GEOS, while the pass runs
        (tmp / "maps").mkdir()
        input_digests = {k: sha256(p) for k, p in cfg.input_paths().items()}  # each input file hashed once
        run_id = _run_id(config_hash, input_digests)
        label_values, label_table = _label_values(labels, inputs.regions)
        outputs = {name: maps[name].data.astype(np.float32) for name in MAPS}
        outputs["regions"] = majority_labels(labels, grid, label_values)
        stages = {}
        t1 = time.perf_counter()
        try:
            for name in MAPS:
                stages[name] = StagedMap(tmp / "maps" / f".{name}.stage.tif", grid, "float32", np.nan,
                                         _map_tags(name, maps[name], sinks, config_hash) | {"run_id": run_id})
            stages["regions"] = StagedMap(
                tmp / "maps" / ".regions.stage.tif", grid, "int32", 0,
                {"kind": "categorical", "long_name": "region covering most of the pixel (0 = unallocated)",
                 "values": "region id" if label_table is None else "see maps/regions.csv", "run_id": run_id,
                 "config_sha256": config_hash, "software": f"carbon-sink {__version__}"}, categorical=True)
            # reading(): the input datasets the threads keep open are closed when the pass ends
            with _read_errors(), rasterio.Env(GDAL_CACHEMAX=PASS_CACHE_MB), reading():  # see PASS_CACHE_MB
                sums_np, counts_np, qa, pixel_total = _stream(grid, outputs, stages, sums, categorical, qa_lazy,
                                                              pixel_total, workers, progress)
                qa = fused.named(qa)
        finally:
            for ds in stages.values():
                ds.close()
        timings["compute_s"] = time.perf_counter() - t1
        _check_after_compute(counts_np, categorical, inputs, lc, qa, cfg)
        conservation = _check_conservation(sums_np["regions"], float(pixel_total))

        t2 = time.perf_counter()
        for name in MAPS:  # the overview levels were made in the pass: the COG driver copies them
            raise_if_interrupted()
            stages[name].to_cog(tmp / "maps" / f"{name}.tif", maps[name].attrs.get("long_name", name))
        raise_if_interrupted()
        stages["regions"].to_cog(tmp / "maps" / "regions.tif", "region label")
        if label_table is not None:
            write_table(label_table, tmp / "maps" / "regions.csv")
        names = dict(zip(inputs.regions["region_id"], inputs.regions["region_name"]))
        region_eco = region_ecosystem_table(sums_np["regions"], labels, names, inputs.scheme.ecosystems,
                                            inputs.scheme.ecosystem_realm)
        extra_tables = {"coefficients": _coefficients_used(inputs)}
        if inputs.emissions_by_sector is not None:
            extra_tables["emissions_by_sector"] = inputs.emissions_by_sector
        inorg = non_co2 = None
        if inputs.inorganic is not None:
            inorg = extra_tables["inorganic"] = inorganic_table(region_eco, inputs.inorganic)
        if inputs.non_co2 is not None:
            non_co2 = extra_tables["non_co2"] = non_co2_table(region_eco, inputs.non_co2, cfg.non_co2.gwp)
        if cfg.land_use_scenarios:
            extra_tables["land_use_scenarios"] = pd.concat([potential_table(
                scen.name, region_eco, sums_np[f"scenario:{scen.name}"][:, :, 0], labels.region_ids,
                inputs.scheme.ecosystems, inputs.scheme.ecosystem_realm, inputs.coefficients)
                for scen in cfg.land_use_scenarios], ignore_index=True)
        if stock is not None:
            extra_tables["transitions"] = transition_table(sums_np["transitions"][:, :, 0], labels.region_ids, names,
                                                           inputs.scheme, inputs.densities, *stock["years"])
        if applied:
            extra_tables["flux_products"] = product_table(
                {n: sums_np[f"product:{n}"] for n in applied}, labels.region_ids, names, inputs.scheme, applied,
                {n: sums_np[f"redistributed:{n}"] for n in applied if f"redistributed:{n}" in sums_np})
        emissions, emissions_year = inputs.emissions, inputs.emissions_year
        if "emissions_grid" in sums_np:
            emissions = gridded_emissions(sums_np["emissions_grid"], labels.region_ids)
            emissions_year = cfg.emissions_grid.year
        nat_ccus, reg_ccus = ccus_for_year(inputs.ccus, emissions_year, cfg.balance.ccus_MtCO2)
        budget = budgets(region_eco, inputs.regions, emissions, emissions_year, inputs.population, inorg, non_co2,
                         reg_ccus)
        if cfg.balance.years:
            coef_realms = {r for r in REALMS if getattr(cfg.sinks, r).method == "coefficient"}
            epochs = {y: region_eco_for_epoch(region_eco, sums_np[f"epoch:{y}"][:, :, 0], labels.region_ids,
                                              inputs.scheme.ecosystems, inputs.coefficients, coef_realms)
                      for y in cfg.balance.landcover_by_year}
            by_year, nation_by_year = budgets_by_year(region_eco, inputs.regions, *_yearly_tables(cfg, inputs.regions),
                                                      inputs.ccus, cfg.balance.years, inorg, non_co2,
                                                      cfg.balance.ccus_MtCO2, epochs)
            extra_tables["budgets_by_year"] = by_year
            extra_tables["balance_by_year"] = nation_by_year
            cols = ["emissions_MtCO2", "sink_total_MtCO2", "net_MtCO2"]
            extra_tables["trends"] = pd.concat(
                [trends(nation_by_year.assign(region_id="nation", region="nation"), ["region_id", "region"], cols),
                 trends(by_year, ["region_id", "region"], cols)], ignore_index=True)
        if cfg.uncertainty is not None:
            t_mc = time.perf_counter()
            flux_totals = {tuple(k.split(":")[1:]): (v[:, :, 1] - v[:, :, 2]).sum(axis=1)
                           for k, v in sums_np.items() if k.startswith("ens:")}
            mc = inputs_from_run(cfg, region_eco, budget, nat_ccus, inputs.coefficients, flux_totals,
                                 extra_tables.get("transitions"), inputs.density_table, inputs.non_co2, inputs.inorganic)
            u = cfg.uncertainty
            extra_tables["uncertainty"] = summarise(simulate(mc, u.draws, u.seed, u.distribution), mc)
            timings["monte_carlo_s"] = time.perf_counter() - t_mc
        scope = Scope.of(cfg.regions.scope, cfg.regions.level, budget)
        bal = balance(budget, nat_ccus, inputs.scenario, emissions_year,
                      cfg.non_co2.gwp if cfg.non_co2 else "AR6", cfg.balance.valuation, _potentials(extra_tables),
                      scope=scope)
        if published is not None:
            extra_tables["reconciliation"] = reconciliation_table(published, bal, extra_tables.get("uncertainty"),
                                                                  scope)
        export_tables(tmp, region_eco, budget, bal, extra_tables)
        extra_layers = _hierarchy_products(tmp, inputs, cfg, label_sets, sums_np, budget)
        extra_layers["region_ecosystem"] = region_eco  # gross and net per region and ecosystem (attribute table)
        export_gpkg(tmp, inputs.regions, budget, bal, extra_layers, geometries.result())
        timings["export_s"] = time.perf_counter() - t2
        qa_out = {k: (v.item() if hasattr(v, "item") else v) for k, v in qa.items()}
        outside = region_eco[region_eco["region_id"] == UNALLOCATED]
        at_sea = outside["realm"] == "ocean"
        qa_out.update({"unallocated_km2": float(outside["area_km2"].sum()),
                       # pixels no region covers: land outside the regions, apart from sea beyond the zones
                       "unallocated_land_km2": float(outside.loc[~at_sea, "area_km2"].sum()),
                       "unallocated_land_sink_MtCO2": float(MgC_to_MtCO2(outside.loc[~at_sea, "sink_MgC_yr"].sum())),
                       "unallocated_sea_km2": float(outside.loc[at_sea, "area_km2"].sum()),
                       "unallocated_sea_sink_MtCO2": float(MgC_to_MtCO2(outside.loc[at_sea, "sink_MgC_yr"].sum())),
                       "grid_shape": list(grid.shape), "conservation": conservation,
                       "region_labels": {k: lab.info for k, lab in label_sets.items()},
                       "region_overlaps_km2": [[a, b, km2] for a, b, km2 in overlaps],
                       "region_border_px": labels.info["shared_px"]})
        if applied:
            qa_out["flux_products"] = national_summary(extra_tables["flux_products"])
        timings["total_s"] = time.perf_counter() - t0
        write_manifest(tmp / "manifest.json", {
            "carbon_sink_version": __version__,
            "config": cfg.model_dump(mode="json"),
            "config_file": str(cfg.source_path) if cfg.source_path else None,
            "config_sha256": config_hash,
            "inputs": {k: {"path": str(p), "sha256": input_digests[k]} for k, p in cfg.input_paths().items()},
            "grid": {"crs": _crs_label(grid.crs), "transform": list(grid.transform)[:6], "shape": list(grid.shape),
                     "chunks": grid.chunks, "chunks_reason": chunks_reason,
                     "estimate": {k: cost[k] for k in ("pixels", "blocks", "map_bytes")}},
            "run_id": run_id,
            "scope": scope.as_dict(),
            "outputs": {"maps": [f"maps/{m}.tif" for m in MAPS] + ["maps/regions.tif"],
                        "tables": ["tables/region_ecosystem.csv", "tables/budgets.csv", "tables/balance.csv"]
                        + [f"tables/{k}.csv" for k in extra_tables],
                        "vector": "budget.gpkg", "report": ["report.md", "report.html"]},
            "units": {"maps": "g C m-2 yr-1 (sink positive)", "tables_mass": "Mg C yr-1",
                      "budgets": "Mt CO2 yr-1", "area": "km2"},
            "qa": qa_out,
            "versions": versions(),
            "timings_s": timings,
        })
        write_report(tmp)
        write_html_report(tmp)
    return RunResult(target, region_eco, budget, bal, qa_out, timings)


def _label_sets(inputs, cfg: RunConfig, grid) -> tuple[dict, list]:
    """Region labels for the regions (land + offshore) and, when subregion layers are given, for the
    regions' land polygons and each subregion layer. Overlaps are resolved (or refused) first."""
    cache = cfg.label_cache_dir()
    regions = inputs.regions
    polys = regions[["region_id", "allocation"]].set_geometry("allocation").rename_geometry("geometry")
    polys, overlaps = resolve_overlaps_cached(polys.to_crs(grid.crs), cfg.regions.overlap, str(cfg.regions.path), cache)
    sets = {"regions": region_labels(polys, grid, cache)}
    if inputs.subregions or (cfg.regions.offshore is None and cfg.regions.offshore_km is not None):
        land = regions[["region_id", "geometry"]].to_crs(grid.crs)
        land, _ = resolve_overlaps_cached(land, cfg.regions.overlap, str(cfg.regions.path), cache)
        sets["regions_land"] = region_labels(land, grid, cache)
    for spec in cfg.regions.subregions:
        sub = inputs.subregions[spec.name][["region_id", "geometry"]].to_crs(grid.crs)
        sub, more = resolve_overlaps_cached(sub, cfg.regions.overlap, str(spec.path), cache)
        overlaps += more
        sets[f"sub:{spec.name}"] = region_labels(sub, grid, cache)
    return sets, overlaps


def _with_nearest_zones(regions: gpd.GeoDataFrame, cfg: RunConfig) -> gpd.GeoDataFrame:
    """``regions`` whose ``allocation`` adds the sea nearer to them than to any other region, within
    ``regions.offshore_km``, built in the grid's CRS (boundary points every half pixel)."""
    from .offshore import attach_nearest

    zoned = attach_nearest(regions.to_crs(cfg.grid.crs), cfg.regions.offshore_km, spacing_m=cfg.grid.resolution / 2)
    out = regions.copy()
    back = gpd.GeoSeries(zoned["allocation"].values, crs=cfg.grid.crs).to_crs(regions.crs)
    out["allocation"] = [g if g.is_valid else polygonal(shapely.make_valid(g)) for g in back]  # projection artefacts
    out["allocation"] = gpd.GeoSeries(out["allocation"].values, crs=regions.crs).values
    out["offshore_km2"] = zoned["offshore_km2"].values
    return out


def _potentials(tables: dict) -> dict[str, float]:
    """Sink-enhancement potential of each land-use scenario [Mt CO2 yr-1]."""
    t = tables.get("land_use_scenarios")
    if t is None:
        return {}
    return {name: float(MgC_to_MtCO2(g["sink_change_MgC_yr"].sum())) for name, g in t.groupby("scenario", sort=False)}


def _yearly_tables(cfg: RunConfig, regions) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Emissions and population as (year x region id) frames for ``balance.years``."""
    years = cfg.balance.years
    if cfg.emissions is None:
        raise InputError("balance.years needs an emissions inventory table ('emissions'); a gridded raster "
                         "('emissions_grid') stands for one year. Fix: remove balance.years or give a table")
    e = cfg.emissions
    emissions = read_region_table_years(e.path, e.region_field, e.value_field, e.year_field, years, "emissions",
                                        e.allow_negative)
    emissions = match_regions(emissions.T, regions, e.path, "emissions").T
    population = None
    if cfg.population is not None:
        p = cfg.population
        population = read_region_table_years(p.path, p.region_field, p.value_field, p.year_field, years, "population")
        population = match_regions(population.T, regions, p.path, "population").T
    return emissions, population


def _redistributed_fluxes(cfg: RunConfig, inputs, grid, eco: xr.DataArray, fluxes: dict, area, sinks) -> dict:
    """``fluxes`` with the products of every realm declaring ``redistribute: true`` replaced by their
    densities with each cell's not-applied mass moved onto the applied ecosystems of the cell
    (:mod:`pipeline.sinks.redistribute`; computes the cell sums now, in a pass of their own); ``fluxes``
    itself when no realm asks for it."""
    out = None
    for realm in REALMS:
        spec = getattr(cfg.sinks, realm)
        if spec.method != "flux" or not spec.redistribute:
            continue
        out = dict(fluxes) if out is None else out
        plan = sinks[realm].plan
        domain = in_realm(eco, inputs.scheme, DOMAIN_REALMS.get(realm, (realm,)))
        applied = in_realm(eco, inputs.scheme, realm, list(plan.chosen))
        for name in plan.names:
            info = inputs.rasters[f"flux:{name}"].info
            cells = source_cells(grid, info["crs"], info["transform"], info["shape"])
            density = flux_density(fluxes[name])
            n_cells = info["shape"][0] * info["shape"][1]
            out[name] = redistributed(density, cells, applied, cell_sums(cells, density, area, domain, applied, n_cells))
    return fluxes if out is None else out


def _applied_products(sinks: dict) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Flux product name -> (realm, ecosystems the flux method applies it to), for every flux realm."""
    return {name: (realm, s.plan.chosen) for realm, s in sinks.items() if s.method == "flux"
            for name in s.plan.names}


def _only_flux(sinks, realm: str, flux: str):
    """The sinks spec with ``realm`` computed from the flux ``flux`` (an ensemble member)."""
    spec = getattr(sinks, realm)
    return sinks.model_copy(update={realm: spec.model_copy(update={"method": "flux", "flux": flux,
                                                                   "stock_change": None})})


def _coefficients_used(inputs) -> pd.DataFrame:
    """Every coefficient table the run read, in one long table (converted units, evidence, source)."""
    parts = [inputs.coefficients.assign(table="sink_rate", item=inputs.coefficients["flux"])]
    if inputs.density_table is not None:
        parts.append(inputs.density_table.assign(table="carbon_density", realm="terrestrial",
                                                 item=inputs.density_table["pool"]))
    if inputs.non_co2 is not None:
        parts.append(inputs.non_co2.assign(table="non_co2", realm="", item=inputs.non_co2["gas"]))
    if inputs.inorganic is not None:
        parts.append(inputs.inorganic.assign(table="inorganic", item="removal"))
    cols = ["table", "realm", "ecosystem", "item", "central", "low", "high", "units", "evidence", "source",
            "range_basis", "draw_group"]
    out = pd.concat([p.reindex(columns=cols + ["share"]) for p in parts], ignore_index=True)
    out["evidence"] = out["evidence"].fillna("")
    return out


def _check_conservation(sums: np.ndarray, pixel_total_g: float) -> dict:
    """Regions plus unallocated must add up to the sum over all pixels (relative 1e-9)."""
    regional = float(sums[:, :, 1].sum() - sums[:, :, 2].sum())
    rel = abs(regional - pixel_total_g) / max(abs(pixel_total_g), 1e-300)
    if rel > 1e-9 and abs(regional - pixel_total_g) > 1e-6:
        raise CarbonSinkError(f"internal check failed: regions plus unallocated sum to {regional:.6e} g C yr-1 but "
                              f"the pixels to {pixel_total_g:.6e} (relative difference {rel:.2e}). Please report this "
                              "with the run's config")
    return {"regions_plus_unallocated_gC_yr": regional, "pixels_gC_yr": pixel_total_g, "relative_difference": rel}


def _hierarchy_products(tmp: Path, inputs, cfg: RunConfig, label_sets: dict, sums_np: dict,
                        budget: pd.DataFrame) -> dict:
    """Write the subregion and composite tables; return the extra GeoPackage layers."""
    layers = {}
    scheme = inputs.scheme
    if inputs.subregions:
        names = dict(zip(inputs.regions["region_id"], inputs.regions["region_name"]))
        land_eco = region_ecosystem_table(sums_np["regions_land"], label_sets["regions_land"], names,
                                          scheme.ecosystems, scheme.ecosystem_realm)
        tables, checks = [], []
        level_of = {rid: land_eco for rid in inputs.regions["region_id"]}  # parent id -> its table
        for spec in cfg.regions.subregions:
            sub = inputs.subregions[spec.name]
            key = f"sub:{spec.name}"
            eco_t = region_ecosystem_table(sums_np[key], label_sets[key], dict(zip(sub["region_id"], sub["region_name"])),
                                           scheme.ecosystems, scheme.ecosystem_realm)
            eco_t = eco_t[eco_t["region_id"] != UNALLOCATED]
            eco_t.insert(0, "level", spec.name)
            eco_t.insert(3, "parent_id", eco_t["region_id"].map(dict(zip(sub["region_id"], sub["parent_id"]))))
            tables.append(eco_t)
            for parent_table in {id(level_of[p]): level_of[p] for p in eco_t["parent_id"].unique()}.values():
                members = eco_t[eco_t["parent_id"].isin(parent_table["region_id"])]
                checks.append(check_members(members, parent_table, spec.name))
            level_of.update({rid: eco_t for rid in sub["region_id"]})
            wide = sink_by_realm(eco_t, ["region_id"])
            layers[f"subregions_{spec.name}"] = sub.merge(wide, on="region_id", how="left")
        write_table(pd.concat(tables, ignore_index=True), tmp / "tables" / "subregion_ecosystem.csv")
        check = pd.concat(checks, ignore_index=True)
        write_table(check, tmp / "tables" / "hierarchy_check.csv")
        # check_members has warned about each parent whose members do not add up (area and sink)
    if cfg.regions.composites:
        comp = composite_budgets(budget, cfg.regions.composites)
        write_table(comp, tmp / "tables" / "composites.csv")
        geoms = inputs.regions.set_index("region_id")["allocation"]
        layers["composites"] = gpd.GeoDataFrame(
            comp, geometry=[shapely.union_all(geoms.loc[c.members].values) for c in cfg.regions.composites],
            crs=inputs.regions.crs)
    return layers


def _run_id(config_hash: str, input_digests: dict[str, str]) -> str:
    """The run's id: a digest of its config and of every input's content (``input_digests``: key ->
    sha256), so the same inputs give the same id (and byte-identical outputs) and any change gives another."""
    h = hashlib.sha256(config_hash.encode())
    for key, digest in sorted(input_digests.items()):
        h.update(f"{key}={digest}".encode())
    return h.hexdigest()[:16]


def _label_values(labels, regions: gpd.GeoDataFrame) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Pixel values of ``maps/regions.tif`` per region index: the region ids when they are positive
    integers (e.g. administrative codes), else 1..n with a table ``maps/regions.csv``."""
    ids = list(labels.region_ids[:-1])
    if all(i.isdigit() and 0 < int(i) < 2**31 for i in ids):
        return np.array([int(i) for i in ids] + [0]), None
    names = dict(zip(regions["region_id"], regions["region_name"]))
    table = pd.DataFrame({"value": range(1, len(ids) + 1), "region_id": ids, "region": [names.get(i, i) for i in ids]})
    return np.array(list(range(1, len(ids) + 1)) + [0]), table


def _map_tags(name: str, arr: xr.DataArray, sinks, config_hash: str) -> dict:
    realm = {f"sink_{s}": r for r, s in REALMS.items()}.get(name)
    if realm:
        method, source = sinks[realm].method, sinks[realm].source
    else:
        method = "; ".join(f"{r}: {s.method}" for r, s in sinks.items())
        source = "sum of the realm maps"
    long_name = f"net {realm or 'total'} carbon sink density (removal - emission)"
    arr.attrs["long_name"] = long_name
    return {"units": "g C m-2 yr-1", "sign": "uptake_positive (sink positive)", "kind": "density",
            "long_name": long_name, "realm": realm or "all", "method": method, "source": source,
            "config_sha256": config_hash, "software": f"carbon-sink {__version__}"}


@contextlib.contextmanager
def _side_thread():
    """One helper thread for work that overlaps the pass; on an error or an interrupt the run does not
    wait for it (pending work is cancelled, running work is left to finish on its own)."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="carbon-sink-side")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _read_errors():
    """Turn GDAL read failures inside the computation (truncated or corrupt files) into InputError."""
    try:
        yield
    except (RasterioError, CPLE_BaseError) as exc:
        raise InputError(f"an input raster could not be read while computing: {exc}. The file may be truncated "
                         "or corrupt. Fix: re-download or re-export it (check with `gdalinfo -checksum FILE`)") from None


def _check_after_compute(counts: dict, categorical: dict, inputs, lc: xr.DataArray, qa: dict, cfg: RunConfig) -> None:
    for key, (_, scheme, scheme_path, arr) in categorical.items():
        _check_codes(counts[key], scheme, inputs.rasters[key].path, scheme_path, arr.attrs.get("nodata"))
    lc_path = inputs.rasters["landcover"].path
    nodata = lc.attrs.get("nodata")
    if int(qa["nodata_px"]) + int(qa["unknown_px"]) == int(np.prod(lc.shape)):
        raise InputError(f"{lc_path}: every pixel on the analysis grid is nodata (nodata = {nodata}). Fix: check that "
                         "the raster covers the regions and that its nodata value is right")
    if int(qa.get("stock_change_terrestrial_px", 0)):
        if int(qa["stock_change_earlier_nodata_px"]) == int(qa["stock_change_terrestrial_px"]):
            sc = cfg.sinks.terrestrial.stock_change
            raise InputError(f"{sc.earlier.path}: the earlier land cover has no data on any of the "
                             f"{int(qa['stock_change_terrestrial_px'])} terrestrial pixels (all nodata or outside the "
                             "raster). Fix: check the file, its nodata value and its extent")
    for realm in REALMS:
        spec = getattr(cfg.sinks, realm)
        if spec.method != "flux":
            continue
        used, missing = int(qa[f"flux_used_px:{realm}"]), int(qa[f"flux_missing_px:{realm}"])
        paths = ", ".join(str(cfg.fluxes[n].path) for n in spec.flux_names())
        if used and missing == used:
            raise InputError(f"{paths}: the flux raster has no data on any of the {used} {realm} pixels it "
                             "should cover (all nodata or outside the raster). Fix: check the file, its nodata "
                             "value and its extent")
        for name in spec.flux_names():
            fs = cfg.fluxes[name]
            n_inf = int(qa.get(f"flux_nonfinite_px:{realm}:{name}", 0))
            if n_inf:
                where = first_infinite(fs.path, fs.band)
                raise InputError(f"{fs.path}: {n_inf} pixel(s) of the analysis grid where this flux is applied "
                                 f"({realm}) are infinite (+-inf), so no sum over them is a number{where}. Fix: "
                                 "set them to the raster's nodata (e.g. `gdal_calc.py -A FILE --calc "
                                 "\"where(isinf(A), nan, A)\" --outfile FIXED.tif`), or repair the file")
            check_plausible(float(qa[f"flux_max_abs:{realm}:{name}"]), realm, fs.units, str(fs.path))


def _check_codes(counts: np.ndarray, scheme, path, scheme_path, nodata) -> None:
    """Codes present in a class raster but absent from its scheme are an error listing them."""
    known = set(scheme.table["code"].tolist())
    negative, beyond, counts = int(counts[-2]), int(counts[-1]), counts[:-2]
    present = np.flatnonzero(counts)
    unknown = [int(c) for c in present if c not in known and not (nodata is not None and c == nodata)]
    listed = [f"{c} ({int(counts[c])} px)" for c in unknown]
    if negative:
        listed.append(f"negative codes ({negative} px)")
    if beyond:
        listed.append(f"codes above {len(counts) - 1} ({beyond} px)")
    if listed:
        fix = ("add a row (code, name, ecosystem, realm) for each to the scheme CSV, or declare them as the "
               "raster's nodata")
        if negative:
            fix += (" (negative codes cannot be mapped: declare the value as nodata, e.g. `landcover.nodata: -1`, "
                    "or recode them)")
        raise UnknownClassError(f"{path}: land-cover code(s) {', '.join(listed)} are not in the scheme "
                                f"{scheme_path}. Fix: {fix}")


def _crs_label(crs) -> str:
    epsg = crs.to_epsg()
    if epsg:
        return f"EPSG:{epsg}"
    with warnings.catch_warnings():  # a PROJ string is the readable label; the manifest keeps the config's CRS
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_proj4()


@contextlib.contextmanager
def _scheduler(name: str | None):
    """Use the named scheduler; yield its number of workers (threads, processes or cluster threads).

    Maps are written by this process, group of blocks by group (:func:`_stream`), so no scheduler ever
    writes a file: writing is safe under every scheduler without locks."""
    if name in (None, "threads", "threaded", "synchronous", "single-threaded"):
        with dask.config.set(scheduler=name or "threads"):
            yield 1 if name in ("synchronous", "single-threaded") else (os.cpu_count() or 1)
    elif name == "processes":
        with dask.config.set(scheduler="processes"):
            yield os.cpu_count() or 1
    else:
        from distributed import Client

        with Client(name) as client:
            yield max(1, sum(client.nthreads().values()))


def _stream(grid, outputs: dict, stages: dict, sums: dict, categorical: dict, qa_lazy: dict, pixel_total,
            workers: int, progress: bool):
    """The run's one pass, a group of blocks at a time (:func:`windows`): compute the group's map windows and the
    partials of every reduction together (each input block read once), write the rows, add up the
    partials. Returns the sums (region, class, quantity), the code histograms, the QA values and the
    sum over all pixels."""
    nby, nbx = pixel_total.numblocks
    plan = windows(nby, nbx, workers)
    c = grid.chunks
    acc_sums: dict = {}
    acc_counts: dict = {}
    acc_qa: dict = {}
    acc_total = 0.0

    def write_window(rows: dict, r0: int, c0: int) -> None:
        for k, arr in rows.items():
            stages[k].write(arr, r0, c0)

    # one writer thread (GDAL releases the GIL while it compresses): group n is written while
    # group n + 1 is computed; only this thread touches the staging files
    writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="carbon-sink-writer")
    pending = None
    try:
        for n, (i0, i1, j0, j1) in enumerate(plan):
            raise_if_interrupted()
            r0, r1 = i0 * c, min(i1 * c, grid.height)
            c0, c1 = j0 * c, min(j1 * c, grid.width)
            rows, s_sums, s_counts, s_qa, s_total = dask.compute(
                {k: v[r0:r1, c0:c1] for k, v in outputs.items()},
                {k: p.counts[i0:i1, j0:j1].sum(axis=(0, 1)) for k, p in sums.items()},
                {k: v[0][i0:i1, j0:j1].sum(axis=(0, 1)) for k, v in categorical.items()},
                {k: reduce_window(p, how, i0, i1, j0, j1) for k, (p, how) in qa_lazy.items()},
                pixel_total[i0:i1, j0:j1].sum())
            if pending is not None:
                pending.result()  # at most one group waits to be written: memory stays bounded
            pending = writer.submit(write_window, rows, r0, c0)
            for k, v in s_sums.items():
                acc_sums[k] = acc_sums[k] + v if k in acc_sums else v
            for k, v in s_counts.items():
                acc_counts[k] = acc_counts[k] + v if k in acc_counts else v
            for k, v in s_qa.items():
                how = qa_lazy[k][1]
                acc_qa[k] = v if k not in acc_qa else (acc_qa[k] + v if how == "sum" else np.maximum(acc_qa[k], v))
            acc_total += float(s_total)
            if progress:
                done = (n + 1) / len(plan)
                print(f"\r[{'#' * int(40 * done):<40}] {100 * done:5.1f}% of the grid", end="", file=sys.stderr,
                      flush=True)
        if pending is not None:
            pending.result()
    finally:
        writer.shutdown(wait=True)
    if progress:
        print(file=sys.stderr)
    sums_np = {k: p.finish(acc_sums[k]) for k, p in sums.items()}
    return sums_np, acc_counts, acc_qa, acc_total

"""``carbon-sink validate CONFIG``: check a config and every input it names, without computing a pixel.

The checks are the ones a run makes before its computation (the config schema, then each input's
header, table and polygons, with :mod:`pipeline.load`'s pieces and
:func:`pipeline.io.rasters.raster_info`), plus the extent of every raster against the analysis
grid, overlapping polygons and the sink methods' coefficient coverage. Unlike a run, which stops at
the first problem, ``validate`` collects them all: each problem is the
:class:`~pipeline.errors.CarbonSinkError` a run would raise, with its message and exit code.

When the config fails its schema, each of its sections that is valid on its own is still checked
(a missing land-cover file does not hide a broken emission table).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import yaml
from pydantic import TypeAdapter, ValidationError

from .config import FluxSpec, RunConfig, load_config
from .errors import CarbonSinkError, ConfigError, GridError, InputError

#: Which problem decides the exit code: a configuration error first (a run meets it first), then an
#: input error, then an output error, then any other.
PRIORITY = (2, 3, 4, 1)
KINDS = {1: "error", 2: "config error", 3: "input error", 4: "output error"}


@dataclass(frozen=True)
class Problem:
    """One problem: what was being checked, the message (what, where, the fix) and its exit code."""

    check: str
    message: str
    exit_code: int

    def line(self) -> str:
        text = " ".join(self.message.split())
        return f"{KINDS.get(self.exit_code, 'error')} [exit {self.exit_code}] {self.check}: {text}"


@dataclass
class ValidationReport:
    """Every problem found in one config, the warnings, and what was checked."""

    config: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 if clean, else the highest-priority code among the problems (see :data:`PRIORITY`)."""
        codes = {p.exit_code for p in self.problems}
        if not codes:
            return 0
        return next((c for c in PRIORITY if c in codes), max(codes))

    def lines(self) -> list[str]:
        """One line per problem, then one per warning."""
        return [p.line() for p in self.problems] + [f"warning: {' '.join(w.split())}" for w in self.warnings]

    def summary(self) -> str:
        n = len(self.problems)
        if not n:
            return (f"{self.config}: OK, no problems ({len(self.checked)} checks"
                    + (f", {len(self.warnings)} warning(s)" if self.warnings else "") + "); ready to run")
        by_kind: dict[str, int] = {}
        for p in self.problems:
            kind = KINDS.get(p.exit_code, "error")
            by_kind[kind] = by_kind.get(kind, 0) + 1
        kinds = ", ".join(f"{k} {kind}{'s' if k > 1 else ''}" for kind, k in by_kind.items())
        return (f"{self.config}: {n} problem{'s' if n > 1 else ''} ({kinds}) in {len(self.checked)} checks; "
                f"exit {self.exit_code}")


class _Checker:
    """Runs checks, turning each CarbonSinkError into a Problem instead of stopping."""

    def __init__(self, report: ValidationReport, debug: bool = False):
        self.report = report
        self.debug = debug

    def __call__(self, what: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, or None when it raised (the problem is recorded)."""
        self.report.checked.append(what)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            except CarbonSinkError as exc:
                self.add(what, str(exc), exc.exit_code)
            except Exception as exc:  # an unexpected failure is a problem too, not a crash
                if self.debug:
                    raise
                self.add(what, f"unexpected {type(exc).__name__}: {exc}", 1)
            finally:
                for w in caught:
                    if issubclass(w.category, (UserWarning, RuntimeWarning)):
                        self.report.warnings.append(f"{what}: {w.message}")
        return None

    def add(self, what: str, message: str, code: int) -> None:
        self.report.problems.append(Problem(what, message, code))


def validate(config: str | Path, debug: bool = False) -> ValidationReport:
    """Check ``config`` and every input it names; return all problems found (no pixel is read).

    Parameters
    ----------
    config : path of a YAML config
    debug : re-raise unexpected (non-CarbonSinkError) exceptions instead of recording them
    """
    path = Path(config)
    report = ValidationReport(path)
    check = _Checker(report, debug)
    report.checked.append("config schema")
    try:
        cfg: Any = load_config(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        items = [ln.strip()[2:] for ln in lines[1:] if ln.strip().startswith("- ")]
        if not items:  # the file is missing, not YAML, or not a mapping: nothing more to check
            check.add("config", str(exc), exc.exit_code)
            return report
        for item in items:
            check.add("config", f"{path}: {item}", exc.exit_code)
        cfg = _valid_sections(yaml.safe_load(path.read_text(encoding="utf-8")), path.resolve().parent)
    _check_inputs(cfg, check)
    return report


def _valid_sections(data: dict, base: Path) -> SimpleNamespace:
    """The config's top-level sections that are valid on their own (None for the others), so their
    inputs can be checked although the whole config is not valid."""
    ctx = {"base": base}
    out: dict[str, Any] = {}
    for name, spec in RunConfig.model_fields.items():
        if name == "source_path":
            continue
        if name not in data:
            out[name] = None if spec.is_required() else spec.get_default(call_default_factory=True)
            continue
        if name == "fluxes" and isinstance(data[name], dict):  # each flux on its own
            fluxes = {}
            for key, value in data[name].items():
                try:
                    fluxes[key] = FluxSpec.model_validate(value, context=ctx)
                except ValidationError:
                    pass
            out[name] = fluxes
            continue
        try:
            out[name] = TypeAdapter(spec.annotation).validate_python(data[name], context=ctx)
        except ValidationError:
            out[name] = None
    return SimpleNamespace(**out)


def _band(src) -> None:
    if src.band > src.info["count"]:
        raise InputError(f"{src.path}: band {src.band} requested but the raster has {src.info['count']}")


def _check_inputs(cfg, check: _Checker) -> None:
    from .io.rasters import raster_info
    from .io.vectors import read_regions, read_subregions
    from .load import RasterSource, _categorical, match_regions, read_scenario
    from .tables import (read_ccus, read_coefficients, read_densities, read_inorganic, read_non_co2, read_region_table,
                         read_scheme)

    # --- the grid's CRS ---------------------------------------------------------------------------
    if cfg.grid is not None:
        check("grid.crs", _check_grid_crs, cfg.grid)

    # --- rasters (headers only) and schemes -------------------------------------------------------
    rasters: dict[str, RasterSource] = {}

    def raster(key: str, what: str, make):
        src = check(what, make)
        if src is None:
            return
        before = len(check.report.problems)
        check(f"{what} band", _band, src)
        if len(check.report.problems) == before:
            rasters[key] = src

    lc = cfg.landcover
    scheme = None
    if lc is not None:
        raster("landcover", "land-cover raster",
               lambda: _categorical("land-cover", lc.path, lc.resampling, lc.band, lc.nodata, "landcover"))
        scheme = check("land-cover scheme", read_scheme, lc.scheme)
        if lc.habitats is not None:
            h = lc.habitats
            raster("habitats", "habitat raster",
                   lambda: _categorical("habitat", h.path, "nearest", h.band, h.nodata, "landcover.habitats"))
            hab = check("habitat scheme", read_scheme, h.scheme)
            if scheme is not None and hab is not None:
                scheme = check("habitat scheme", scheme.with_ecosystems, hab)
        if lc.zones is not None and scheme is not None:  # the layer, its field and the zone ecosystems
            from .zones import read_zones

            zoned = check("zones", read_zones, lc.zones, scheme)
            scheme = zoned[1] if zoned is not None else None
    for scen in (cfg.land_use_scenarios or []) if lc is not None else []:  # read like the land cover
        raster(f"scenario:{scen.name}", f"land-use scenario raster '{scen.name}'",
               lambda scen=scen: _categorical("scenario land-cover", scen.path, lc.resampling, lc.band, scen.nodata,
                                              f"land_use_scenarios[{scen.name}]"))
        if scen.scheme and scheme is not None:
            other = check(f"land-use scenario scheme '{scen.name}'", read_scheme, scen.scheme)
            scheme = check(f"land-use scenario scheme '{scen.name}'", scheme.with_ecosystems, other) \
                if other is not None else None
    sinks = cfg.sinks
    sc = None
    if sinks is not None and sinks.terrestrial.method == "stock_change":
        sc = sinks.terrestrial.stock_change
        raster("landcover_earlier", "earlier land-cover raster",
               lambda: _categorical("earlier land-cover", sc.earlier.path, sc.earlier.resampling, sc.earlier.band,
                                    sc.earlier.nodata, "sinks.terrestrial.stock_change.earlier"))
        if sc.earlier.scheme and scheme is not None:
            old = check("earlier land-cover scheme", read_scheme, sc.earlier.scheme)
            scheme = check("earlier land-cover scheme", scheme.with_ecosystems, old) if old is not None else None
    for name, spec in (cfg.fluxes or {}).items():
        raster(f"flux:{name}", f"flux raster '{name}'",
               lambda spec=spec, name=name: RasterSource(name, spec.path, spec.resampling, spec.band,
                                                         raster_info(spec.path), spec.units, spec.sign, spec.nodata))
    if cfg.emissions_grid is not None:
        e = cfg.emissions_grid
        raster("emissions_grid", "gridded emissions raster",
               lambda: RasterSource("emissions_grid", e.path, e.resampling, e.band, raster_info(e.path), e.units,
                                    "emission_positive", e.nodata))

    # --- tables ---------------------------------------------------------------------------------
    coeffs = densities = None
    if sinks is not None:
        coeffs = check("coefficient table", read_coefficients, sinks.coefficients)
        if sinks.inorganic is not None:
            check("inorganic carbon table", read_inorganic, sinks.inorganic)
        if sc is not None and scheme is not None:
            res = check("carbon density table", read_densities, sc.densities, scheme, list(sc.pools))
            densities = res[0] if res is not None else None
    if cfg.non_co2 is not None:
        check("non-CO2 factor table", read_non_co2, cfg.non_co2.factors)

    # --- regions ----------------------------------------------------------------------------------
    regions = None
    subregions = {}
    r = cfg.regions
    if r is not None:
        offshore = (r.offshore.path, r.offshore.layer, r.offshore.id_field) if r.offshore else None
        regions = check("regions", read_regions, r.path, r.layer, r.id_field, r.name_field, offshore)
        if regions is not None:
            parents = list(regions["region_id"])
            ids = list(parents)
            for sub in r.subregions:
                got = check(f"subregions '{sub.name}'", read_subregions, sub.path, sub.layer, sub.id_field,
                            sub.name_field, sub.parent_field, parents)
                if got is not None:
                    subregions[sub.name] = (sub, got)
                    parents += list(got["region_id"])
            for comp in r.composites:
                check(f"composite '{comp.id}'", _check_composite, comp, ids)
    for key in ("emissions", "population"):
        spec = getattr(cfg, key)
        if spec is None:
            continue
        table = check(f"{key} table", read_region_table, spec.path, spec.region_field, spec.value_field,
                      spec.year_field, spec.year, key, spec.sector_field, spec.allow_negative)
        if table is not None and regions is not None:
            check(f"{key} table", match_regions, table[0], regions, spec.path, key)
    if cfg.balance is not None and cfg.balance.scenario is not None:
        check("scenario", read_scenario, cfg.balance.scenario)
    ccus_path = getattr(cfg.balance, "ccus", None) if cfg.balance is not None else None
    if ccus_path is not None:
        ccus = check("CCUS table", read_ccus, ccus_path)
        if ccus is not None and regions is not None:
            regional = ccus[ccus["region"] != "national"].set_index("region")
            check("CCUS table", match_regions, regional, regions, ccus_path, "CCUS")

    # --- extents on the analysis grid, overlapping polygons ------------------------------------------
    grid = None
    if cfg.grid is not None and (regions is not None or cfg.grid.bounds is not None):
        from .align import grid_from_spec

        grid = check("analysis grid", grid_from_spec, cfg.grid, regions)
    if grid is not None:
        from .resources import check_resources

        check("analysis grid size", check_resources, grid, regions)
        for key, src in rasters.items():
            check(f"extent of {key}", _check_overlap, src, grid)
        if regions is not None:
            check("extent of regions", _check_regions_on_grid, regions, grid, r.path)
    if regions is not None:  # without a valid grid, overlaps are measured in the default China Albers
        from .grid import CHINA_ALBERS

        cache = cfg.label_cache_dir() if hasattr(cfg, "label_cache_dir") else None  # none for a broken config
        _check_overlaps(check, regions, subregions, grid.crs if grid is not None else CHINA_ALBERS, r, cache)

    # --- sink methods: every ecosystem has a coefficient or a flux (graphs built, nothing computed) ---
    flux_ok = all(f"flux:{n}" in rasters for n in (cfg.fluxes or {}))
    if sinks is not None and scheme is not None and coeffs is not None and flux_ok and (sc is None or densities is not None):
        check("sink methods", _check_sink_methods, cfg, scheme, coeffs, densities)


def _check_grid_crs(spec) -> None:
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    from .grid import AnalysisGrid

    try:
        crs = CRS.from_user_input(spec.crs)
    except CRSError as exc:
        raise ConfigError(f"grid.crs = '{spec.crs}' is not a CRS pyproj understands ({exc}). "
                          "Fix: give an EPSG code or a PROJ string") from None
    res = float(spec.resolution)
    AnalysisGrid.from_bounds(crs, res, (0.0, 0.0, res, res)).row_area()  # GridError unless equal-area or geographic


def _check_composite(comp, ids: list[str]) -> None:
    from .errors import did_you_mean

    unknown = [m for m in comp.members if m not in ids]
    if unknown:
        raise ConfigError(f"regions.composites '{comp.id}': member(s) {unknown} are not region ids."
                          f"{did_you_mean(unknown[0], ids)} Region ids: {ids}")


def _check_overlap(src, grid) -> None:
    """The raster's extent, reprojected, must overlap the grid (the check :func:`pipeline.align.align` makes)."""
    from .align import check_overlap

    check_overlap(src, grid)


def _check_regions_on_grid(regions, grid, path) -> None:
    xmin, ymin, xmax, ymax = regions.set_geometry("allocation").to_crs(grid.crs).total_bounds
    gx0, gy0, gx1, gy1 = grid.bounds
    if xmax <= gx0 or xmin >= gx1 or ymax <= gy0 or ymin >= gy1:
        raise GridError(f"{path}: no region overlaps the analysis grid (bounds {tuple(round(b) for b in grid.bounds)})."
                        " Fix: check the regions' CRS, or grid.bounds")


def _check_overlaps(check: _Checker, regions, subregions: dict, crs, r, cache_dir) -> None:
    """Overlapping polygons are an error unless ``regions.overlap`` says which wins (as in a run).
    The resolved polygons are cached as a run caches them, so that a validate after a run (or the
    run after a validate) does not overlay the polygons again."""
    from .labels import resolve_overlaps_cached

    polys = regions[["region_id", "allocation"]].set_geometry("allocation").rename_geometry("geometry")
    check("overlapping regions", resolve_overlaps_cached, polys.to_crs(crs), r.overlap, str(r.path), cache_dir)
    for name, (spec, sub) in subregions.items():
        check(f"overlapping subregions '{name}'", resolve_overlaps_cached,
              sub[["region_id", "geometry"]].to_crs(crs), r.overlap, str(spec.path), cache_dir)


def _check_sink_methods(cfg, scheme, coeffs, densities) -> None:
    """Build each realm's sink graph on a 1 x 1 stand-in raster: the methods' own checks run (every
    ecosystem has a coefficient, flux names and ecosystems exist); nothing is computed."""
    import dask.array as da
    import xarray as xr

    from .sinks import compute_sinks
    from .units import DENSITY_UNITS, is_total

    eco = xr.DataArray(da.zeros((1, 1), dtype=np.int16), dims=("y", "x"))
    fluxes = {}
    for name, spec in (cfg.fluxes or {}).items():
        units = DENSITY_UNITS if is_total(spec.units) else spec.units
        fluxes[name] = xr.DataArray(da.zeros((1, 1)), dims=("y", "x"),
                                    attrs={"units": units, "sign_convention": spec.sign, "nodata": None,
                                           "source": name})
    stock = None
    if cfg.sinks.terrestrial.method == "stock_change":
        sc = cfg.sinks.terrestrial.stock_change
        stock = {"earlier": eco, "densities": densities, "years": (sc.earlier.year, cfg.landcover.year)}
    compute_sinks(eco, scheme, coeffs, cfg.sinks, fluxes, stock)

"""The run configuration: a YAML file validated by a pydantic schema before any pixel is read.

Paths are relative to the config file. Every error names the file, the key, the value and the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      model_validator)

from .errors import ConfigError, did_you_mean
from .grid import CHINA_ALBERS
from .units import SIGN_CONVENTIONS, accepted_flux_units


def _resolve_existing(value: Path, info: ValidationInfo) -> Path:
    """The path, with ``~`` and ``$VAR`` / ``${VAR}`` expanded, relative to the config file's folder."""
    base = Path((info.context or {}).get("base", "."))
    expanded = Path(os.path.expandvars(os.path.expanduser(str(value))))
    path = expanded if expanded.is_absolute() else (base / expanded)
    path = Path(path).resolve()
    if not path.exists():
        unset = [v for v in re.findall(r"\$\{?(\w+)\}?", str(value)) if v not in os.environ]
        hint = f" The environment variable(s) {', '.join(unset)} are not set." if unset else ""
        raise ValueError(f"file not found: {path} (written as '{value}', relative to {base}).{hint} "
                         "Fix: correct the path; relative paths are read from the config file's folder, "
                         "~ and $VARIABLES are expanded")
    return path


def _one_of(accepted):
    """A validator accepting the unit strings ``accepted()`` returns (whitespace normalised)."""
    def check(value: str) -> str:
        value = " ".join(value.split())
        if value not in accepted():
            raise ValueError(f"unknown units '{value}'.{did_you_mean(value, accepted())} "
                             f"Accepted: {', '.join(accepted())}")
        return value
    return check


#: A path that must exist, resolved relative to the config file.
ExistingPath = Annotated[Path, AfterValidator(_resolve_existing)]
#: A density, or a per-pixel total (converted to a density on the source grid).
FluxUnits = Annotated[str, AfterValidator(_one_of(accepted_flux_units))]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridSpec(_Spec):
    """The analysis grid. ``bounds`` default to the regions' extent (land and offshore)."""

    crs: str = Field(CHINA_ALBERS, description="CRS of the analysis grid (equal-area or geographic)")
    resolution: float = Field(gt=0, description="pixel size in CRS units (m for China Albers)")
    bounds: tuple[float, float, float, float] | None = Field(None, description="xmin, ymin, xmax, ymax")
    chunks: Annotated[int, Field(gt=0)] | Literal["auto"] = Field("auto", description="dask chunk size in pixels; 'auto' (default): a "
                                           "multiple of the inputs' tiles near 512, within the memory")


class HabitatSpec(_Spec):
    """A habitat raster (e.g. mangrove, salt marsh, seagrass maps) whose classes override the land cover
    where it has data; its scheme maps codes to ecosystems like a land-cover scheme."""

    path: ExistingPath
    scheme: ExistingPath = Field(description="CSV with columns code, name, ecosystem, realm")
    band: int = Field(1, ge=1)
    nodata: int | None = Field(None, description="nodata code, when the file does not declare one")


class ZonesSpec(_Spec):
    """Polygons splitting one ecosystem into zone ecosystems with coefficients of their own (e.g. the sea into
    the Bohai, Yellow, East China and South China Seas): a pixel of ``ecosystem`` whose centre lies in a
    polygon takes the ecosystem its ``field`` names (through ``ecosystem_of``); pixels in no polygon keep
    ``ecosystem``. The zone ecosystems are in the realm of ``ecosystem``."""

    path: ExistingPath
    layer: str | None = None
    field: str = Field(description="field naming each polygon's zone")
    ecosystem: str = Field("marginal_sea", description="the ecosystem the zones split")
    ecosystem_of: dict[str, str] | None = Field(
        None, description="field value -> zone ecosystem; polygons with other values are left out. Omitted: the "
                          "field holds the ecosystem names")


class LandcoverSpec(_Spec):
    """A categorical land-cover raster and the scheme table that maps its codes."""

    path: ExistingPath
    scheme: ExistingPath = Field(description="CSV with columns code, name, ecosystem, realm")
    year: int | None = Field(None, description="year of the land cover (needed by the stock-change method)")
    resampling: Literal["nearest", "mode"] = "nearest"
    band: int = Field(1, ge=1)
    nodata: int | None = Field(None, description="nodata code, when the file does not declare one")
    habitats: HabitatSpec | None = Field(None, description="optional habitat raster overriding the land cover")
    zones: ZonesSpec | None = Field(None, description="optional polygons splitting an ecosystem (default "
                                                      "marginal_sea) into zone ecosystems, after the habitats")


class EpochSpec(_Spec):
    """The earlier land-cover epoch of the stock-change method (same scheme as ``landcover`` unless given)."""

    path: ExistingPath
    year: int
    scheme: ExistingPath | None = Field(None, description="default: the scheme of 'landcover'")
    resampling: Literal["nearest", "mode"] = "nearest"
    band: int = Field(1, ge=1)
    nodata: int | None = None


#: Carbon pools of the stock-difference method (IPCC 2006 GL Vol.4 Ch.2).
POOLS = ("above_ground", "below_ground", "dead_organic_matter", "soil")


class StockChangeSpec(_Spec):
    """Stock difference between two land-cover epochs: dC/dt = (C_t2 - C_t1) / (t2 - t1)."""

    earlier: EpochSpec
    densities: ExistingPath = Field(description="CSV: ecosystem, pool, central, low, high, units, evidence, source")
    pools: list[Literal[POOLS]] = Field(list(POOLS), min_length=1,  # type: ignore[valid-type]
                                        description="pools counted (default: all four)")


class FluxSpec(_Spec):
    """A flux raster (e.g. NEP, NEE, air-sea CO2 flux) with declared units and sign."""

    path: ExistingPath
    units: FluxUnits
    sign: Literal[SIGN_CONVENTIONS] = Field(description="uptake_positive or emission_positive (NEE)")  # type: ignore[valid-type]
    resampling: Literal["average", "bilinear", "nearest"] = "average"
    band: int = Field(1, ge=1)
    nodata: float | None = Field(None, description="nodata value, when the file does not declare one")


class OffshoreSpec(_Spec):
    """Offshore (maritime) zones joined to land regions by id: sea pixels inside belong to that region."""

    path: ExistingPath
    layer: str | None = None
    id_field: str


class SubregionSpec(_Spec):
    """A finer level (e.g. prefectures of one province) whose members name their parent region."""

    name: str = Field(description="short name used in outputs, e.g. 'prefectures'")
    path: ExistingPath
    layer: str | None = None
    id_field: str
    name_field: str
    parent_field: str = Field(description="field holding the id of the parent region (in 'regions')")


class CompositeSpec(_Spec):
    """A user-defined group of regions (e.g. the Yangtze River Delta), summed from its members."""

    id: str
    name: str
    members: list[Annotated[str, BeforeValidator(str)]] = Field(min_length=1, description="region ids")


class RegionsSpec(_Spec):
    """Region polygons (provinces or any polygons), with optional offshore zones."""

    path: ExistingPath
    layer: str | None = None
    id_field: str
    name_field: str
    offshore: OffshoreSpec | None = None
    offshore_km: float | None = Field(
        None, gt=0, description="without offshore zones: sea pixels within this distance [km] go to the nearest "
                                "region; the rest is unallocated")
    overlap: Literal["first", "largest"] | None = Field(
        None, description="what to do with overlapping polygons: error (default), 'first' (earlier feature "
                          "wins) or 'largest' (larger polygon wins)")
    subregions: list[SubregionSpec] = []
    composites: list[CompositeSpec] = []
    scope: Literal["national", "subset"] = Field(
        "subset", description="'national' when the regions are the whole country (the report then speaks of "
                              "national totals); 'subset' (default) for some of its regions: the report says "
                              "'N assessed <level>' and shows national targets only as their share")
    level: str = Field("regions", min_length=1, description="plural noun for the regions in the report's wording "
                                                            "(e.g. provinces)")


class RealmSpec(_Spec):
    """How one realm's sink is computed: from flux rasters, per-ecosystem coefficients, or (terrestrial
    only) the stock difference between two land-cover epochs."""

    method: Literal["flux", "coefficient", "stock_change"] = "coefficient"
    flux: str | list[str] | None = Field(
        None, description="name(s) of entries under 'fluxes' (method: flux); several are summed, each with "
                          "its own sign (e.g. [sland, eluc] for the net land flux)")
    ecosystems: list[str] | None = Field(
        None, description="ecosystems the flux applies to (default: every ecosystem of the realm, so a product's "
                          "cell density covers all of its land); other ecosystems of the realm fall back to "
                          "coefficients, and tables/flux_products.csv lists the product's mass they leave out")
    redistribute: bool = Field(
        False, description="method flux: move each product cell's mass on pixels the flux is not applied to "
                           "(lakes, rivers, pixels without land cover, ecosystems left out) onto the applied "
                           "ecosystems of the same cell, so every cell keeps its mass (one more read of the inputs)")
    stock_change: StockChangeSpec | None = None

    @model_validator(mode="after")
    def _method_inputs(self):
        if self.redistribute and self.method != "flux":
            raise ValueError(f"'redistribute' applies to the flux method, but the method is '{self.method}'. "
                             "Fix: set 'method: flux', or remove 'redistribute'")
        if self.method == "flux" and not self.flux:
            raise ValueError("method 'flux' needs 'flux': the name of an entry under 'fluxes'")
        if self.method == "stock_change" and self.stock_change is None:
            raise ValueError("method 'stock_change' needs a 'stock_change' block (earlier, densities)")
        if self.method != "flux" and (self.flux or self.ecosystems):
            raise ValueError(f"'flux'/'ecosystems' are given but the method is '{self.method}', which ignores them. "
                             "Fix: set 'method: flux', or remove them")
        if self.method != "stock_change" and self.stock_change is not None:
            raise ValueError(f"a 'stock_change' block is given but the method is '{self.method}'. "
                             "Fix: set 'method: stock_change', or remove the block")
        return self

    def flux_names(self) -> list[str]:
        """The flux entries this realm uses, as a list."""
        return [self.flux] if isinstance(self.flux, str) else list(self.flux or [])


class SinksSpec(_Spec):
    """Sink methods per realm and the coefficient table (rates with low/central/high and sources)."""

    coefficients: ExistingPath
    terrestrial: RealmSpec = RealmSpec()
    inland_water: RealmSpec = RealmSpec()
    ocean: RealmSpec = RealmSpec()
    inorganic: ExistingPath | None = Field(
        None, description="optional table of inorganic carbon sink rates per ecosystem (e.g. karst weathering), "
                          "reported apart from the organic sinks")

    @model_validator(mode="after")
    def _stock_change_is_terrestrial(self):
        for realm in ("inland_water", "ocean"):
            if getattr(self, realm).method == "stock_change":
                raise ValueError(f"'{realm}': the stock_change method applies to the terrestrial realm only")
        return self


class NonCO2Spec(_Spec):
    """CH4 and N2O emissions: area x emission factor per ecosystem, as CO2-equivalent."""

    factors: ExistingPath = Field(description="CSV: ecosystem, gas, central, low, high, units, season_days, share, "
                                              "evidence, source")
    gwp: Literal["AR6", "AR5"] = Field("AR6", description="GWP100 set for CO2-equivalents")
    water_regime: Literal["continuously_flooded", "single_drainage", "multiple_drainage"] | None = Field(
        None, description="water regime of every rice-paddy row of the factor table (IPCC 2019 Refinement Table 5.12 "
                          "scaling: 1.00, 0.71, 0.55); omitted: each row's own 'water_regime' column (the default "
                          "table: single_drainage, China's mid-season drained paddies)")


class RegionTableSpec(_Spec):
    """A per-region table (emission inventory, population) joined to regions by id."""

    path: ExistingPath
    region_field: str
    value_field: str
    year_field: str = "year"
    year: int | None = Field(None, description="year to use (default: the latest in the table)")
    sector_field: str | None = Field(None, description="optional: a sector column; the sectors are summed per "
                                                       "region, and listed in tables/emissions_by_sector.csv")
    allow_negative: bool = Field(False, description="emissions only: accept negative values (a region whose "
                                                    "inventory reports a net removal); otherwise they are an error")
    source: str = ""


class GriddedEmissionsSpec(_Spec):
    """A gridded emissions raster (e.g. fossil CO2), aggregated over the regions like the sinks."""

    path: ExistingPath
    units: FluxUnits = Field(description="a density (e.g. 'g CO2 m-2 yr-1') or a per-pixel total "
                                         "(e.g. 'Tg C yr-1 per pixel')")
    band: int = Field(1, ge=1)
    year: int | None = Field(None, description="year the raster stands for (reported with the budgets)")
    resampling: Literal["average", "bilinear", "nearest"] = "average"
    nodata: float | None = None
    source: str = ""


class Range(_Spec):
    """A low-high range (and its year, for a peak)."""

    low: float
    high: float
    year: int | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class ScenarioSpec(_Spec):
    """A neutrality scenario's targets [Gt CO2 yr-1] (configs/scenarios/*.yaml)."""

    name: str
    source: str
    peak_emissions_GtCO2: Range | None = None
    direct_reduction_2060_GtCO2: Range | None = None
    residual_emissions_2060_GtCO2: float | None = None
    ecosystem_sink_2060_GtCO2: Range | None = None
    ccus_2060_GtCO2: Range | None = None
    national_emissions_2019_GtCO2: float | None = None
    published_sinks: list[dict[str, Any]] = Field(
        [], description="published national sink estimates to compare with (name, low, central, high, "
                        "units, period, source)")


#: The default neutrality scenario: the seed paper's figures (Yu, Hao & Zhu 2022), used when a config's
#: ``balance.scenario`` is omitted. Equal to configs/scenarios/yu2022_2060.yaml (a test checks), kept here
#: so that a pip-installed package, which has no configs/ folder, still has it. Gt CO2 yr-1.
DEFAULT_SCENARIO: dict[str, Any] = {
    "name": "China 2060 carbon neutrality (Yu, Hao & Zhu 2022)",
    "source": "Yu, Hao & Zhu 2022, Bull. Chin. Acad. Sci. 37(4):423-434",
    "peak_emissions_GtCO2": {"year": 2030, "low": 10.0, "high": 11.0},
    "direct_reduction_2060_GtCO2": {"low": 7.0, "high": 8.0},
    "residual_emissions_2060_GtCO2": 3.0,
    "ecosystem_sink_2060_GtCO2": {"low": 2.0, "high": 2.5},
    "ccus_2060_GtCO2": {"low": 0.5, "high": 1.0},
    "national_emissions_2019_GtCO2": 10.17,
    "published_sinks": [
        {"name": "bottom-up (inventory, satellite, models)", "realm": "terrestrial", "period": "1980s-1990s",
         "low": 0.19, "central": 0.225, "high": 0.26, "units": "Pg C yr-1", "source": "Piao S. et al. 2009, Nature 458:1009"},
        {"name": "vegetation + soil", "realm": "terrestrial", "period": "1981-2000", "low": 0.136, "central": 0.156,
         "high": 0.176, "units": "Pg C yr-1", "source": "Fang J. et al. 2007, Sci. China D 50:1341"},
        {"name": "forests + shrubs + crops (field campaign)", "realm": "terrestrial", "period": "2001-2010",
         "central": 0.201, "units": "Pg C yr-1", "source": "Fang J. et al. 2018, PNAS 115:4015"},
        {"name": "bottom-up synthesis", "realm": "terrestrial", "period": "2006-2009", "central": 0.33,
         "units": "Pg C yr-1", "source": "Jiang F. et al. 2016, Sci. Rep. 6:22130"},
        {"name": "process model, revised land use", "realm": "terrestrial", "period": "2010-2019", "low": 0.257,
         "central": 0.28, "high": 0.303, "units": "Pg C yr-1",
         "source": "Yu Z. et al. 2022, Nat. Commun., doi:10.1038/s41467-022-32961-2"},
        {"name": "top-down inversion", "realm": "terrestrial", "period": "2010-2016", "low": 0.73, "central": 1.11,
         "high": 1.49, "units": "Pg C yr-1", "source": "Wang J. et al. 2020, Nature 586:720"},
        {"name": "inland-water CO2 evasion", "realm": "inland_water", "period": "2010s", "central": -0.098,
         "units": "Pg C yr-1", "source": "Ran L. et al. 2021, Nat. Commun., doi:10.1038/s41467-021-21926-6"},
    ],
}


def default_scenario() -> dict[str, Any]:
    """The default scenario (:data:`DEFAULT_SCENARIO`), validated and dumped as a scenario file is read."""
    return ScenarioSpec.model_validate(DEFAULT_SCENARIO).model_dump(exclude_none=True)


class ValuationSpec(_Spec):
    """Carbon price and discount rate: the value of the sinks and of their enhancement potential."""

    price_per_tCO2: float = Field(gt=0, description="carbon price per t CO2")
    currency: str = "CNY"
    discount_rate: float = Field(0.03, ge=0, lt=1, description="annual discount rate for the present value")
    horizon_years: int = Field(30, ge=1, description="years a sink is valued over (present value)")
    source: str = Field("", description="where the price comes from")


class BalanceSpec(_Spec):
    """National balance inputs: CCUS, the neutrality scenario targets, years, valuation."""

    ccus_MtCO2: float = Field(0.0, ge=0, description="national CCUS capture in the balance year [Mt CO2 yr-1]")
    ccus: ExistingPath | None = Field(
        None, description="CSV of CCUS capture per year (columns year, region, ccus_MtCO2; region empty or "
                          "'national' for a national figure); overrides ccus_MtCO2")
    scenario: ExistingPath | None = Field(
        None, description="neutrality scenario file (configs/scenarios/*.yaml); omitted: the seed paper's figures (Yu, Hao & Zhu 2022, built in as DEFAULT_SCENARIO, equal to configs/scenarios/yu2022_2060.yaml)")
    years: list[int] | None = Field(
        None, description="years of the time series (default: the emissions year only); emissions, "
                          "population and CCUS are taken per year, the sinks are the run's assessment")
    landcover_by_year: dict[int, ExistingPath] = Field(
        {}, description="land cover of other years (same scheme and grid handling as 'landcover'): from each "
                        "year on, the realms computed by coefficients use that year's areas")
    valuation: ValuationSpec | None = None
    published_estimates: ExistingPath | None = Field(
        None, description="CSV of published national terrestrial sink estimates the run is reconciled with "
                          "(tables/reconciliation.csv); omitted: configs/reference/published_terrestrial_sinks.csv")


class EnsembleSpec(_Spec):
    """A structural ensemble for one realm: alternative products, each with its own spread."""

    members: list[str] = Field(min_length=1, description="flux names under 'fluxes', or 'coefficients' "
                                                         "(the coefficient table with its ranges)")
    relative_sd: float = Field(0.2, ge=0, description="within-product relative standard deviation of a flux")


class UncertaintySpec(_Spec):
    """Monte Carlo over coefficient ranges and flux products, on the region x ecosystem tables."""

    draws: int = Field(10000, ge=100)
    seed: int = 20220401
    distribution: Literal["triangular", "normal", "uniform"] = Field(
        "triangular", description="how low/central/high become a distribution (normal: low and high are the "
                                  "5th and 95th percentiles)")
    ensembles: dict[Literal["terrestrial", "inland_water", "ocean"], EnsembleSpec] = {}


class LandUseScenarioSpec(_Spec):
    """A scenario land cover (e.g. afforestation) compared with the baseline land cover."""

    name: str
    path: ExistingPath
    scheme: ExistingPath | None = Field(None, description="default: the scheme of 'landcover'")
    nodata: int | None = None


class RunConfig(_Spec):
    """A whole run: inputs, grid, methods and outputs' settings."""

    name: str = "run"
    grid: GridSpec
    landcover: LandcoverSpec
    fluxes: dict[str, FluxSpec] = {}
    regions: RegionsSpec
    sinks: SinksSpec
    non_co2: NonCO2Spec | None = None
    emissions: RegionTableSpec | None = None
    emissions_grid: GriddedEmissionsSpec | None = Field(
        None, description="alternative to 'emissions': a gridded emissions raster, summed per region")
    population: RegionTableSpec | None = None
    balance: BalanceSpec = BalanceSpec()
    uncertainty: UncertaintySpec | None = None
    land_use_scenarios: list[LandUseScenarioSpec] = []
    cache_dir: Path | None = Field(None, description="where region labels are cached (default: "
                                                     "$CARBON_SINK_CACHE or ~/.cache/carbon-sink)")
    source_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self):
        for realm in ("terrestrial", "inland_water", "ocean"):
            spec = getattr(self.sinks, realm)
            unknown = [f for f in spec.flux_names() if f not in self.fluxes]
            if spec.method == "flux" and unknown:
                raise ValueError(f"sinks.{realm}.flux names {unknown}, which are not entries under 'fluxes' "
                                 f"({sorted(self.fluxes)}). Fix: name one of them")
        if self.emissions is not None and self.emissions_grid is not None:
            raise ValueError("give either 'emissions' (an inventory table) or 'emissions_grid' (a raster), not both")
        if self.uncertainty is not None:
            for realm, ens in self.uncertainty.ensembles.items():
                unknown = [m for m in ens.members if m not in ("coefficients", "stock_change") and m not in self.fluxes]
                if unknown:
                    raise ValueError(f"uncertainty.ensembles.{realm}: members {unknown} are neither 'coefficients' "
                                     f"nor entries under 'fluxes' ({sorted(self.fluxes)})")
        sc = self.sinks.terrestrial.stock_change if self.sinks.terrestrial.method == "stock_change" else None
        if sc is not None:
            if self.landcover.year is None:
                raise ValueError("the stock_change method needs 'landcover.year' (the later epoch's year)")
            if sc.earlier.year >= self.landcover.year:
                raise ValueError(f"sinks.terrestrial.stock_change.earlier.year ({sc.earlier.year}) must be before "
                                 f"landcover.year ({self.landcover.year})")
        return self

    def label_cache_dir(self) -> Path:
        """The folder caching region labels: ``cache_dir``, else $CARBON_SINK_CACHE, else ~/.cache/carbon-sink."""
        if self.cache_dir is not None:
            base = self.source_path.parent if self.source_path else Path.cwd()
            return self.cache_dir if self.cache_dir.is_absolute() else (base / self.cache_dir).resolve()
        env = os.environ.get("CARBON_SINK_CACHE")
        return Path(env) if env else Path.home() / ".cache" / "carbon-sink"

    def input_paths(self) -> dict[str, Path]:
        """Every input file, by a readable key (for checksums in the manifest)."""
        out: dict[str, Path] = {"landcover": self.landcover.path, "landcover_scheme": self.landcover.scheme,
                                "regions": self.regions.path, "coefficients": self.sinks.coefficients}
        if self.landcover.habitats:
            out["habitats"] = self.landcover.habitats.path
            out["habitats_scheme"] = self.landcover.habitats.scheme
        if self.landcover.zones:
            out["zones"] = self.landcover.zones.path
        sc = self.sinks.terrestrial.stock_change
        if self.sinks.terrestrial.method == "stock_change" and sc is not None:
            out["landcover_earlier"] = sc.earlier.path
            out["carbon_densities"] = sc.densities
            if sc.earlier.scheme:
                out["landcover_earlier_scheme"] = sc.earlier.scheme
        if self.sinks.inorganic:
            out["inorganic"] = self.sinks.inorganic
        if self.non_co2:
            out["non_co2_factors"] = self.non_co2.factors
        out.update({f"flux:{k}": v.path for k, v in self.fluxes.items()})
        if self.regions.offshore:
            out["offshore"] = self.regions.offshore.path
        out.update({f"subregions:{s.name}": s.path for s in self.regions.subregions})
        for key in ("emissions", "emissions_grid", "population"):
            spec = getattr(self, key)
            if spec is not None:
                out[key] = spec.path
        if self.balance.scenario:
            out["scenario"] = self.balance.scenario
        if self.balance.ccus:
            out["ccus"] = self.balance.ccus
        out.update({f"land_use_scenario:{s.name}": s.path for s in self.land_use_scenarios})
        out.update({f"landcover:{y}": p for y, p in self.balance.landcover_by_year.items()})
        return out


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config; relative paths are resolved from the file's folder.

    Raises
    ------
    ConfigError
        With one line per problem, each naming the key, the value and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}. Fix: pass the path of a YAML config "
                          "(e.g. configs/sample.yaml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return config_from_dict(data, base=path.resolve().parent, source=path)


def config_from_dict(data: dict[str, Any], base: Path, source: Path | None = None) -> RunConfig:
    """Validate a config given as a dict; ``base`` is the folder relative paths start from."""
    try:
        cfg = RunConfig.model_validate(data, context={"base": base})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source or base)) from None
    return cfg.model_copy(update={"source_path": source.resolve() if source else None})


def _format_errors(exc: ValidationError, source: Path) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s) in the configuration:"]
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            lines.append(f"  - unknown key '{key}'.{did_you_mean(loc[-1], allowed)} "
                         f"Allowed here: {', '.join(sorted(allowed))}")
        elif err["type"] == "missing":
            lines.append(f"  - missing key '{key}'. Fix: add it to the config")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "value_error" and isinstance(err.get("input"), dict):  # a whole section's check
                lines.append(f"  - {key or 'config'}: {msg}")
            else:
                lines.append(f"  - '{key}' = {err.get('input')!r}: {msg}")
    return "\n".join(lines)


def _allowed_keys(loc: list[str]) -> list[str]:
    model: Any = RunConfig
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:  # a dict key (e.g. a flux name)
            model = FluxSpec if model is RunConfig or part not in getattr(model, "model_fields", {}) else model
            continue
        ann = field.annotation
        candidates = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if candidates:
            model = candidates[0]
        elif getattr(ann, "__origin__", None) is dict:
            model = ann.__args__[1]
    return list(getattr(model, "model_fields", {}))

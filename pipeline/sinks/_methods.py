"""The sink methods every realm shares: per-ecosystem coefficients and flux rasters.

Each returns gross **removal** and gross **emission** densities [g C m-2 yr-1], both >= 0, so
the net sink (removal - emission, sink positive) is never the only number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dask.array as da
import numpy as np
import xarray as xr

from ..config import RealmSpec
from ..errors import ConfigError
from ..tables import Scheme, coefficient_rates
from ..streaming import block_partials
from ..units import density_factor, sign_factor


@dataclass
class RealmSink:
    """Removal and emission density of one realm (zero outside it), plus lazy QA numbers."""

    realm: str
    method: str
    removal: xr.DataArray
    emission: xr.DataArray
    source: str
    qa: dict[str, tuple[da.Array, str]] = field(default_factory=dict)  # per-block partials and how they combine
    plan: "FluxPlan | StockPlan | None" = None  # what the method applies where (read by sinks.fused)


@dataclass(frozen=True)
class StockPlan:
    """The stock-difference method's inputs: the earlier epoch's ecosystem index, the carbon stock
    density per ecosystem index [g C m-2] and the years between the epochs."""

    earlier: xr.DataArray
    densities: np.ndarray
    years: float


@dataclass(frozen=True)
class FluxPlan:
    """What the flux method applies where: the flux entries summed (``names``) on the realm's
    ecosystems ``chosen``; the realm's other ecosystems (``rest``) keep their coefficients."""

    names: tuple[str, ...]
    chosen: tuple[str, ...]
    rest: tuple[str, ...]


def _take(table: np.ndarray, eco: xr.DataArray) -> xr.DataArray:
    """Look a per-ecosystem value up for every pixel (0 for nodata/unknown pixels)."""
    lut = np.concatenate([table, [0.0, 0.0]])  # indices -1 and -2 (nodata, unknown) read 0
    return xr.apply_ufunc(lambda e: lut[e], eco, dask="parallelized", output_dtypes=[np.float64])


def in_realm(eco: xr.DataArray, scheme: Scheme, realm: str | tuple[str, ...],
             ecosystems: list[str] | None = None) -> xr.DataArray:
    """Boolean mask of pixels whose ecosystem is in ``realm`` (or in one of several realms; and in
    ``ecosystems`` if given)."""
    realms = (realm,) if isinstance(realm, str) else tuple(realm)
    table = np.array([r in realms and (ecosystems is None or e in ecosystems)
                      for e, r in zip(scheme.ecosystems, scheme.ecosystem_realm)], dtype=float)
    return _take(table, eco) > 0


def by_coefficient(eco: xr.DataArray, scheme: Scheme, coeffs, realm: str,
                   ecosystems: list[str] | None = None) -> RealmSink:
    """Removal and emission from the central rate of each ecosystem of ``realm`` (or of ``ecosystems``)."""
    removal, emission = coefficient_rates(coeffs, scheme, realm, ecosystems)
    sub = coeffs[(coeffs["realm"] == realm) & (coeffs["ecosystem"].isin(ecosystems) if ecosystems else True)]
    return RealmSink(realm, "coefficient", _take(removal, eco), _take(emission, eco),
                     "; ".join(sorted(set(sub["source"]))))


def flux_density(flux: xr.DataArray) -> xr.DataArray:
    """A flux raster in g C m-2 yr-1, uptake positive, from its declared ``units`` and ``sign_convention``."""
    factor, nodata = flux_factor(flux), flux_nodata(flux)
    data = flux.astype(np.float64)
    if nodata is not None:
        data = data.where(flux != nodata)
    return data * factor


def flux_factor(flux: xr.DataArray) -> float:
    """Factor from the raster's values to g C m-2 yr-1, uptake positive (its ``units`` and ``sign_convention``)."""
    return density_factor(flux.attrs["units"]) * sign_factor(flux.attrs["sign_convention"])


def flux_nodata(flux: xr.DataArray):
    """The raster's finite nodata value, or None (NaN marks no data by itself)."""
    nodata = flux.attrs.get("nodata")
    return nodata if nodata is not None and np.isfinite(nodata) else None


def by_flux(eco: xr.DataArray, scheme: Scheme, coeffs, realm: str, spec: RealmSpec,
            fluxes: dict[str, xr.DataArray], default_ecosystems: list[str] | None) -> RealmSink:
    """Sink from flux rasters (summed, each converted by its own units and sign) on the ecosystems
    they apply to; coefficients elsewhere in the realm.

    Pixels of those ecosystems where a flux has no data get no sink and are counted in
    ``qa["flux_missing_px:<realm>"]``.
    """
    plan = flux_plan(scheme, realm, spec, fluxes, default_ecosystems)
    names, chosen, rest = list(plan.names), list(plan.chosen), list(plan.rest)
    parts = {n: flux_density(fluxes[n]) for n in names}
    density = sum(parts.values())  # NaN wherever any part has no data
    use = in_realm(eco, scheme, realm, chosen)
    missing = use & density.isnull()
    value = density.where(use & ~missing, 0.0)
    base = by_coefficient(eco, scheme, coeffs, realm, rest) if rest else None
    removal = value.clip(min=0) + (base.removal if base else 0)
    emission = (-value).clip(min=0) + (base.emission if base else 0)
    src = " + ".join(fluxes[n].attrs.get("source", n) for n in names)
    qa = {f"flux_missing_px:{realm}": (block_partials(missing.data, "sum"), "sum"),
          f"flux_used_px:{realm}": (block_partials(use.data, "sum"), "sum")}
    for n, part in parts.items():
        qa[f"flux_max_abs:{realm}:{n}"] = (block_partials(abs(part.where(use & part.notnull(), 0.0)).data, "max"), "max")
        qa[f"flux_nonfinite_px:{realm}:{n}"] = (block_partials((use & np.isinf(part)).data, "sum"), "sum")
    return RealmSink(realm, "flux", removal, emission, f"flux raster {src} on {', '.join(chosen)}"
                     + (f"; coefficients on {', '.join(rest)}" if rest else ""), qa, plan)


def flux_plan(scheme: Scheme, realm: str, spec: RealmSpec, fluxes, default_ecosystems: list[str] | None) -> FluxPlan:
    """The flux entries of ``spec`` and the ecosystems of ``realm`` they apply to (``spec.ecosystems``,
    else ``default_ecosystems`` of the realm, else all of the realm's); errors name the config key."""
    names = list(dict.fromkeys(spec.flux_names()))  # a name given twice is one raster, counted once
    unknown_flux = [n for n in names if n not in fluxes]
    if unknown_flux:
        raise ConfigError(f"sinks.{realm}.flux = {unknown_flux} names no entry under 'fluxes' "
                          f"(entries: {sorted(fluxes)}). Fix: name one of them")
    realm_ecos = [e for e, r in zip(scheme.ecosystems, scheme.ecosystem_realm) if r == realm]
    chosen = spec.ecosystems or [e for e in (default_ecosystems or realm_ecos) if e in realm_ecos]
    unknown = sorted(set(chosen) - set(realm_ecos))
    if unknown:
        raise ConfigError(f"sinks.{realm}.ecosystems: {unknown} are not {realm} ecosystems of the scheme "
                          f"({realm_ecos})")
    return FluxPlan(tuple(names), tuple(chosen), tuple(e for e in realm_ecos if e not in chosen))


def compute_realm(eco, scheme, coeffs, realm: str, spec: RealmSpec, fluxes, default_flux_ecosystems=None) -> RealmSink:
    """Dispatch one realm to the coefficient or flux method."""
    if spec.method == "coefficient":
        return by_coefficient(eco, scheme, coeffs, realm)
    return by_flux(eco, scheme, coeffs, realm, spec, fluxes, default_flux_ecosystems)

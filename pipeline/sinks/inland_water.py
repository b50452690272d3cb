"""Inland-water sinks (lakes, reservoirs, rivers): burial in sediments (removal) and CO2
outgassing (emission), by coefficients or a flux raster."""

from __future__ import annotations

from ._methods import RealmSink, compute_realm


def compute(eco, scheme, coeffs, spec, fluxes) -> RealmSink:
    """Inland-water removal (burial) and emission (outgassing) densities [g C m-2 yr-1]."""
    return compute_realm(eco, scheme, coeffs, "inland_water", spec, fluxes)

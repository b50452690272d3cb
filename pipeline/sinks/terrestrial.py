"""Terrestrial sinks (forest, shrubland, grassland, cropland, wetland): flux raster or coefficients."""

from __future__ import annotations

from ._methods import RealmSink, compute_realm

#: Ecosystems a terrestrial flux raster (NEP, NBP, SLAND) applies to by default. Built-up land,
#: barren land and ice keep their coefficients (zero by default): a coarse model grid spreads
#: vegetation fluxes over them otherwise.
VEGETATED = ["forest", "shrubland", "grassland", "cropland", "wetland"]


def compute(eco, scheme, coeffs, spec, fluxes) -> RealmSink:
    """Terrestrial removal and emission densities [g C m-2 yr-1]."""
    return compute_realm(eco, scheme, coeffs, "terrestrial", spec, fluxes, VEGETATED)

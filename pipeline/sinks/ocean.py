"""Ocean sinks: coastal blue-carbon burial and marginal-sea air-sea CO2 uptake, by coefficients or
a flux raster (mol C m-2 yr-1 or g C m-2 yr-1). Sea pixels reach a region through its offshore
zone (see :func:`pipeline.io.vectors.read_regions`); the rest stays *unallocated*."""

from __future__ import annotations

from ._methods import RealmSink, compute_realm


def compute(eco, scheme, coeffs, spec, fluxes) -> RealmSink:
    """Ocean removal and emission densities [g C m-2 yr-1]."""
    return compute_realm(eco, scheme, coeffs, "ocean", spec, fluxes)

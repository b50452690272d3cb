"""Ocean sinks: coastal blue-carbon burial and marginal-sea air-sea CO2 uptake, by coefficients or
a flux raster (mol C m-2 yr-1 or g C m-2 yr-1). Sea pixels reach a region through its offshore
zone (see :func:`pipeline.io.vectors.read_regions`); the rest stays *unallocated*."""

from __future__ import annotations

from ._methods import RealmSink, compute_realm


#: Coastal blue-carbon habitats: burial rates from coefficients; an air-sea flux raster applies to
#: the other (open-sea) ocean ecosystems unless ``ecosystems`` says otherwise.
BLUE_CARBON = ("mangrove", "salt_marsh", "seagrass")


def compute(eco, scheme, coeffs, spec, fluxes) -> RealmSink:
    """Ocean removal and emission densities [g C m-2 yr-1]."""
    open_sea = [e for e, r in zip(scheme.ecosystems, scheme.ecosystem_realm) if r == "ocean" and e not in BLUE_CARBON]
    return compute_realm(eco, scheme, coeffs, "ocean", spec, fluxes, open_sea)

"""Stage ``sinks``: gross removal and emission densities per realm [g C m-2 yr-1], lazily.

One module per realm with one signature, ``compute(eco, scheme, coeffs, spec, fluxes) -> RealmSink``.
"""

from __future__ import annotations

import xarray as xr

from ..config import SinksSpec
from ..tables import REALMS, Scheme
from . import inland_water, ocean, terrestrial
from ._methods import RealmSink, flux_density

#: Realm -> module computing it.
REALM_MODULES = {"terrestrial": terrestrial, "inland_water": inland_water, "ocean": ocean}

__all__ = ["RealmSink", "compute_sinks", "flux_density", "REALM_MODULES"]


def compute_sinks(eco: xr.DataArray, scheme: Scheme, coeffs, spec: SinksSpec,
                  fluxes: dict[str, xr.DataArray], stock_change: dict | None = None) -> dict[str, RealmSink]:
    """Every realm's sink, keyed by realm (lazy).

    ``stock_change`` (terrestrial method ``stock_change`` only): ``earlier`` (ecosystem index of the
    earlier epoch), ``densities`` (g C m-2 per ecosystem index) and ``years`` (t1, t2).
    """
    out = {}
    for realm in REALMS:
        extra = (stock_change or {}) if realm == "terrestrial" else {}
        sink = REALM_MODULES[realm].compute(eco, scheme, coeffs, getattr(spec, realm), fluxes, **extra)
        for name, arr in (("removal", sink.removal), ("emission", sink.emission)):
            arr.attrs.update({"units": "g C m-2 yr-1", "quantity_kind": "density",
                              "sign_convention": "uptake_positive" if name == "removal" else "emission_positive",
                              "long_name": f"{realm} gross {name}", "realm": realm, "method": sink.method,
                              "source": sink.source})
        out[realm] = sink
    return out

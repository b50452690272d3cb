"""Terrestrial sinks (forest, shrubland, grassland, cropland, wetland): flux rasters, coefficients,
or the stock difference between two land-cover epochs."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..tables import Scheme
from ..streaming import block_partials
from ._methods import RealmSink, StockPlan, compute_realm, in_realm

#: Ecosystems a terrestrial flux raster (NEP, NBP, SLAND) applies to by default: all of the realm's
#: (None). A product's cell density holds for the whole cell, built-up, barren land and ice included,
#: so applying it to vegetated classes only would drop the mass of the rest of each cell (6.5 % of
#: GCB2023 SLAND over China's provinces, 44 % in Xinjiang). ``sinks.terrestrial.ecosystems``
#: restricts it deliberately; ``tables/flux_products.csv`` then shows what was left out.
FLUX_ECOSYSTEMS = None


def compute(eco, scheme, coeffs, spec, fluxes, earlier=None, densities=None, years=None) -> RealmSink:
    """Terrestrial removal and emission densities [g C m-2 yr-1].

    ``earlier`` (ecosystem index of the earlier epoch), ``densities`` (carbon stock per ecosystem
    index, g C m-2) and ``years`` (t1, t2) are needed by the stock-change method only.
    """
    if spec.method == "stock_change":
        return stock_change(eco, earlier, scheme, densities, *years)
    return compute_realm(eco, scheme, coeffs, "terrestrial", spec, fluxes, FLUX_ECOSYSTEMS)


def stock_change(eco: xr.DataArray, earlier: xr.DataArray, scheme: Scheme, densities: np.ndarray,
                 t1: int, t2: int) -> RealmSink:
    """IPCC stock-difference method on land-cover change: dC/dt = (D[e2] - D[e1]) / (t2 - t1).

    ``D`` is the carbon stock density [g C m-2] of an ecosystem (summed over the chosen pools), ``e1``
    and ``e2`` a pixel's ecosystem at t1 and t2. A stock gain is removal, a loss emission; the same
    densities at both epochs capture land-cover change only, not growth within a class.

    Rules: the pixel belongs to its t2 ecosystem. Stock change is counted where the pixel is
    terrestrial at both epochs; where the earlier epoch has no data (nodata, unknown code, outside
    its raster) the pixel gets none and is counted in ``qa["stock_change_earlier_nodata_px"]``.
    Pixels crossing the realm boundary (land flooded by a reservoir, water turned to land) get none
    either, in both directions alike, and are counted in ``qa["stock_change_realm_crossing_px"]``:
    the terrestrial stock of the other realm is not defined here.
    """
    dens = np.concatenate([densities, [0.0, 0.0]])  # indices -1, -2 (nodata, unknown) read 0
    dt = float(t2 - t1)

    def rate(e2: np.ndarray, e1: np.ndarray) -> np.ndarray:
        return (dens[e2] - dens[e1]) / dt

    land = in_realm(eco, scheme, "terrestrial")
    land_before = in_realm(earlier, scheme, "terrestrial")
    counted = land & land_before
    dc = xr.apply_ufunc(rate, eco, earlier, dask="parallelized", output_dtypes=[np.float64]).where(counted, 0.0)
    no_earlier = land & (earlier < 0)
    crossing = (eco >= 0) & (earlier >= 0) & (land != land_before)
    changed = counted & (earlier != eco)
    qa = {"stock_change_earlier_nodata_px": no_earlier, "stock_change_changed_px": changed,
          "stock_change_realm_crossing_px": crossing, "stock_change_terrestrial_px": land}
    qa = {k: (block_partials(v.data, "sum"), "sum") for k, v in qa.items()}
    return RealmSink("terrestrial", "stock_change", dc.clip(min=0), (-dc).clip(min=0),
                     f"stock difference {t1}-{t2} on land-cover change", qa, StockPlan(earlier, dens[:-2], dt))




def transition_class(eco: xr.DataArray, earlier: xr.DataArray, n_eco: int) -> xr.DataArray:
    """One class per (earlier ecosystem, later ecosystem): ``e1 * n_eco + e2``, with ``e1 = n_eco``
    where the earlier epoch has no data, and -1 where the later one has none."""
    e1 = xr.where(earlier >= 0, earlier, n_eco).astype(np.int32)
    return xr.where(eco >= 0, e1 * n_eco + eco, -1).astype(np.int32)


def transition_table(area_m2: np.ndarray, region_ids, region_names: dict, scheme: Scheme,
                     densities: np.ndarray, t1: int, t2: int):
    """Area changed from each ecosystem to each other, per region, with the stock change it implies.

    ``area_m2`` has shape (region, transition class) with classes from :func:`transition_class`.
    Only non-empty transitions are listed; ``from_ecosystem`` is ``no data`` where the earlier
    epoch has none. ``stock_change_MgC_yr`` = area x (D_to - D_from) / (t2 - t1) where both
    epochs are terrestrial, 0 elsewhere and from no data: the map's rule, so the column sums to
    the terrestrial sink of the stock-change method.
    """
    import pandas as pd

    from ..units import grams_to_Mg, m2_to_km2

    n = len(scheme.ecosystems)
    reg, cls = np.nonzero(area_m2)
    e1, e2 = cls // n, cls % n
    names_from = np.array(list(scheme.ecosystems) + ["no data"])
    terrestrial = np.array([r == "terrestrial" for r in scheme.ecosystem_realm])
    dens = np.concatenate([densities, [0.0]])
    a = area_m2[reg, cls]
    terrestrial_from = np.concatenate([terrestrial, [False]])
    rate = np.where(terrestrial_from[e1] & terrestrial[e2], (dens[e2] - dens[e1]) / float(t2 - t1), 0.0)
    ids = np.asarray(region_ids)[reg]
    return pd.DataFrame({
        "region_id": ids, "region": [region_names.get(r, r) for r in ids],
        "from_year": t1, "to_year": t2,
        "from_ecosystem": names_from[e1], "to_ecosystem": np.asarray(scheme.ecosystems)[e2],
        "area_km2": m2_to_km2(a), "changed": (e1 != e2) & (e1 < n),
        "stock_change_MgC_yr": grams_to_Mg(a * rate),
    })

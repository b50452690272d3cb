"""What a flux product holds over the regions, against what the run assessed from it.

A flux raster (e.g. a DGVM land sink on a 0.5 deg grid) is applied to the pixels of its realm's
ecosystems; its mass on other pixels (inland water and sea pixels inside its land cells, pixels without
land cover, ecosystems left out by ``sinks.<realm>.ecosystems``) is not counted by the flux method, and
where the product has no data on those ecosystems (a coarse coastline) the pixels get no sink. This
module states both in one table per (region, product): the product's own integral over the region,
the part applied, and the rest by cause, so a user sees at once how much of the product the run kept
and why.

The sums come from the run's one pass (:func:`product_classes` gives each pixel a class; the runner
aggregates the product's density by region and class with the exact fixed-point sums of
:mod:`pipeline.aggregate`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..tables import Scheme
from ..units import grams_to_Mg, m2_to_km2


def product_classes(eco: xr.DataArray, density: xr.DataArray, n_eco: int) -> tuple[xr.DataArray, xr.DataArray]:
    """Each pixel's class for the product's integral, and the density to sum (0 where it has no data).

    Class ``e`` (0 .. n_eco - 1): the product has data and the land cover says ecosystem ``e``;
    ``n_eco``: the product has data and the land cover has none (nodata or an unknown code);
    ``n_eco + 1 + c``: the same pixels ``c`` where the product has no data (area only).
    So ``2 * n_eco + 2`` classes in all.
    """
    has = np.isfinite(density)
    base = xr.where(eco >= 0, eco, n_eco)
    cls = xr.where(has, base, base + n_eco + 1).astype(np.int16)
    return cls, density.where(has, 0.0)


#: Realms whose pixels lie inside a product's domain, by the realm the product is applied to: a land
#: product (a DGVM's land sink, an inventory) covers all land, inland water included (its coarse land
#: cells hold lakes and rivers); a water or ocean product covers its own realm.
DOMAIN_REALMS = {"terrestrial": ("terrestrial", "inland_water"), "inland_water": ("inland_water",),
                 "ocean": ("ocean",)}


def product_table(sums: dict[str, np.ndarray], region_ids, region_names: dict, scheme: Scheme,
                  applied: dict[str, tuple[str, tuple[str, ...]]],
                  redistributed: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per (region, product): the product's integral over its domain in the region, and where it
    went [Mg C yr-1].

    Parameters
    ----------
    sums : product name -> (region, 2 * n_eco + 2, 3) sums of area [m2], positive and negative part
        [g C yr-1] of the product's density (uptake positive), by the classes of :func:`product_classes`
    region_ids, region_names : the labels' region order (``unallocated`` last) and id -> name
    scheme : the run's ecosystems and their realms
    applied : product name -> (realm, ecosystems the flux method applied it to)
    redistributed : product name -> the same sums of the density applied after ``redistribute`` (see
        :mod:`pipeline.sinks.redistribute`), for the products redistributed

    Columns: ``product_integral_MgC_yr``, over the pixels of the product's domain where it has data (the
    realms of :data:`DOMAIN_REALMS`, and pixels without land cover); ``applied_MgC_yr``, on the
    ecosystems it was applied to (after redistribution, when declared; ``redistributed_MgC_yr`` is what
    redistribution added there); ``not_applied_MgC_yr`` (integral - applied) and, before
    redistribution, its parts
    ``on_<realm>_pixels_MgC_yr`` (ecosystems of the domain the flux is not applied to) and
    ``on_no_landcover_MgC_yr``; ``difference_pct`` (not applied / integral); ``main_cause``;
    ``outside_domain_MgC_yr`` (the product's values on pixels outside its domain, e.g. the sea pixels of
    a land model's coastal cells: not part of the product's flux, never counted); and
    ``applied_no_data_km2`` (area of the applied ecosystems where the product has no data: no sink there).
    """
    eco = list(scheme.ecosystems)
    realm_of = np.array(scheme.ecosystem_realm)
    n = len(eco)
    rows = []
    for name, s in sums.items():
        realm, chosen = applied[name]
        domain = DOMAIN_REALMS.get(realm, (realm,))
        net = grams_to_Mg(s[:, :, 1] - s[:, :, 2])  # (region, class), uptake positive
        area = m2_to_km2(s[:, :, 0])
        is_chosen = np.array([e in chosen for e in eco])
        inside = np.isin(realm_of, domain)
        parts = {f"on_{r}_pixels": (realm_of == r) & ~is_chosen for r in domain}
        for i, rid in enumerate(region_ids):
            row = {"region_id": rid, "region": region_names.get(rid, rid), "product": name, "realm": realm}
            row["product_integral_MgC_yr"] = float(net[i, :n][inside].sum() + net[i, n])
            row["applied_MgC_yr"] = float(net[i, :n][is_chosen].sum())
            row["redistributed_MgC_yr"] = 0.0
            if name in (redistributed or {}):
                moved = grams_to_Mg(redistributed[name][i, :, 1] - redistributed[name][i, :, 2])
                row["redistributed_MgC_yr"] = float(moved[:n][is_chosen].sum()) - row["applied_MgC_yr"]
                row["applied_MgC_yr"] = float(moved[:n][is_chosen].sum())
            for key, mask in parts.items():
                row[f"{key}_MgC_yr"] = float(net[i, :n][mask].sum())
            row["on_no_landcover_MgC_yr"] = float(net[i, n])
            row["outside_domain_MgC_yr"] = float(net[i, :n][~inside].sum())
            row["applied_no_data_km2"] = float(area[i, n + 1:2 * n + 1][is_chosen].sum())
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    causes = [c for c in out.columns if c.startswith("on_")]
    out[causes] = out[causes].fillna(0.0)  # a realm outside one product's domain: none of its mass there
    out["not_applied_MgC_yr"] = out["product_integral_MgC_yr"] - out["applied_MgC_yr"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["not_applied_MgC_yr"] / out["product_integral_MgC_yr"]
    out["difference_pct"] = pct.where(out["product_integral_MgC_yr"] != 0, 0.0)
    out["main_cause"] = [_main_cause(r, causes) for _, r in out.iterrows()]
    first = ["region_id", "region", "product", "realm", "product_integral_MgC_yr", "applied_MgC_yr",
             "not_applied_MgC_yr", "difference_pct"]
    return out[first + causes + ["main_cause", "redistributed_MgC_yr", "outside_domain_MgC_yr", "applied_no_data_km2"]]


def _main_cause(row: pd.Series, causes: list[str]) -> str:
    """The largest part of what was not applied, in words ('' when nothing was left out)."""
    if abs(row["not_applied_MgC_yr"]) <= 1e-9 * abs(row["product_integral_MgC_yr"]) and (
            row["redistributed_MgC_yr"] != 0 or all(row[c] == 0 for c in causes)):
        return ""
    if row["redistributed_MgC_yr"] != 0:  # left: pixels without land cover, cells with no applied pixel
        parts = {"pixels without land cover": row["on_no_landcover_MgC_yr"],
                 "cells with none of the applied ecosystems": row["not_applied_MgC_yr"] - row["on_no_landcover_MgC_yr"]}
        what = max(parts, key=lambda k: abs(parts[k]))
        return f"{what}: {parts[what]:.6g} Mg C yr-1"
    top = max(causes, key=lambda c: abs(row[c]))
    if row[top] == 0:
        return ""
    what = top.removeprefix("on_").removesuffix("_MgC_yr").replace("_pixels", " pixels").replace("_", " ")
    if what == "no landcover":
        what = "pixels without land cover"
    elif what.startswith(row["realm"]):
        what = f"{row['realm']} ecosystems the flux is not applied to"
    else:
        what += " (counted by that realm's own method instead)"
    return f"{what}: {row[top]:.6g} Mg C yr-1"


def national_summary(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per product, the sums over the regions (``unallocated`` left out) for the manifest."""
    if table.empty:
        return {}
    regions = table[table["region_id"] != "unallocated"]
    out = {}
    for name, g in regions.groupby("product", sort=False):
        integral, applied = float(g["product_integral_MgC_yr"].sum()), float(g["applied_MgC_yr"].sum())
        out[name] = {"product_integral_MgC_yr": integral, "applied_MgC_yr": applied,
                     "difference_pct": 100.0 * (integral - applied) / integral if integral else 0.0}
    return out

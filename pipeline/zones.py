"""Zones: polygons that split one ecosystem into several, each with its own coefficients.

The bundled configs split the sea (``marginal_sea``) into the Bohai, Yellow, East China and South
China Seas (``landcover.zones``), whose air-sea fluxes differ in sign. A pixel of the split ecosystem
whose centre lies in a zone polygon takes the zone's ecosystem; every other pixel keeps its own
(pixels of the split ecosystem in no zone keep it, and its coefficient). The zone ecosystems join the
run's scheme in the split ecosystem's realm, so coefficients, the region x ecosystem table, the
uncertainty and the report treat them like any other ecosystem.

The polygons are rasterised per block, lazily, on the analysis grid (:func:`split_by_zones`).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import dask.array as da
import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from affine import Affine
from rasterio.features import rasterize

from .errors import ConfigError, InputError, did_you_mean
from .io.vectors import _read
from .tables import Scheme


@dataclass(frozen=True)
class Zones:
    """Zone polygons with the ecosystem index each gives, and the ecosystem index they split."""

    frame: gpd.GeoDataFrame  # columns: value (the field's text), ecosystem, code (index in the scheme), geometry
    target: int  # ecosystem index of the split ecosystem
    path: str


def read_zones(spec, scheme: Scheme) -> tuple[Zones, Scheme]:
    """Read the zone layer of ``spec`` (:class:`pipeline.config.ZonesSpec`); return the zones and
    ``scheme`` with the zone ecosystems appended (in the realm of the split ecosystem).

    Raises
    ------
    InputError
        If the file, layer or field is missing, or ``ecosystem_of`` names values the field never holds.
    ConfigError
        If the split ecosystem is not in the scheme, or a zone ecosystem exists in another realm.
    """
    key = "landcover.zones"
    try:
        gdf = _read(spec.path, spec.layer, [spec.field], "zone")
    except InputError as exc:
        msg = str(exc)
        if "Fix:" not in msg:
            msg += (f". Fix: set '{key}.layer' and '{key}.field' to a polygon layer of the file and the field "
                    "naming each polygon's zone")
        raise InputError(msg) from None
    if spec.ecosystem not in scheme.ecosystems:
        raise ConfigError(f"{key}.ecosystem = '{spec.ecosystem}' is not an ecosystem of the scheme "
                          f"{scheme.source}.{did_you_mean(spec.ecosystem, scheme.ecosystems)} "
                          f"Ecosystems: {list(scheme.ecosystems)}")
    realm = scheme.ecosystem_realm[scheme.ecosystems.index(spec.ecosystem)]
    values = gdf[spec.field].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    present = sorted({v for v in values if v is not None})
    mapping = {str(k): str(v) for k, v in spec.ecosystem_of.items()} if spec.ecosystem_of else {v: v for v in present}
    unknown = sorted(set(mapping) - set(present))
    if unknown:
        raise InputError(f"{spec.path}: '{key}.ecosystem_of' names value(s) {unknown} that field '{spec.field}' of "
                         f"layer '{spec.layer}' never holds.{did_you_mean(unknown[0], present)} Values present: "
                         f"{present}. Fix: correct the keys of '{key}.ecosystem_of'")
    realm_of = dict(zip(scheme.ecosystems, scheme.ecosystem_realm))
    clash = sorted({e for e in mapping.values() if e in realm_of and realm_of[e] != realm})
    if clash:
        raise ConfigError(f"{key}: zone ecosystem(s) {clash} are already ecosystems of another realm than "
                          f"'{realm}' (the realm of '{spec.ecosystem}') in {scheme.source}. Fix: give the zones "
                          "ecosystem names of their own")
    new = [e for e in dict.fromkeys(mapping.values()) if e not in realm_of]
    scheme = Scheme(scheme.table, scheme.ecosystems + tuple(new), scheme.ecosystem_realm + (realm,) * len(new),
                    scheme.source)
    keep = values.isin(list(mapping)).to_numpy()
    index = {e: i for i, e in enumerate(scheme.ecosystems)}
    frame = gpd.GeoDataFrame({"value": values[keep].to_numpy()}, geometry=gdf.geometry.values[keep], crs=gdf.crs)
    frame["ecosystem"] = frame["value"].map(mapping)
    frame["code"] = frame["ecosystem"].map(index).astype(np.int16)
    return Zones(frame, index[spec.ecosystem], str(spec.path)), scheme


def split_by_zones(eco: xr.DataArray, zones: Zones, grid) -> xr.DataArray:
    """The ecosystem index with each pixel of the split ecosystem whose centre lies in a zone polygon set to
    the zone's ecosystem (where polygons overlap, the later feature wins); lazily, block by block."""
    frame = zones.frame.to_crs(grid.crs)
    geoms = frame.geometry.values
    x0, y0, x1, y1 = grid.bounds
    if not shapely.intersects(geoms, shapely.box(x0, y0, x1, y1)).any():
        warnings.warn(f"{zones.path}: no zone polygon overlaps the analysis grid, so every pixel keeps its "
                      "ecosystem. Check the layer's CRS and extent", stacklevel=2)
    shapes = tuple(zip(geoms, frame["code"].astype(int)))
    fn = functools.partial(_split_block, shapes=shapes, bounds=shapely.bounds(geoms), target=zones.target,
                           transform=grid.transform)
    data = da.map_blocks(fn, eco.data, dtype=np.int16)
    return xr.DataArray(data, dims=eco.dims, coords=eco.coords, attrs=eco.attrs)


def _split_block(block: np.ndarray, shapes, bounds: np.ndarray, target: int, transform: Affine,
                 block_info=None) -> np.ndarray:
    """One block of :func:`split_by_zones`: rasterise the zones touching the block (pixel-centre rule)."""
    on = block == target
    if not on.any():
        return block
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    t = transform * Affine.translation(c0, r0)
    bx0, by1 = t.c, t.f
    bx1, by0 = bx0 + t.a * (c1 - c0), by1 + t.e * (r1 - r0)
    near = (bounds[:, 0] < bx1) & (bounds[:, 2] > bx0) & (bounds[:, 1] < by1) & (bounds[:, 3] > by0)
    if not near.any():
        return block
    zone = rasterize([s for s, n in zip(shapes, near) if n], out_shape=block.shape, transform=t, fill=-1,
                     all_touched=False, dtype="int16")
    out = block.copy()
    use = on & (zone >= 0)
    out[use] = zone[use]
    return out

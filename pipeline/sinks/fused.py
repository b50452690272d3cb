"""The run's per-pixel chain in one compiled pass per block: :func:`sink_pass`.

The realm modules define each method on xarray objects (``RealmSink.removal`` / ``emission``): the
readable reference, used as it is for ensemble members and by the tests of each method. A run's
main pass needs, for every block, the removal and emission totals over the realms, the four net
maps (float32, NaN outside their realm) and the QA numbers of the flux and stock-change methods.
Built from the reference objects that is about 80 numpy operations and as many temporaries per
block, which cost several times more than reading the block. :func:`sink_pass` evaluates the same rules for all
realms at once, one numba loop over the block's pixels, with the same floating-point operations in
the same order, so its removal, emission, maps and QA counts are bit for bit those of the
reference (``tests/test_fused.py``); only the pixel sum of the conservation check is added in
another order (sequential, not numpy's pairwise sum).

Each pixel belongs to one realm (its ecosystem's), and every other realm's removal and emission are
exactly 0 there, so the totals are the pixel's own realm's values: no sum over realms is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dask
import dask.array as da
import numba
import numpy as np
import xarray as xr

from ..classify import NODATA, UNKNOWN, realm_of
from ..streaming import block_partials
from ..tables import REALMS, Scheme, coefficient_rates
from ._methods import RealmSink, flux_factor, flux_nodata

#: Flux rasters (realm x entry) one compiled pass reads; a run with more takes the xarray chain.
MAX_FLUXES = 4
#: How a realm's removal and emission are found per pixel: coefficients, flux rasters, or the stock
#: difference between two land-cover epochs.
COEFFICIENT, FLUX, STOCK = 0, 1, 2
#: Integer QA counts per block: nodata px, unknown px, per realm flux-used px, per realm flux-missing
#: px, then the stock-change counts (STOCK_QA, in this order), then the +-inf pixels of each flux slot.
STOCK_QA = ("stock_change_terrestrial_px", "stock_change_earlier_nodata_px", "stock_change_changed_px",
            "stock_change_realm_crossing_px")
#: Their number, a compile-time constant of the kernel.
N_STOCK_QA = len(STOCK_QA)
N_COUNTS = 2 + 2 * len(REALMS) + N_STOCK_QA + MAX_FLUXES  # then the infinite flux pixels per flux slot
#: Float QA per block: max |flux| per flux slot, then the sum of net x area over the pixels.
N_FLOATS = MAX_FLUXES + 1
_NAN32 = np.float32(np.nan)


@numba.njit(cache=True, nogil=True, inline="always")
def _flux_value(x, nd, has_nd, factor):  # pragma: no cover (compiled)
    """(True, value in g C m-2 yr-1) for a flux pixel, (False, 0) where it has no data. ``nd`` is
    float64: the raster's nodata as numpy compares it with the raster's values (see :func:`_nodata_f64`)."""
    if (has_nd and np.float64(x) == nd) or x != x:
        return False, 0.0
    return True, np.float64(x) * factor


@numba.njit(cache=True, nogil=True)
def _sink_block(eco, area, realm_lut, mode, rem_lut, em_lut, use_lut, nf, f_realm, f_factor, has_nd,
                f0, nd0, f1, nd1, f2, nd2, f3, nd3, stock, earlier, s_dens, s_dt,
                dens, maps, counts, floats):  # pragma: no cover
    """Fill ``dens`` (removal, emission), ``maps`` (net total, then per realm) and the QA partials
    ``counts`` / ``floats`` for one block. See :func:`sink_pass` for the rules."""
    ny, nx = eco.shape
    n_realm = mode.shape[0]
    sq = 2 + 2 * n_realm  # first stock-change count
    for i in range(ny):
        for j in range(nx):
            e = eco[i, j]
            if e < 0:
                if e == NODATA:
                    counts[0] += 1
                elif e == UNKNOWN:
                    counts[1] += 1
                dens[0, i, j] = 0.0
                dens[1, i, j] = 0.0
                for k in range(n_realm + 1):
                    maps[k, i, j] = _NAN32
                continue
            r = realm_lut[e]
            m = mode[r]
            rem = rem_lut[r, e]
            em = em_lut[r, e]
            if stock >= 0:  # the stock-change rules of sinks.terrestrial.stock_change, realm ``stock``
                e1 = earlier[i, j]
                land = r == stock
                land_before = e1 >= 0 and realm_lut[e1] == stock
                if e1 >= 0 and land != land_before:
                    counts[sq + 3] += 1  # crosses the realm boundary: no stock change
                if land:
                    counts[sq] += 1
                    if e1 < 0:
                        counts[sq + 1] += 1
                    dc = 0.0
                    if land_before:
                        dc = (s_dens[e] - s_dens[e1]) / s_dt
                        if e1 != e:
                            counts[sq + 2] += 1
                    rem = max(dc, 0.0) + 0.0  # + 0.0: -0.0 becomes 0.0, as in the reference's sum over realms
                    em = max(-dc, 0.0) + 0.0
            if m == FLUX and use_lut[r, e]:
                counts[2 + r] += 1
                ok = True
                value = 0.0
                for s in range(nf):  # the realm's flux entries, summed in their order
                    if f_realm[s] != r:
                        continue
                    if s == 0:
                        good, p = _flux_value(f0[i, j], nd0, has_nd[0], f_factor[0])
                    elif s == 1:
                        good, p = _flux_value(f1[i, j], nd1, has_nd[1], f_factor[1])
                    elif s == 2:
                        good, p = _flux_value(f2[i, j], nd2, has_nd[2], f_factor[2])
                    else:
                        good, p = _flux_value(f3[i, j], nd3, has_nd[3], f_factor[3])
                    if good:
                        value += p
                        ap = abs(p)
                        if ap - ap != 0.0:  # +-inf: an error after the pass (named, with its count)
                            counts[sq + N_STOCK_QA + s] += 1
                        if ap > floats[s]:
                            floats[s] = ap
                    else:
                        ok = False
                if not ok or value != value:  # a part without data, or +inf + -inf
                    counts[2 + n_realm + r] += 1
                    value = 0.0
                # as the reference: value.clip(min=0) + coefficients of the realm's other ecosystems (0 here)
                rem = max(value, 0.0) + rem
                em = max(-value, 0.0) + em
            net = rem - em
            dens[0, i, j] = rem
            dens[1, i, j] = em
            v = np.float32(net)
            maps[0, i, j] = v
            for k in range(n_realm):
                maps[1 + k, i, j] = v if k == r else _NAN32
            t = net * area[i, j]
            if t == t:
                floats[MAX_FLUXES] += t


def _nodata_f64(nodata, dtype) -> float:
    """The nodata value as the reference's ``flux != nodata`` compares it, as a float64: a float
    raster compares in its own dtype (numpy's rule for a Python float against a float32 array), an
    integer raster in float64 (so a nodata outside its range, or not an integer, matches nothing)."""
    if nodata is None:
        return 0.0
    if np.issubdtype(dtype, np.floating):
        with np.errstate(over="ignore"):
            return float(np.asarray(nodata, dtype=dtype))
    return float(nodata)


def _pass_block(eco, area, *arrays, static, n_flux):
    """The compiled pass over one block; returns a (1, 1) object array holding (dens (2, y, x) float64,
    maps (1 + realms, y, x) float32, counts (N_COUNTS,), max |flux| (MAX_FLUXES,), pixel sum (1,))."""
    ny, nx = eco.shape
    fl = list(arrays[:n_flux])
    earlier = arrays[n_flux] if static["stock"] >= 0 else eco  # unused slot: any int16 2-D array
    nds = list(static["nodata"])
    while len(fl) < MAX_FLUXES:
        fl.append(area)
        nds.append(0.0)
    dens = np.empty((2, ny, nx), dtype=np.float64)
    maps = np.empty((1 + len(REALMS), ny, nx), dtype=np.float32)
    counts = np.zeros(N_COUNTS, dtype=np.int64)
    floats = np.zeros(N_FLOATS, dtype=np.float64)
    _sink_block(eco, area, static["realm_lut"], static["mode"], static["rem_lut"], static["em_lut"],
                static["use_lut"], n_flux, static["f_realm"], static["f_factor"], static["has_nd"],
                fl[0], nds[0], fl[1], nds[1], fl[2], nds[2], fl[3], nds[3], static["stock"], earlier,
                static["s_dens"], static["s_dt"], dens, maps, counts, floats)
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = (dens, maps, counts, floats[:MAX_FLUXES], floats[MAX_FLUXES:])
    return out


def _part(o, which: int, k: int):
    return o[0, 0][which][k]


def _qa_part(o, which: int):
    return o[0, 0][which][None, None, :]


def _total_part(o):
    return o[0, 0][4].reshape(1, 1)


@dataclass
class SinkPass:
    """What the run's pass takes from the sinks, lazily: gross removal and emission totals over the
    realms [g C m-2 yr-1], the net maps (float32, ``sink_total`` and ``sink_<realm short>``), the sum of
    net x area over the pixels as per-block partials [g C yr-1], and QA partials (array, how).

    A QA array may have a third axis holding several numbers (one reduction for all of them instead
    of one each); ``qa_names`` then maps each QA name to (QA key, index): see :meth:`named`."""

    removal: xr.DataArray
    emission: xr.DataArray
    maps: dict[str, xr.DataArray]
    pixel_total: da.Array
    qa: dict[str, tuple[da.Array, str]]
    fused: bool
    qa_names: dict[str, tuple[str, int]] = field(default_factory=dict)

    def named(self, reduced: dict) -> dict:
        """The reduced QA values by name: scalars as they are, vectors split by ``qa_names``."""
        out = {k: v for k, v in reduced.items() if k not in {key for key, _ in self.qa_names.values()}}
        out.update({name: reduced[key][i] for name, (key, i) in self.qa_names.items()})
        return out


def sink_pass(eco: xr.DataArray, area: xr.DataArray, scheme: Scheme, coeffs, sinks: dict[str, RealmSink],
              fluxes: dict[str, xr.DataArray]) -> SinkPass:
    """The removal, emission, maps and QA of ``sinks`` (from :func:`pipeline.sinks.compute_sinks`) for the
    run's pass, as one compiled task per block; with more than ``MAX_FLUXES`` flux rasters, the
    reference xarray chain (same values).

    Rules per pixel (those of the realm modules): nodata and unknown pixels have removal = emission
    = 0 and NaN maps. A coefficient realm reads its ecosystem's central rates. A flux realm sums its
    rasters (each times its unit and sign factor) on its chosen ecosystems, counting the pixels used
    and those where a raster has no data (which get 0); its other ecosystems read their
    coefficients; the gross removal is max(value, 0), the emission max(-value, 0). A stock-change
    realm takes dC = (D[e2] - D[e1]) / (t2 - t1) where the pixel is in the realm at both epochs (0
    elsewhere), counting its QA numbers (see :func:`pipeline.sinks.terrestrial.stock_change`); a
    realm of any other method makes the whole pass the reference chain. net = removal - emission.
    """
    n_flux_slots = sum(len(s.plan.names) for s in sinks.values() if s.method == "flux")
    if n_flux_slots > MAX_FLUXES:
        return _reference_pass(eco, area, scheme, sinks)
    realms = list(REALMS)
    n_eco = len(scheme.ecosystems)
    mode = np.zeros(len(realms), dtype=np.int64)
    rem_lut = np.zeros((len(realms), n_eco))
    em_lut = np.zeros((len(realms), n_eco))
    use_lut = np.zeros((len(realms), n_eco), dtype=np.bool_)
    f_arrays, f_realm, f_factor, nodata, has_nd, qa_keys, inf_keys = [], [], [], [], [], [], []
    qa = {}
    stock, earlier, s_dens, s_dt = -1, [], np.zeros(n_eco), 1.0
    for r, realm in enumerate(realms):
        s = sinks[realm]
        if s.method == "coefficient":
            rem_lut[r], em_lut[r] = coefficient_rates(coeffs, scheme, realm)
        elif s.method == "flux":
            mode[r] = FLUX
            if s.plan.rest:
                rem_lut[r], em_lut[r] = coefficient_rates(coeffs, scheme, realm, list(s.plan.rest))
            use_lut[r] = [e in s.plan.chosen and rr == realm for e, rr in zip(scheme.ecosystems, scheme.ecosystem_realm)]
            for name in s.plan.names:
                flux = fluxes[name]
                nd = flux_nodata(flux)
                f_arrays.append(flux.data)
                f_realm.append(r)
                f_factor.append(flux_factor(flux))
                has_nd.append(nd is not None)
                nodata.append(_nodata_f64(nd, flux.dtype))
                qa_keys.append(f"flux_max_abs:{realm}:{name}")
                inf_keys.append(f"flux_nonfinite_px:{realm}:{name}")
        elif s.method == "stock_change" and stock < 0:
            mode[r], stock = STOCK, r
            earlier, s_dens, s_dt = [s.plan.earlier.data], np.asarray(s.plan.densities, dtype=np.float64), s.plan.years
        else:  # a method the compiled pass does not know: the reference chain
            return _reference_pass(eco, area, scheme, sinks)
    static = {"realm_lut": np.array([realms.index(r) for r in scheme.ecosystem_realm], dtype=np.int64),
              "mode": mode, "rem_lut": rem_lut, "em_lut": em_lut, "use_lut": use_lut,
              "f_realm": np.array(f_realm + [-1] * (MAX_FLUXES - len(f_realm)), dtype=np.int64),
              "f_factor": np.array(f_factor + [0.0] * (MAX_FLUXES - len(f_factor))),
              "has_nd": np.array(has_nd + [False] * (MAX_FLUXES - len(has_nd)), dtype=np.bool_),
              "nodata": nodata, "stock": stock, "s_dens": s_dens, "s_dt": float(s_dt)}
    chunks = eco.data.chunks
    arrays = [a.rechunk(chunks) for a in [eco.data, area.data] + f_arrays + earlier]
    nby, nbx = arrays[0].numblocks
    token = dask.base.tokenize(*arrays, static)
    blocks = da.map_blocks(_pass_block, *arrays, static=static, n_flux=len(f_arrays),
                           chunks=((1,) * nby, (1,) * nbx), dtype=object, meta=np.empty((0, 0), dtype=object),
                           name=f"sink-pass-{token}")

    def plane(which: int, k: int, dtype) -> xr.DataArray:
        arr = blocks.map_blocks(_part, which=which, k=k, chunks=chunks, dtype=dtype, meta=np.empty((0, 0), dtype),
                                name=f"sink-pass-{which}-{k}-{token}")
        return xr.DataArray(arr, dims=eco.dims, coords=eco.coords)

    def partials(which: int, n: int, dtype) -> da.Array:
        return blocks.map_blocks(_qa_part, which=which, new_axis=2, chunks=((1,) * nby, (1,) * nbx, (n,)),
                                 dtype=dtype, meta=np.empty((0, 0, 0), dtype), name=f"sink-qa-{which}-{token}")

    qa["sink_counts"] = (partials(2, N_COUNTS, np.int64), "sum")
    if qa_keys:
        qa["sink_flux_max"] = (partials(3, MAX_FLUXES, np.float64), "max")
    names = {"nodata_px": ("sink_counts", 0), "unknown_px": ("sink_counts", 1)}
    for r, realm in enumerate(realms):
        if mode[r] == FLUX:
            names[f"flux_missing_px:{realm}"] = ("sink_counts", 2 + len(realms) + r)
            names[f"flux_used_px:{realm}"] = ("sink_counts", 2 + r)
    for s, key in enumerate(qa_keys):
        names[key] = ("sink_flux_max", s)
    for s, key in enumerate(inf_keys):
        names[key] = ("sink_counts", 2 + 2 * len(realms) + N_STOCK_QA + s)
    if stock >= 0:
        names |= {key: ("sink_counts", 2 + 2 * len(realms) + k) for k, key in enumerate(STOCK_QA)}
    maps = {"sink_total": plane(1, 0, np.float32)}
    for r, short in enumerate(REALMS.values()):
        maps[f"sink_{short}"] = plane(1, 1 + r, np.float32)
    total = blocks.map_blocks(_total_part, chunks=((1,) * nby, (1,) * nbx), dtype=np.float64,
                              meta=np.empty((0, 0), np.float64), name=f"sink-total-{token}")
    return SinkPass(plane(0, 0, np.float64), plane(0, 1, np.float64), maps, total, qa, True, names)


def _reference_pass(eco, area, scheme, sinks) -> SinkPass:
    """:class:`SinkPass` from the realms' xarray objects (no compiled pass)."""
    removal = sum(s.removal for s in sinks.values())
    emission = sum(s.emission for s in sinks.values())
    net = removal - emission
    realm_idx = realm_of(eco, scheme)
    maps = {"sink_total": net.where(eco >= 0).astype(np.float32)}
    for i, (realm, short) in enumerate(REALMS.items()):
        maps[f"sink_{short}"] = (sinks[realm].removal - sinks[realm].emission).where(realm_idx == i).astype(np.float32)
    qa = {"nodata_px": (block_partials(eco.data == NODATA, "sum"), "sum"),
          "unknown_px": (block_partials(eco.data == UNKNOWN, "sum"), "sum")}
    for s in sinks.values():
        qa.update(s.qa)
    pixel_total = block_partials(((removal - emission) * area).where(eco >= 0).data, "sum")
    return SinkPass(removal, emission, maps, pixel_total, qa, False)

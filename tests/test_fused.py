"""The compiled per-block pass (``pipeline.sinks.fused``) against the realms' xarray definitions.

The xarray chain of each realm module is the reference; the compiled pass must give the same bits
for removal, emission and every map, the same QA counts and maxima, and the pixel sum to rounding.
Plus one block worked out by hand, so the pair cannot agree on a wrong answer.
"""

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from conftest import SAMPLE_CONFIG
from pipeline import load, load_config
from pipeline.config import RealmSpec, SinksSpec
from pipeline.sinks import compute_sinks
from pipeline.sinks.fused import MAX_FLUXES, _reference_pass, sink_pass

CHUNKS = (37, 53)  # odd sizes: ragged edge blocks


@pytest.fixture(scope="module")
def tables():
    cfg = load_config(SAMPLE_CONFIG)
    inputs = load(cfg)
    return cfg, inputs.scheme, inputs.coefficients


def _arr(values, **attrs) -> xr.DataArray:
    return xr.DataArray(da.from_array(values, chunks=CHUNKS), dims=("y", "x"), attrs=attrs)


def _random_case(scheme, shape=(150, 170), seed=7):
    """Ecosystem indices with nodata (-1) and unknown (-2) pixels, two terrestrial flux rasters (one float32
    with a nodata value and NaNs, one float64 emission-positive in kg), an ocean flux in mol, and an area."""
    rng = np.random.default_rng(seed)
    n = len(scheme.ecosystems)
    eco = rng.integers(-2, n, size=shape).astype(np.int16)
    nep = rng.normal(50, 120, size=shape).astype(np.float32)
    nep[rng.random(shape) < 0.05] = -9999.0
    nep[rng.random(shape) < 0.02] = np.nan
    nee = rng.normal(-0.02, 0.05, size=shape)  # kg C m-2 yr-1, emission positive
    sea = rng.normal(1.0, 0.8, size=shape).astype(np.float32)  # mol C m-2 yr-1
    sea[rng.random(shape) < 0.03] = np.nan
    area = np.broadcast_to(rng.uniform(9e5, 1.1e6, size=(shape[0], 1)), shape)
    fluxes = {"nep": _arr(nep, units="g C m-2 yr-1", sign_convention="uptake_positive", nodata=-9999.0),
              "nee": _arr(nee, units="kg C m-2 yr-1", sign_convention="emission_positive", nodata=None),
              "sea": _arr(sea, units="mol C m-2 yr-1", sign_convention="uptake_positive", nodata=float("nan"))}
    return _arr(eco), _arr(area), fluxes


def _spec(cfg, **realms) -> SinksSpec:
    return cfg.sinks.model_copy(update={k: RealmSpec(**v) for k, v in realms.items()})


def _bits(a: xr.DataArray) -> np.ndarray:
    v = a.values
    return v.view(np.uint32 if v.dtype == np.float32 else np.uint64)


def _qa_values(p) -> dict:
    """The pass's QA numbers by name, reduced over all blocks as the runner does."""
    reduced = {k: (a.sum(axis=(0, 1)) if how == "sum" else a.max(axis=(0, 1))).compute() for k, (a, how) in p.qa.items()}
    return p.named(reduced)


def _compare(fused, ref):
    assert fused.fused and not ref.fused
    for name in ("removal", "emission"):
        np.testing.assert_array_equal(_bits(getattr(fused, name)), _bits(getattr(ref, name)), err_msg=name)
    assert set(fused.maps) == set(ref.maps)
    for name in ref.maps:
        assert fused.maps[name].dtype == np.float32
        np.testing.assert_array_equal(_bits(fused.maps[name]), _bits(ref.maps[name]), err_msg=name)
    got, want = _qa_values(fused), _qa_values(ref)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == want[key], key
    assert float(fused.pixel_total.sum().compute()) == pytest.approx(float(ref.pixel_total.sum().compute()), rel=1e-12)


@pytest.mark.parametrize("realms", [
    {"terrestrial": {"method": "flux", "flux": ["nep", "nee"]}, "ocean": {"method": "flux", "flux": "sea"}},
    {"terrestrial": {"method": "flux", "flux": "nep", "ecosystems": ["forest", "cropland"]},
     "inland_water": {"method": "coefficient"}, "ocean": {"method": "coefficient"}},
    {"terrestrial": {"method": "coefficient"}, "inland_water": {"method": "flux", "flux": "nee"},
     "ocean": {"method": "flux", "flux": ["sea", "nep"]}},
], ids=["two-terrestrial-fluxes", "flux-on-some-ecosystems", "water-and-ocean-fluxes"])
def test_fused_pass_equals_the_xarray_chain_bit_for_bit(tables, realms):
    cfg, scheme, coeffs = tables
    eco, area, fluxes = _random_case(scheme)
    sinks = compute_sinks(eco, scheme, coeffs, _spec(cfg, **realms), fluxes)
    _compare(sink_pass(eco, area, scheme, coeffs, sinks, fluxes), _reference_pass(eco, area, scheme, sinks))


@pytest.mark.parametrize("ocean", [{"method": "flux", "flux": "sea"}, {"method": "coefficient"}])
def test_fused_pass_equals_the_xarray_chain_for_stock_change(tables, ocean):
    """Stock difference between two epochs (nodata and unknown at either, realm crossings both ways)."""
    cfg, scheme, coeffs = tables
    eco, area, fluxes = _random_case(scheme)
    earlier = _arr(np.roll(eco.values, 3, axis=1))
    densities = np.linspace(0, 20000, len(scheme.ecosystems))
    spec = cfg.sinks.model_copy(update={"terrestrial": RealmSpec.model_construct(method="stock_change"),
                                        "ocean": RealmSpec(**ocean)})
    sinks = compute_sinks(eco, scheme, coeffs, spec, fluxes,
                          {"earlier": earlier, "densities": densities, "years": (2010, 2020)})
    fused = sink_pass(eco, area, scheme, coeffs, sinks, fluxes)
    _compare(fused, _reference_pass(eco, area, scheme, sinks))
    qa = _qa_values(fused)
    # the counts by hand from the two arrays
    e2, e1 = eco.values, earlier.values
    land_of = np.array([r == "terrestrial" for r in scheme.ecosystem_realm])
    land2 = (e2 >= 0) & land_of[np.clip(e2, 0, None)]
    land1 = (e1 >= 0) & land_of[np.clip(e1, 0, None)]
    assert qa["stock_change_terrestrial_px"] == land2.sum() > 0
    assert qa["stock_change_earlier_nodata_px"] == (land2 & (e1 < 0)).sum() > 0
    assert qa["stock_change_changed_px"] == (land2 & land1 & (e1 != e2)).sum() > 0
    assert qa["stock_change_realm_crossing_px"] == ((e2 >= 0) & (e1 >= 0) & (land2 != land1)).sum() > 0


@pytest.mark.parametrize("dtype, nodata, matches", [
    ("int16", -9999, True), ("int16", 70000.0, False), ("int16", -9999.5, False), ("uint8", -1, False),
    ("float32", -3.4028234663852886e38, True)])
def test_fused_pass_equals_the_xarray_chain_for_integer_and_odd_nodata(tables, dtype, nodata, matches):
    """Integer fluxes, and nodata values outside the dtype's range or not representable in it: the
    compiled pass matches what numpy's ``flux != nodata`` matches (nothing, for int16 with 70000)."""
    cfg, scheme, coeffs = tables
    eco, area, _ = _random_case(scheme, shape=(60, 70))
    rng = np.random.default_rng(3)
    vals = rng.integers(0, 250, size=eco.shape).astype(dtype)
    if matches:  # the nodata value is one of the dtype's values: put it on 10 % of the pixels
        vals[rng.random(eco.shape) < 0.1] = np.asarray(nodata).astype(dtype)
    if dtype == "int16":
        vals[0, :5] = -9999  # what -9999.5 truncated to int16 would wrongly match
    fluxes = {"q": _arr(vals, units="g C m-2 yr-1", sign_convention="uptake_positive", nodata=nodata)}
    sinks = compute_sinks(eco, scheme, coeffs, _spec(cfg, terrestrial={"method": "flux", "flux": "q"}), fluxes)
    fused = sink_pass(eco, area, scheme, coeffs, sinks, fluxes)
    _compare(fused, _reference_pass(eco, area, scheme, sinks))
    qa = _qa_values(fused)
    terrestrial = [i for i, r in enumerate(scheme.ecosystem_realm) if r == "terrestrial"]  # all land, by default
    land = np.isin(eco.values, terrestrial)
    assert qa["flux_used_px:terrestrial"] == land.sum() > 0
    want_missing = (land & (vals == np.asarray(nodata).astype(dtype))).sum() if matches else 0
    assert qa["flux_missing_px:terrestrial"] == want_missing
    assert (want_missing > 0) == matches


def test_a_flux_named_twice_is_counted_once(tables):
    cfg, scheme, coeffs = tables
    eco, area, fluxes = _random_case(scheme, shape=(40, 30))
    once = compute_sinks(eco, scheme, coeffs, _spec(cfg, terrestrial={"method": "flux", "flux": "nee"}), fluxes)
    twice = compute_sinks(eco, scheme, coeffs, _spec(cfg, terrestrial={"method": "flux", "flux": ["nee", "nee"]}), fluxes)
    a = sink_pass(eco, area, scheme, coeffs, once, fluxes)
    b = sink_pass(eco, area, scheme, coeffs, twice, fluxes)
    np.testing.assert_array_equal(_bits(a.removal), _bits(b.removal))
    np.testing.assert_array_equal(_bits(b.removal), _bits(_reference_pass(eco, area, scheme, twice).removal))


def test_more_fluxes_than_the_compiled_pass_takes_use_the_xarray_chain(tables):
    cfg, scheme, coeffs = tables
    eco, area, fluxes = _random_case(scheme, shape=(40, 30))
    names = [f"f{i}" for i in range(MAX_FLUXES + 1)]
    fluxes = {n: fluxes["nee"].copy() for n in names}
    sinks = compute_sinks(eco, scheme, coeffs, _spec(cfg, terrestrial={"method": "flux", "flux": names}), fluxes)
    got = sink_pass(eco, area, scheme, coeffs, sinks, fluxes)
    assert not got.fused
    np.testing.assert_array_equal(got.removal.values, _reference_pass(eco, area, scheme, sinks).removal.values)


def test_fused_pass_by_hand(tables):
    """One 2 x 3 block. Sample scheme: 0 open_water (inland water: removal 22, emission 35 in the default table),
    1 forest (terrestrial, flux), 9 marginal_sea (ocean, coefficient)."""
    cfg, scheme, coeffs = tables
    ow = coeffs[(coeffs["ecosystem"] == "open_water")]
    burial = float(ow.loc[ow["flux"] == "removal", "central"].sum())
    outgas = float(ow.loc[ow["flux"] == "emission", "central"].sum())
    sea = coeffs[(coeffs["ecosystem"] == "marginal_sea")]
    sea_rate = float(sea.loc[sea["flux"] == "removal", "central"].sum())
    eco = np.array([[1, 1, 1], [0, -1, 9]], dtype=np.int16)
    nep = np.array([[-0.25, np.nan, 0.5], [7.0, 7.0, 7.0]])  # kg C m-2 yr-1
    area = np.full((2, 3), 4.0)
    fluxes = {"nep": xr.DataArray(da.from_array(nep, chunks=(2, 3)), dims=("y", "x"),
                                  attrs={"units": "kg C m-2 yr-1", "sign_convention": "uptake_positive"})}
    e = xr.DataArray(da.from_array(eco, chunks=(2, 3)), dims=("y", "x"))
    a = xr.DataArray(da.from_array(area, chunks=(2, 3)), dims=("y", "x"))
    sinks = compute_sinks(e, scheme, coeffs, _spec(cfg, terrestrial={"method": "flux", "flux": "nep"},
                                                   ocean={"method": "coefficient"}), fluxes)
    got = sink_pass(e, a, scheme, coeffs, sinks, fluxes)
    nan = np.nan

    def f32(rows):  # the maps are float32
        return np.array(rows, dtype=np.float32)

    np.testing.assert_array_equal(got.removal.values, [[0, 0, 500], [burial, 0, sea_rate]])
    np.testing.assert_array_equal(got.emission.values, [[250, 0, 0], [outgas, 0, 0]])
    np.testing.assert_array_equal(got.maps["sink_total"].values, f32([[-250, 0, 500], [burial - outgas, nan, sea_rate]]))
    np.testing.assert_array_equal(got.maps["sink_terrestrial"].values, f32([[-250, 0, 500], [nan, nan, nan]]))
    np.testing.assert_array_equal(got.maps["sink_water"].values, f32([[nan, nan, nan], [burial - outgas, nan, nan]]))
    np.testing.assert_array_equal(got.maps["sink_ocean"].values, f32([[nan, nan, nan], [nan, nan, sea_rate]]))
    qa = _qa_values(got)
    assert qa["nodata_px"] == 1 and qa["unknown_px"] == 0
    assert qa["flux_used_px:terrestrial"] == 3 and qa["flux_missing_px:terrestrial"] == 1
    assert qa["flux_max_abs:terrestrial:nep"] == 500.0
    total = 4.0 * (-250 + 500 + burial - outgas + sea_rate)
    assert float(got.pixel_total.sum().compute()) == pytest.approx(total, rel=1e-15)

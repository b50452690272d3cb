import pytest

from pipeline import units
from pipeline.errors import UnitError


@pytest.mark.parametrize("unit, expected", [
    ("g C m-2 yr-1", 1.0),
    ("kg C m-2 yr-1", 1000.0),
    # GCB per-second grids: 1 kg = 1000 g; Julian year = 365.25 d x 86,400 s = 31,557,600 s
    ("kg C m-2 s-1", 1000.0 * 31_557_600),
    ("Mg C ha-1 yr-1", 1e6 / 1e4),  # 1 Mg = 1e6 g over 1 ha = 1e4 m2 -> 100
    ("t C km-2 yr-1", 1.0),  # 1e6 g over 1e6 m2
    ("mol C m-2 yr-1", 12.011),
    ("mol C m-2 s-1", 12.011 * 31_557_600),
    ("mmol C m-2 d-1", 12.011e-3 * 365.25),
    ("g CO2 m-2 yr-1", 12.0 / 44.0),
])
def test_density_factor__by_hand(unit, expected):
    assert units.density_factor(unit) == pytest.approx(expected, rel=1e-12)


def test_density_factor__unknown_lists_accepted():
    with pytest.raises(UnitError, match=r"unknown units 'g C m-2 day'.*Accepted density units: g C m-2 yr-1"):
        units.density_factor("g C m-2 day")


def test_masses__by_hand():
    assert units.MgC_to_MtCO2(1e6) == pytest.approx(44 / 12)  # 1 Mt C = 3.667 Mt CO2
    assert units.grams_to_Mg(2.5e6) == 2.5
    assert units.m2_to_km2(3e6) == 3.0


def test_sign_factor():
    assert units.sign_factor("uptake_positive") == 1.0
    assert units.sign_factor("emission_positive") == -1.0
    with pytest.raises(UnitError, match="emission_positive"):
        units.sign_factor("downward")


def test_check_plausible__names_likely_mistake():
    # an NEP of 500 g C m-2 yr-1 declared as kg -> 500,000 after conversion
    with pytest.raises(UnitError, match="g C m-2 yr-1' rather than 'kg C m-2 yr-1'"):
        units.check_plausible(500_000.0, "terrestrial", "kg C m-2 yr-1", "nep.tif")
    units.check_plausible(400.0, "terrestrial", "g C m-2 yr-1", "nep.tif")  # plausible: no error


def _hint(max_abs, realm, declared):
    with pytest.raises(UnitError) as info:
        units.check_plausible(max_abs, realm, declared, "flux.tif")
    return str(info.value)


def test_check_plausible__g_declared_as_kg():
    # the file holds 250 (g C m-2 yr-1) but says kg: 250 x 1000 = 250,000 after conversion
    msg = _hint(250 * 1000.0, "terrestrial", "kg C m-2 yr-1")
    assert "'g C m-2 yr-1' rather than 'kg C m-2 yr-1'" in msg
    assert "'t C km-2 yr-1', the same scale" in msg  # 1 t / 1 km2 = 1e6 g / 1e6 m2 = 1 g m-2
    assert "its maximum is 250 g C m-2 yr-1" in msg and "1,000x too large" in msg
    assert "'kg' written for 'g'" in msg
    assert "s-1" not in msg  # never suggests per second: that would make the values 3e7x larger


def test_check_plausible__per_year_values_declared_per_second():
    # GCB-style declaration kg C m-2 s-1, but the file holds 0.3 kg C m-2 *yr-1* (= 300 g C m-2 yr-1):
    # converted as per second: 0.3 x 1000 g x 31,557,600 s (Julian year) = 9.467e9
    msg = _hint(0.3 * 1000 * 31_557_600, "terrestrial", "kg C m-2 s-1")
    assert "'kg C m-2 yr-1' rather than 'kg C m-2 s-1'" in msg
    assert "its maximum is 300 g C m-2 yr-1" in msg
    assert "3.156e+07x too large" in msg  # 31,557,600 s per year
    assert "'s-1' written for 'yr-1'" in msg


def test_check_plausible__g_per_m2_declared_as_Mg_per_ha():
    # 400 g C m-2 yr-1 declared as Mg C ha-1 yr-1: 1 Mg ha-1 = 1e6 g / 1e4 m2 = 100 g m-2 -> 40,000
    msg = _hint(400 * 100.0, "terrestrial", "Mg C ha-1 yr-1")
    assert "'g C m-2 yr-1' rather than 'Mg C ha-1 yr-1'" in msg
    assert "its maximum is 400 g C m-2 yr-1" in msg and "100x too large" in msg
    assert "'Mg' written for 'g', 'ha-1' written for 'm-2'" in msg


def test_check_plausible__per_pixel_total_suggests_a_total_unit():
    # 300 Mg C per 1 km2 pixel (= 300 g C m-2 yr-1) declared as Tg: 300 x 1e12 g / 1e6 m2 = 3e8
    msg = _hint(300 * 1e12 / 1e6, "terrestrial", "Tg C yr-1 per pixel")
    assert "'Mg C yr-1 per pixel' rather than 'Tg C yr-1 per pixel'" in msg
    assert "'t C yr-1 per pixel', the same scale" in msg
    assert "1e+06x too large" in msg and "'Tg' written for 'Mg'" in msg  # Tg / Mg = 1e12 / 1e6


def test_check_plausible__ocean_mol_suggestion_is_the_closest_to_typical():
    # 5,000 g C m-2 yr-1 from 'mol C m-2 yr-1' (416.3 mol): read as g C it is 416.3, as g CO2
    # 416.3 x 12/44 = 113.5, nearer the ocean's typical maximum of 100 (log10 distance 0.06 vs 0.62)
    msg = _hint(5000.0, "ocean", "mol C m-2 yr-1")
    assert "'g CO2 m-2 yr-1' rather than 'mol C m-2 yr-1'" in msg
    assert f"its maximum is {5000 / 12.011 * 12 / 44:,.3g} g C m-2 yr-1" in msg


def test_check_plausible__no_unit_fits_gives_a_generic_message():
    # a fill value of 1e30 read as data: the smallest accepted factor (mmol C m-2 d-1 -> 4.4e-3 of
    # g C m-2 yr-1) still leaves 4.4e27 g C m-2 yr-1
    msg = _hint(1e30, "terrestrial", "g C m-2 yr-1")
    assert "rather than" not in msg
    assert "No accepted density unit brings this maximum within the plausible 3-3,000" in msg
    assert "nodata" in msg


def test_likely_units__candidates_by_hand():
    # 2,000,000 from kg C m-2 yr-1 (raw 2,000): as g C m-2 yr-1 -> 2,000 (in range, log10 distance
    # from 300 = 0.82); as g CO2 -> 545.5 (distance 0.26): the CO2 reading is closer to typical
    best, rescaled = units.likely_units(2_000_000.0, "terrestrial", "kg C m-2 yr-1")
    assert best == ["g CO2 m-2 yr-1"] and rescaled == pytest.approx(2000 * 12 / 44, rel=1e-12)
    assert units.likely_units(1e30, "terrestrial", "g C m-2 yr-1") is None
    assert units.likely_units(1e6, "terrestrial", "furlongs") is None


@pytest.mark.parametrize("cache", ["fresh", "unusable"])
def test_registry__same_factors_with_pints_disk_cache_fresh_reused_or_unusable(tmp_path, cache):
    """The registry is built from pint's on-disk cache when it can be (a folder of its own here),
    and parsed afresh when the folder cannot be made (under a regular file): the factors are the
    hand-computed ones either way, also in a second process that reads the cache the first wrote."""
    import subprocess
    import sys

    if cache == "fresh":
        env_cache = tmp_path / "cache"
    else:
        (tmp_path / "file").write_text("not a folder")
        env_cache = tmp_path / "file" / "cache"
    code = ("from pipeline import units; print(units.density_factor('kg C m-2 s-1'), "
            "units.density_factor('mmol C m-2 d-1'))")
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(env_cache)}
    for _ in range(2):  # the second process reads what the first cached
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        got = [float(x) for x in out.stdout.split()]
        assert got == pytest.approx([1000.0 * 31_557_600, 12.011e-3 * 365.25], rel=1e-12)
    assert any((env_cache / "pint").glob("*.pickle")) == (cache == "fresh")

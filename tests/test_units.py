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

"""Shipped land-cover schemes: they load, cover their product's legend, and have coefficients."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.tables import coefficient_rates, read_coefficients, read_scheme

ROOT = Path(__file__).resolve().parents[1]
SCHEME_DIR = ROOT / "configs" / "landcover"
COEFFICIENTS = ROOT / "configs" / "coefficients" / "default.csv"
SCHEMES = sorted(SCHEME_DIR.glob("*.csv"))

#: MODIS MCD12Q1/MCD12C1 C6 IGBP (LC_Type1): Sulla-Menashe & Friedl 2018, MCD12 C6 User Guide,
#: Table 3. 0 = water bodies is a class; 255 (unclassified/fill) is not.
MODIS_IGBP = set(range(0, 17))
#: CLCD: Yang & Huang 2021, Earth Syst. Sci. Data 13:3907, doi:10.5194/essd-13-3907-2021:
#: 1 cropland, 2 forest, 3 shrub, 4 grassland, 5 water, 6 snow/ice, 7 barren, 8 impervious, 9 wetland.
CLCD = set(range(1, 10))
#: ESA Land Cover CCI (v2.0.7 / v2.1.1), Product User Guide v2.0 (2017), Table 2, without 0 (no data).
ESA_CCI_LC = {10, 11, 12, 20, 30, 40, 50, 60, 61, 62, 70, 71, 72, 80, 81, 82, 90, 100, 110, 120, 121,
              122, 130, 140, 150, 151, 152, 153, 160, 170, 180, 190, 200, 201, 202, 210, 220}

#: Expected code set of each shipped scheme. sample_modis_igbp_sea adds 20 = sea (recoded by
#: sample_rasters/make_sample.py).
LEGENDS = {
    "modis_igbp.csv": MODIS_IGBP,
    "sample_modis_igbp_sea.csv": MODIS_IGBP | {20},
    "clcd.csv": CLCD,
    "esa_cci_lc.csv": ESA_CCI_LC,
}

REALMS = {"terrestrial", "inland_water", "ocean"}


def _id(path: Path) -> str:
    return path.name


def test_products_with_a_legend_are_shipped():
    """Each scheme whose legend is written out above exists under configs/landcover."""
    assert set(LEGENDS) <= {p.name for p in SCHEMES}


@pytest.mark.parametrize("path", SCHEMES, ids=_id)
def test_scheme_loads(path):
    """Every CSV under configs/landcover reads as a scheme with realms among the three."""
    scheme = read_scheme(path)
    assert len(scheme.table) > 0
    assert set(scheme.ecosystem_realm) <= REALMS


@pytest.mark.parametrize("path", SCHEMES, ids=_id)
def test_scheme_has_coefficients_for_every_ecosystem(path):
    """coefficient_rates raises InputError if any ecosystem of a realm has no coefficient row."""
    scheme = read_scheme(path)
    coeffs = read_coefficients(COEFFICIENTS)
    for realm in REALMS:
        removal, emission = coefficient_rates(coeffs, scheme, realm)
        assert len(removal) == len(emission) == len(scheme.ecosystems)


@pytest.mark.parametrize("name", sorted(LEGENDS))
def test_scheme_codes_equal_product_legend(name):
    """The scheme's codes are exactly the product's legend (no missing, no extra codes)."""
    scheme = read_scheme(SCHEME_DIR / name)
    codes = scheme.table["code"].tolist()
    assert set(codes) == LEGENDS[name]
    assert len(codes) == len(set(codes))


def test_nodata_and_fill_codes_are_not_classes():
    """ESA CCI 0 (no data) and MODIS 255 (fill) are nodata, not scheme rows."""
    assert 0 not in set(read_scheme(SCHEME_DIR / "esa_cci_lc.csv").table["code"])
    assert 255 not in set(read_scheme(SCHEME_DIR / "modis_igbp.csv").table["code"])
    assert 0 not in set(read_scheme(SCHEME_DIR / "clcd.csv").table["code"])


@pytest.mark.parametrize("name, code, ecosystem, realm", [
    ("modis_igbp.csv", 0, "open_water", "inland_water"),
    ("modis_igbp.csv", 1, "forest", "terrestrial"),
    ("modis_igbp.csv", 13, "settlement", "terrestrial"),
    ("sample_modis_igbp_sea.csv", 20, "marginal_sea", "ocean"),
    ("clcd.csv", 1, "cropland", "terrestrial"),
    ("clcd.csv", 2, "forest", "terrestrial"),
    ("clcd.csv", 3, "shrubland", "terrestrial"),
    ("clcd.csv", 5, "open_water", "inland_water"),
    ("clcd.csv", 8, "settlement", "terrestrial"),
    ("clcd.csv", 9, "wetland", "terrestrial"),
    ("esa_cci_lc.csv", 10, "cropland", "terrestrial"),
    ("esa_cci_lc.csv", 30, "cropland", "terrestrial"),
    ("esa_cci_lc.csv", 62, "forest", "terrestrial"),
    ("esa_cci_lc.csv", 100, "forest", "terrestrial"),
    ("esa_cci_lc.csv", 110, "grassland", "terrestrial"),
    ("esa_cci_lc.csv", 120, "shrubland", "terrestrial"),
    ("esa_cci_lc.csv", 160, "wetland", "terrestrial"),
    ("esa_cci_lc.csv", 170, "mangrove", "ocean"),
    ("esa_cci_lc.csv", 180, "wetland", "terrestrial"),
    ("esa_cci_lc.csv", 190, "settlement", "terrestrial"),
    ("esa_cci_lc.csv", 202, "barren", "terrestrial"),
    ("esa_cci_lc.csv", 210, "open_water", "inland_water"),
    ("esa_cci_lc.csv", 220, "snow_ice", "terrestrial"),
])
def test_spot_mappings(name, code, ecosystem, realm):
    """A few code -> (ecosystem, realm) rows per product, checked one by one."""
    table = read_scheme(SCHEME_DIR / name).table.set_index("code")
    assert (table.loc[code, "ecosystem"], table.loc[code, "realm"]) == (ecosystem, realm)

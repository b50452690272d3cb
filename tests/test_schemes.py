"""Shipped land-cover schemes: they load, cover their product's legend, and have coefficients."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pipeline.config import POOLS
from pipeline.errors import InputError
from pipeline.tables import (EVIDENCE_TAGS, coefficient_rates, evidence_tags, read_coefficients, read_densities,
                             read_inorganic, read_non_co2, read_scheme)

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


# --- provenance of the coefficient tables --------------------------------------------------------
COEFF_DIR = ROOT / "configs" / "coefficients"
#: Reader of each shipped coefficient table (a new table needs an entry here).
READERS = {
    "default.csv": read_coefficients,
    "carbon_density.csv": lambda p: read_densities(p, read_scheme(SCHEME_DIR / "modis_igbp.csv"), list(POOLS))[1],
    "non_co2.csv": read_non_co2,
    "inorganic.csv": read_inorganic,
}


def _rows(path: Path) -> list[tuple[int, dict]]:
    """(file line, row) of a table, read with the csv module (comment lines start with '#')."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    header = next(csv.reader([kept[0][1]]))
    return [(n, dict(zip(header, next(csv.reader([line]))))) for n, line in kept[1:]]


def test_every_shipped_coefficient_table_has_a_reader():
    assert {p.name for p in COEFF_DIR.glob("*.csv")} == set(READERS)


@pytest.mark.parametrize("name", sorted(READERS))
def test_shipped_coefficient_tables_carry_source_and_evidence(name):
    path = COEFF_DIR / name
    rows = _rows(path)
    assert rows
    for line, row in rows:
        assert row["source"].strip(), f"{name}:{line} has no source"
        tags = evidence_tags(row["evidence"])
        assert tags and set(tags) <= set(EVIDENCE_TAGS), f"{name}:{line} evidence {row['evidence']!r}"
    READERS[name](path)  # and the loader accepts them


def test_evidence_tags__parsed():
    assert evidence_tags("V/D") == ["V", "D"]
    assert evidence_tags("[V->D]") == ["V", "D"]
    assert evidence_tags("assumption") == ["assumption"]
    assert evidence_tags(" ") == [] and evidence_tags(float("nan")) == []


def _blank(src: Path, dst: Path, line_no: int, column: str) -> dict:
    """Copy ``src`` to ``dst`` with ``column`` emptied on file line ``line_no``; return that row."""
    lines = src.read_text(encoding="utf-8").splitlines()
    header_line = next(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    header = next(csv.reader([header_line]))
    fields = next(csv.reader([lines[line_no - 1]]))
    fields[header.index(column)] = ""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    lines[line_no - 1] = out.getvalue()
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dict(zip(header, fields))


@pytest.mark.parametrize("name, pick, key", [
    ("default.csv", 4, ("realm", "ecosystem", "flux")),
    ("carbon_density.csv", 9, ("ecosystem", "pool")),
    ("non_co2.csv", 2, ("ecosystem", "gas")),
    ("inorganic.csv", 3, ("realm", "ecosystem")),
])
@pytest.mark.parametrize("column", ["source", "evidence"])
def test_row_without_provenance_is_refused(tmp_path, name, pick, key, column):
    src = COEFF_DIR / name
    line = _rows(src)[pick][0]  # the file line of the (pick+1)-th data row, counted by the csv module
    dst = tmp_path / name
    row = _blank(src, dst, line, column)
    with pytest.raises(InputError) as info:
        READERS[name](dst)
    msg = str(info.value)
    assert msg.startswith(f"{dst}: 1 ")
    assert f"line {line} ({', '.join(row[k] for k in key)}): empty '{column}'" in msg
    assert "Fix: fill in the column(s)" in msg

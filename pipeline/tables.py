"""Read and validate the small input tables: land-cover schemes, coefficients, per-region tables."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, UnitError, did_you_mean
from .units import accepted_density_units, density_factor

#: The three realms of the seed paper's joint assessment, and the short names used in outputs.
REALMS: dict[str, str] = {"terrestrial": "terrestrial", "inland_water": "water", "ocean": "ocean"}


def _read_csv(path: Path, required: list[str], what: str) -> pd.DataFrame:
    """Read a CSV whose leading lines may be ``#`` comments (sources, notes)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        body = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        df = pd.read_csv(io.StringIO(body))
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what} table as CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: the {what} table lacks column(s) {missing}; it has {list(df.columns)}. "
                         f"Fix: add the column(s) {required}")
    return df


@dataclass(frozen=True)
class Scheme:
    """A land-cover scheme: code -> ecosystem -> realm, with ecosystems numbered 0..n-1."""

    table: pd.DataFrame  # code, name, ecosystem, realm
    ecosystems: tuple[str, ...]  # ecosystem names; index = ecosystem code in the classified grid
    ecosystem_realm: tuple[str, ...]  # realm of each ecosystem
    source: str

    def lookup(self, size: int) -> np.ndarray:
        """Array mapping land-cover code -> ecosystem index; -2 for codes the scheme lacks."""
        lut = np.full(size, -2, dtype=np.int16)
        index = {e: i for i, e in enumerate(self.ecosystems)}
        codes = self.table["code"].to_numpy()
        ok = codes < size
        lut[codes[ok]] = [index[e] for e in self.table["ecosystem"][ok]]
        return lut


def read_scheme(path: Path) -> Scheme:
    """Read a land-cover scheme CSV (columns code, name, ecosystem, realm)."""
    df = _read_csv(path, ["code", "name", "ecosystem", "realm"], "land-cover scheme")
    bad_realm = sorted(set(df["realm"]) - set(REALMS))
    if bad_realm:
        raise InputError(f"{path}: unknown realm(s) {bad_realm}.{did_you_mean(bad_realm[0], REALMS)} "
                         f"Realms are: {', '.join(REALMS)}")
    if not pd.api.types.is_integer_dtype(df["code"]) or (df["code"] < 0).any():
        raise InputError(f"{path}: column 'code' must hold non-negative integers")
    dup = df["code"][df["code"].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: code(s) {dup} appear more than once. Fix: one row per code")
    realm_of = df.groupby("ecosystem", sort=False)["realm"].unique()
    mixed = [e for e, r in realm_of.items() if len(r) > 1]
    if mixed:
        raise InputError(f"{path}: ecosystem(s) {mixed} are assigned to more than one realm. "
                         "Fix: give each ecosystem one realm")
    ecosystems = tuple(realm_of.index)
    return Scheme(df, ecosystems, tuple(r[0] for r in realm_of), str(path))


def read_coefficients(path: Path) -> pd.DataFrame:
    """Read the coefficient table; returns one row per (realm, ecosystem, flux) with the rates
    converted to g C m-2 yr-1 (columns ``central``, ``low``, ``high``) and their sources."""
    df = _read_csv(path, ["realm", "ecosystem", "flux", "central", "low", "high", "units", "source"],
                   "coefficient")
    bad_flux = sorted(set(df["flux"]) - {"removal", "emission"})
    if bad_flux:
        raise InputError(f"{path}: column 'flux' must be 'removal' or 'emission', found {bad_flux}")
    for units in df["units"].unique():
        if units not in accepted_density_units():
            raise UnitError(f"{path}: unknown units '{units}' in column 'units'."
                            f"{did_you_mean(units, accepted_density_units())} "
                            f"Accepted: {', '.join(accepted_density_units())}")
    factor = df["units"].map(density_factor)
    out = df.copy()
    for col in ("central", "low", "high"):
        out[col] = pd.to_numeric(out[col], errors="raise") * factor
    out["units"] = "g C m-2 yr-1"
    dup = out.duplicated(["realm", "ecosystem", "flux"])
    if dup.any():
        raise InputError(f"{path}: duplicate rows for {out.loc[dup, ['realm', 'ecosystem', 'flux']].values.tolist()}")
    return out


def coefficient_rates(coeffs: pd.DataFrame, scheme: Scheme, realm: str,
                      ecosystems: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Removal and emission rates [g C m-2 yr-1] per ecosystem index (zeros outside ``realm``,
    and outside ``ecosystems`` when given).

    Raises
    ------
    InputError
        If an ecosystem of ``realm`` in the scheme has no coefficient row.
    """
    n = len(scheme.ecosystems)
    removal, emission = np.zeros(n), np.zeros(n)
    sub = coeffs[coeffs["realm"] == realm]
    missing = []
    for i, (eco, r) in enumerate(zip(scheme.ecosystems, scheme.ecosystem_realm)):
        if r != realm or (ecosystems is not None and eco not in ecosystems):
            continue
        rows = sub[sub["ecosystem"] == eco]
        if rows.empty:
            missing.append(eco)
            continue
        removal[i] = rows.loc[rows["flux"] == "removal", "central"].sum()
        emission[i] = rows.loc[rows["flux"] == "emission", "central"].sum()
    if missing:
        raise InputError(f"no coefficient for the {realm} ecosystem(s) {missing} of scheme {scheme.source}. "
                         f"Fix: add rows (realm={realm}, ecosystem, flux, central, low, high, units, source) "
                         "to the coefficient table, or compute this realm from a flux raster")
    return removal, emission


def read_region_table(path: Path, region_field: str, value_field: str, year_field: str,
                      year: int | None, what: str) -> tuple[pd.Series, int]:
    """Read a per-region table; return the values of one year indexed by region id, and the year."""
    df = _read_csv(path, [region_field, value_field, year_field], what)
    years = sorted(int(y) for y in df[year_field].unique())
    use = int(year if year is not None else years[-1])
    if use not in years:
        raise InputError(f"{path}: no rows for year {use} in the {what} table; years present: {years}. "
                         "Fix: set the 'year' key to one of them")
    sel = df[df[year_field] == use]
    dup = sel[region_field][sel[region_field].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: region(s) {dup} appear more than once for {use} in the {what} table")
    return sel.set_index(sel[region_field].astype(str))[value_field].astype(float), use

"""Read and validate the small input tables: land-cover schemes, coefficients, per-region tables."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, UnitError, did_you_mean
from .units import accepted_density_units, density_factor, gas_rate_factor, stock_factor

#: The three realms of the seed paper's joint assessment, and the short names used in outputs.
REALMS: dict[str, str] = {"terrestrial": "terrestrial", "inland_water": "water", "ocean": "ocean"}


def _read_csv(path: Path, required: list[str], what: str, dtype: dict | None = None) -> pd.DataFrame:
    """Read a CSV whose leading lines may be ``#`` comments (sources, notes); ``dtype`` as in pandas
    (region keys are read as text, so '310000' stays '310000' and never becomes 310000.0)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        body = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        df = pd.read_csv(io.StringIO(body), dtype=dtype)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what} table as CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: the {what} table lacks column(s) {missing}; it has {list(df.columns)}. "
                         f"Fix: add the column(s) {required}")
    return df


def _row_lines(path: Path, n_rows: int) -> list[int] | None:
    """The file line of each data row of a table read by :func:`_read_csv` (comments and blank lines
    skipped), or None when that cannot be told (a quoted field spanning lines)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    kept = [n for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#") and line.strip()]
    return kept[1:] if len(kept) - 1 == n_rows else None


#: Evidence tags of a coefficient (as in the tables of configs/coefficients/): V value read in the source,
#: D derived by arithmetic from V values, M from memory of a widely cited figure (unconfirmed).
#: Combinations are written with '/' (e.g. ``V/D``); ``assumption`` marks a stated modelling
#: assumption (e.g. no net sink on barren land), its reasoning given in the source column.
EVIDENCE_TAGS = ("V", "D", "M", "assumption")


def evidence_tags(value) -> list[str]:
    """The tags of an evidence field: ``"V/D"`` -> ``['V', 'D']``, ``"[V->D]"`` -> ``['V', 'D']``."""
    text = "" if pd.isna(value) else str(value)
    return [t for t in text.replace("[", " ").replace("]", " ").replace("->", "/").replace(",", "/")
            .replace("/", " ").split() if t]


def _require_provenance(df: pd.DataFrame, path: Path, what: str, key: list[str]) -> None:
    """Every row of a coefficient table must name its source and carry an evidence tag.

    Raises
    ------
    InputError
        Naming the file, the line and key of each row with an empty ``source`` or ``evidence``.
    """
    def empty(col: str) -> pd.Series:
        return df[col].isna() | (df[col].astype(str).str.strip() == "")

    lacking = {c: empty(c) for c in ("source", "evidence")}
    bad = lacking["source"] | lacking["evidence"]
    if not bad.any():
        return
    lines = _row_lines(path, len(df))
    rows = []
    for pos in np.flatnonzero(bad.to_numpy()):
        where = f"line {lines[pos]}" if lines else f"data row {pos + 1}"
        cols = " and ".join(f"'{c}'" for c in ("source", "evidence") if lacking[c].iloc[pos])
        ident = ", ".join(str(df[k].iloc[pos]) for k in key if k in df)
        rows.append(f"{where} ({ident}): empty {cols}")
    shown = "; ".join(rows[:10]) + (f"; and {len(rows) - 10} more" if len(rows) > 10 else "")
    raise InputError(
        f"{path}: {len(rows)} {what} row(s) without provenance: {shown}. Every row needs the reference its "
        "value comes from (column 'source') and an evidence tag (column 'evidence': V = read in the source, "
        "D = derived by arithmetic from V values, M = from memory, unconfirmed, combined as e.g. 'V/D'; or "
        "'assumption' with the reasoning in 'source'). Fix: fill in the column(s) on those lines, as in "
        "configs/coefficients/default.csv")


@dataclass(frozen=True)
class Scheme:
    """A land-cover scheme: code -> ecosystem -> realm, with ecosystems numbered 0..n-1."""

    table: pd.DataFrame  # code, name, ecosystem, realm
    ecosystems: tuple[str, ...]  # ecosystem names; index = ecosystem code in the classified grid
    ecosystem_realm: tuple[str, ...]  # realm of each ecosystem
    source: str

    def with_ecosystems(self, other: "Scheme") -> "Scheme":
        """This scheme with the ecosystems of ``other`` it lacks appended (same codes, same indices for
        the ecosystems it has), so that two class rasters can share one ecosystem index."""
        realm = dict(zip(self.ecosystems, self.ecosystem_realm))
        clash = [e for e, r in zip(other.ecosystems, other.ecosystem_realm) if e in realm and realm[e] != r]
        if clash:
            raise InputError(f"{other.source}: ecosystem(s) {clash} have another realm than in {self.source}. "
                             "Fix: give each ecosystem the same realm in both schemes")
        new = [(e, r) for e, r in zip(other.ecosystems, other.ecosystem_realm) if e not in realm]
        return Scheme(self.table, self.ecosystems + tuple(e for e, _ in new),
                      self.ecosystem_realm + tuple(r for _, r in new), self.source)

    def lookup(self, size: int, ecosystems: tuple[str, ...] | None = None) -> np.ndarray:
        """Array mapping land-cover code -> ecosystem index (in ``ecosystems``, default this scheme's);
        -2 for codes the scheme lacks."""
        lut = np.full(size, -2, dtype=np.int16)
        index = {e: i for i, e in enumerate(ecosystems or self.ecosystems)}
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


def ecosystem_index(scheme: Scheme, other: Scheme) -> np.ndarray:
    """Index in ``scheme`` of each ecosystem of ``other`` (``scheme`` must include them: see
    :meth:`Scheme.with_ecosystems`)."""
    index = {e: i for i, e in enumerate(scheme.ecosystems)}
    return np.array([index[e] for e in other.ecosystems], dtype=np.int16)


def read_densities(path: Path, scheme: Scheme, pools: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Carbon-stock density [g C m-2] per ecosystem index, summed over ``pools``, for the stock-change
    method; and the rows used (converted to g C m-2, with their sources).

    Ecosystems outside the terrestrial realm hold no terrestrial stock (density 0). Every
    terrestrial ecosystem of the scheme needs a row for each pool.
    """
    df = _read_csv(path, ["ecosystem", "pool", "central", "low", "high", "units", "evidence", "source"],
                   "carbon density")
    _require_provenance(df, path, "carbon density", ["ecosystem", "pool"])
    from .config import POOLS

    bad = sorted(set(df["pool"]) - set(POOLS))
    if bad:
        raise InputError(f"{path}: unknown pool(s) {bad}. Pools are: {', '.join(POOLS)}")
    try:
        factor = df["units"].map(stock_factor)
    except UnitError as exc:
        raise UnitError(f"{path}: column 'units': {exc}") from None
    out = df.copy()
    for col in ("central", "low", "high"):
        out[col] = _numeric(out[col], path, col) * factor
    out["units"] = "g C m-2"
    out = out[out["pool"].isin(pools)]
    dens = np.zeros(len(scheme.ecosystems))
    missing = []
    for i, (eco, realm) in enumerate(zip(scheme.ecosystems, scheme.ecosystem_realm)):
        if realm != "terrestrial":
            continue
        rows = out[out["ecosystem"] == eco]
        lacking = [p for p in pools if p not in set(rows["pool"])]
        if lacking:
            missing.append(f"{eco} ({', '.join(lacking)})")
        dens[i] = rows["central"].sum()
    if missing:
        raise InputError(f"{path}: no carbon density for {'; '.join(missing)}. Fix: add rows (ecosystem, pool, "
                         "central, low, high, units, evidence, source), or restrict 'pools'")
    return dens, out[out["ecosystem"].isin(scheme.ecosystems)]


def read_non_co2(path: Path) -> pd.DataFrame:
    """Read the non-CO2 emission-factor table; rates converted to g of gas m-2 yr-1.

    Columns: ecosystem, gas (CH4, N2O), central, low, high, units (e.g. ``g CH4 m-2 yr-1``, or
    ``kg CH4 ha-1 d-1`` with ``season_days``), optional ``share`` (the fraction of the ecosystem's
    area the factor applies to, e.g. the paddy share of cropland; default 1), evidence, source.
    """
    df = _read_csv(path, ["ecosystem", "central", "low", "high", "units", "evidence", "source"],
                   "non-CO2 emission factor")
    _require_provenance(df, path, "non-CO2 emission factor", ["ecosystem", "gas"])
    out = df.copy()
    season = out["season_days"] if "season_days" in out else pd.Series(np.nan, index=out.index)
    gases, factors = [], []
    for units, days in zip(out["units"], season):
        try:
            gas, f = gas_rate_factor(units, None if pd.isna(days) else float(days))
        except UnitError as exc:
            raise UnitError(f"{path}: column 'units': {exc}") from None
        gases.append(gas)
        factors.append(f)
    out["gas"] = gases
    for col in ("central", "low", "high"):
        out[col] = _numeric(out[col], path, col) * np.array(factors)
    out["share"] = _numeric(out["share"], path, "share").fillna(1.0) if "share" in out else 1.0
    if ((out["share"] < 0) | (out["share"] > 1)).any():
        raise InputError(f"{path}: column 'share' must lie between 0 and 1")
    out["units"] = [f"g {g} m-2 yr-1" for g in gases]
    return out


def read_inorganic(path: Path) -> pd.DataFrame:
    """Read the inorganic-carbon sink table (realm, ecosystem, central, low, high, units, optional
    share, evidence, source); rates converted to g C m-2 yr-1, sink positive."""
    df = _read_csv(path, ["realm", "ecosystem", "central", "low", "high", "units", "evidence", "source"],
                   "inorganic carbon")
    _require_provenance(df, path, "inorganic carbon", ["realm", "ecosystem"])
    out = df.copy()
    try:
        factor = out["units"].map(density_factor)
    except UnitError as exc:
        raise UnitError(f"{path}: column 'units': {exc}") from None
    for col in ("central", "low", "high"):
        out[col] = _numeric(out[col], path, col) * factor
    out["share"] = _numeric(out["share"], path, "share").fillna(1.0) if "share" in out else 1.0
    out["units"] = "g C m-2 yr-1"
    return out


def read_coefficients(path: Path) -> pd.DataFrame:
    """Read the coefficient table; returns one row per (realm, ecosystem, flux) with the rates
    converted to g C m-2 yr-1 (columns ``central``, ``low``, ``high``) and their sources."""
    df = _read_csv(path, ["realm", "ecosystem", "flux", "central", "low", "high", "units", "evidence", "source"],
                   "coefficient")
    _require_provenance(df, path, "coefficient", ["realm", "ecosystem", "flux"])
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
        out[col] = _numeric(out[col], path, col) * factor
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
                      year: int | None, what: str, sector_field: str | None = None) -> tuple[pd.Series, int]:
    """Read a per-region table; return the values of one year indexed by region id, and the year.
    With ``sector_field``, rows are per (region, sector) and summed per region (the detail is in
    ``series.attrs["by_sector"]``)."""
    df = _read_csv(path, [region_field, value_field, year_field] + ([sector_field] if sector_field else []), what,
                   dtype={region_field: str})
    if sector_field:
        df = df.assign(**{value_field: _numeric(df[value_field], path, value_field)})
        detail = df[[year_field, region_field, sector_field, value_field]]
        df = df.groupby([year_field, region_field], as_index=False)[value_field].sum(min_count=1)
    years = sorted(int(y) for y in df[year_field].unique())
    use = int(year if year is not None else years[-1])
    if use not in years:
        raise InputError(f"{path}: no rows for year {use} in the {what} table; years present: {years}. "
                         "Fix: set the 'year' key to one of them")
    sel = df[df[year_field] == use]
    dup = sel[region_field][sel[region_field].duplicated()].tolist()
    if dup:
        raise InputError(f"{path}: region(s) {dup} appear more than once for {use} in the {what} table. Fix: one "
                         "row per region and year, or name the sector column ('sector_field') to sum sectors")
    out = sel.set_index(sel[region_field].astype(str))[value_field].astype(float)
    if sector_field:
        out.attrs["by_sector"] = detail[detail[year_field] == use].rename(
            columns={region_field: "region_key", sector_field: "sector", value_field: "value"})
    return out, use


def read_region_table_years(path: Path, region_field: str, value_field: str, year_field: str,
                            years: list[int], what: str) -> pd.DataFrame:
    """A per-region table for several years: a (year x region id) frame; a year the table lacks is
    an error naming the years it has, a region missing in a year is NaN (missing, never zero)."""
    df = _read_csv(path, [region_field, value_field, year_field], what, dtype={region_field: str})
    have = sorted(int(y) for y in df[year_field].unique())
    lacking = [y for y in years if y not in have]
    if lacking:
        raise InputError(f"{path}: no rows for year(s) {lacking} in the {what} table; years present: {have}. "
                         "Fix: set 'balance.years' to years the table has")
    sel = df[df[year_field].isin(years)]
    dup = sel[sel.duplicated([year_field, region_field])]
    if not dup.empty:
        raise InputError(f"{path}: region(s) {sorted(set(dup[region_field]))} appear more than once in a year of the "
                         f"{what} table. Fix: one row per region and year")
    values = _numeric(sel[value_field], path, value_field)
    wide = sel.assign(**{value_field: values}).pivot(index=year_field, columns=region_field, values=value_field)
    return wide.reindex(years)


def _numeric(col: pd.Series, path: Path, name: str) -> pd.Series:
    """A column as numbers; text that is not a number is an error naming the column and the values."""
    out = pd.to_numeric(col, errors="coerce")
    bad = col[out.isna() & col.notna()]
    if not bad.empty:
        raise InputError(f"{path}: column '{name}' holds values that are not numbers: {sorted(set(map(str, bad)))[:5]}. "
                         "Fix: write plain numbers (a dot as decimal separator), or leave the cell empty for missing")
    return out


def read_ccus(path: Path) -> pd.DataFrame:
    """CCUS capture per year: columns year, region (empty or 'national' for a national figure),
    ccus_MtCO2 [Mt CO2 yr-1]."""
    df = _read_csv(path, ["year", "region", "ccus_MtCO2"], "CCUS", dtype={"region": str})
    df = df.copy()
    df["region"] = df["region"].fillna("national")
    df["ccus_MtCO2"] = _numeric(df["ccus_MtCO2"], path, "ccus_MtCO2").fillna(0.0)
    if (df["ccus_MtCO2"] < 0).any():
        raise InputError(f"{path}: column 'ccus_MtCO2' must be >= 0 (capture, Mt CO2 yr-1)")
    return df

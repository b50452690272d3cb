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


#: Where a coefficient's low/high range comes from (column ``range_basis``), each phrase optionally followed
#: by ``": detail"``. The range is that of the quantity used: the mean rate over a region, not the spread of
#: individual sites. ``expert judgement (unconfirmed [M])`` is at least +-50 % around the unconfirmed value.
RANGE_BASES = ("standard error", "spread of published regional means", "IPCC default range", "source range",
               "expert judgement (unconfirmed [M])", "none (assumption)")
#: What tables/coefficients.csv shows for the rows of a user table that does not state a range's basis.
NOT_STATED = "not stated"
#: The folder of the coefficient tables shipped with the project: each of their rows must state its basis.
SHIPPED_COEFFICIENTS = Path(__file__).resolve().parents[1] / "configs" / "coefficients"


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is one of the coefficient tables shipped in ``configs/coefficients/``."""
    try:
        return Path(path).resolve().parent == SHIPPED_COEFFICIENTS
    except OSError:
        return False


def range_basis(df: pd.DataFrame, path: Path, key: list[str]) -> pd.Series:
    """The ``range_basis`` of every row, each a phrase of :data:`RANGE_BASES` (as spelled there) with
    its optional ``": detail"``; ``"not stated"`` for rows of a user table without one.

    Raises
    ------
    InputError
        For a shipped table without the column or with an empty cell, and for any table with a cell
        whose phrase is unknown: naming the file, the line, the column and the accepted phrases.
    """
    shipped = is_shipped(path)
    accepted = "; ".join(f"'{p}'" for p in RANGE_BASES)
    if "range_basis" not in df:
        if shipped:
            raise InputError(f"{path}: the shipped coefficient table lacks column 'range_basis'. Fix: add it, one of "
                             f"{accepted} on each row, optionally followed by ': detail'")
        return pd.Series(NOT_STATED, index=df.index)
    lines = _row_lines(path, len(df))
    out, bad = [], []
    for pos, value in enumerate(df["range_basis"]):
        text = "" if pd.isna(value) else str(value).strip()
        head, _, detail = text.partition(":")
        phrase = next((p for p in RANGE_BASES if head.strip().lower() == p.lower()), None)
        if not text and not shipped:
            out.append(NOT_STATED)
            continue
        if phrase is None:
            where = f"line {lines[pos]}" if lines else f"data row {pos + 1}"
            ident = ", ".join(str(df[k].iloc[pos]) for k in key if k in df)
            bad.append(f"{where} ({ident}): " + (f"unknown basis '{text}'" if text else "empty"))
            out.append(None)
            continue
        out.append(phrase + (f": {detail.strip()}" if detail.strip() else ""))
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise InputError(f"{path}: column 'range_basis': {shown}. Fix: write one of {accepted}, optionally followed "
                         "by ': detail' (e.g. 'source range: 6.9 +/- 4.0 mmol m-2 d-1')")
    return pd.Series(out, index=df.index)


def draw_groups(df: pd.DataFrame) -> pd.Series:
    """The optional ``draw_group`` of every row (text, or None: the row is drawn on its own). Rows of one
    table sharing a group are one uncertain number in the Monte Carlo (the same quantile in every draw)."""
    if "draw_group" not in df:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    return df["draw_group"].map(lambda v: None if pd.isna(v) or not str(v).strip() else str(v).strip())


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
    terrestrial ecosystem of the scheme needs a row for each pool. Columns ``range_basis`` (required in the
    shipped tables, see :func:`range_basis`) and ``draw_group`` (optional, see :func:`draw_groups`) are kept.
    """
    df = _read_csv(path, ["ecosystem", "pool", "central", "low", "high", "units", "evidence", "source"],
                   "carbon density")
    _require_provenance(df, path, "carbon density", ["ecosystem", "pool"])
    df = df.assign(range_basis=range_basis(df, path, ["ecosystem", "pool"]), draw_group=draw_groups(df))
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
    _check_ranges(out, path)
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


#: IPCC 2019 Refinement Vol.4 Ch.5 Table 5.12 (updated; disaggregated case, irrigated rice): the water-regime
#: scaling factor SFw of the daily CH4 emission factor of continuously flooded fields, as (central, low, high), the
#: table's error range [V] (read in a transcription of the table, p. 5.54). Single drainage: one drainage period
#: in the season besides the end-of-season drainage (e.g. mid-season drainage); multiple drainage: more than one,
#: alternate wetting and drying included. Paddy rates are multiplied by the central value (range not propagated).
WATER_REGIME_SF: dict[str, tuple[float, float, float]] = {
    "continuously_flooded": (1.00, 0.73, 1.27),
    "single_drainage": (0.71, 0.53, 0.94),
    "multiple_drainage": (0.55, 0.41, 0.72),
}


def _paddy_scaling(df: pd.DataFrame, path: Path, water_regime: str | None) -> np.ndarray:
    """Set the columns ``water_regime``, ``sf_water``, ``sf_preseason`` and ``sf_organic`` of a non-CO2 table
    (in place) and return their product per row (1 for rows without any)."""
    raw = df["water_regime"] if "water_regime" in df else pd.Series(np.nan, index=df.index)
    regime = raw.map(lambda v: "" if pd.isna(v) else " ".join(str(v).split()))
    bad = sorted(set(regime) - set(WATER_REGIME_SF) - {""})
    if bad:
        raise InputError(f"{path}: column 'water_regime' holds unknown regime(s) {bad}."
                         f"{did_you_mean(bad[0], WATER_REGIME_SF)} Fix: write one of {', '.join(WATER_REGIME_SF)} "
                         "(IPCC 2019 Refinement Vol.4 Ch.5 Table 5.12), or leave it empty for rows without one")
    if water_regime is not None:
        if not (regime != "").any():
            from .errors import ConfigError

            raise ConfigError(f"non_co2.water_regime is '{water_regime}', but {path} has no row with a water regime "
                              "(column 'water_regime', filled for the rice-paddy rows). Fix: fill the column for "
                              "the paddy rows (e.g. continuously_flooded), or remove non_co2.water_regime")
        regime = regime.where(regime == "", water_regime)
    df["water_regime"] = regime
    df["sf_water"] = [WATER_REGIME_SF[r][0] if r else 1.0 for r in regime]
    for col in ("sf_preseason", "sf_organic"):
        df[col] = _numeric(df[col], path, col).fillna(1.0) if col in df else 1.0
        if (df[col] <= 0).any():
            raise InputError(f"{path}: column '{col}' must be positive (a scaling factor; empty or 1 for none)")
    return (df["sf_water"] * df["sf_preseason"] * df["sf_organic"]).to_numpy(dtype=float)


def read_non_co2(path: Path, water_regime: str | None = None) -> pd.DataFrame:
    """Read the non-CO2 emission-factor table; rates converted to g of gas m-2 yr-1.

    Columns: ecosystem, gas (CH4, N2O), central, low, high, units (e.g. ``g CH4 m-2 yr-1``, or
    ``kg CH4 ha-1 d-1`` with ``season_days``), optional ``share`` (the fraction of the ecosystem's
    area the factor applies to, e.g. the paddy share of cropland; default 1), evidence, source; optional
    ``range_basis`` (what the low-high range stands for, kept as read). Rice paddies follow IPCC 2019
    Refinement Vol.4 Ch.5 Eq. 5.2, EF = EFc x SFw x SFp x SFo: optional columns ``water_regime`` (a key
    of :data:`WATER_REGIME_SF`, which gives SFw; empty for rows without one, e.g. wetlands),
    ``sf_preseason`` (SFp) and ``sf_organic`` (SFo), dimensionless, empty or 1 for none.

    ``water_regime`` (the config's ``non_co2.water_regime``) replaces the regime of every row that has
    one. The returned rates include the scaling factors (columns ``sf_water``, ``sf_preseason``,
    ``sf_organic`` and ``water_regime`` say which), and the source of each scaled row says so.
    """
    df = _read_csv(path, ["ecosystem", "central", "low", "high", "units", "evidence", "source"],
                   "non-CO2 emission factor")
    _require_provenance(df, path, "non-CO2 emission factor", ["ecosystem", "gas"])
    out = df.assign(range_basis=range_basis(df, path, ["ecosystem", "gas"]), draw_group=draw_groups(df))
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
    scaling = _paddy_scaling(out, path, water_regime)
    for col in ("central", "low", "high"):
        out[col] = _numeric(out[col], path, col) * np.array(factors) * scaling
    _check_ranges(out, path)
    out["share"] = _numeric(out["share"], path, "share").fillna(1.0) if "share" in out else 1.0
    if ((out["share"] < 0) | (out["share"] > 1)).any():
        raise InputError(f"{path}: column 'share' must lie between 0 and 1")
    scaled = scaling != 1.0
    out.loc[scaled, "source"] = [
        f"{src} [rate applied x SFw {w:g} ({r or 'no water regime'}) x SFp {p:g} x SFo {o:g}]"
        for src, w, r, p, o in out.loc[scaled, ["source", "sf_water", "water_regime", "sf_preseason",
                                                 "sf_organic"]].itertuples(index=False)]
    out["units"] = [f"g {g} m-2 yr-1" for g in gases]
    return out


def read_inorganic(path: Path) -> pd.DataFrame:
    """Read the inorganic-carbon sink table (realm, ecosystem, central, low, high, units, optional
    share with its optional range share_low/share_high, evidence, source, range_basis, optional
    draw_group); rates converted to g C m-2 yr-1, sink positive."""
    df = _read_csv(path, ["realm", "ecosystem", "central", "low", "high", "units", "evidence", "source"],
                   "inorganic carbon")
    _require_provenance(df, path, "inorganic carbon", ["realm", "ecosystem"])
    out = df.assign(range_basis=range_basis(df, path, ["realm", "ecosystem"]), draw_group=draw_groups(df))
    try:
        factor = out["units"].map(density_factor)
    except UnitError as exc:
        raise UnitError(f"{path}: column 'units': {exc}") from None
    for col in ("central", "low", "high"):
        out[col] = _numeric(out[col], path, col) * factor
    _check_ranges(out, path)
    out["share"] = _numeric(out["share"], path, "share").fillna(1.0) if "share" in out else 1.0
    for col in ("share_low", "share_high"):  # the share's own range (default: none)
        out[col] = _numeric(out[col], path, col).fillna(out["share"]) if col in out else out["share"]
    for col in ("share", "share_low", "share_high"):
        if ((out[col] < 0) | (out[col] > 1)).any():
            raise InputError(f"{path}: column '{col}' must lie between 0 and 1 (a fraction of the ecosystem's area)")
    wrong = (out["share_low"] > out["share"]) | (out["share_high"] < out["share"])
    if wrong.any():
        raise InputError(f"{path}: columns 'share_low' <= 'share' <= 'share_high' do not hold for ecosystem(s) "
                         f"{out.loc[wrong, 'ecosystem'].tolist()}. Fix: the share's range must contain the share")
    out["units"] = "g C m-2 yr-1"
    return out


def read_coefficients(path: Path) -> pd.DataFrame:
    """Read the coefficient table; returns one row per (realm, ecosystem, flux) with the rates
    converted to g C m-2 yr-1 (columns ``central``, ``low``, ``high``), their sources, the basis of
    each range (``range_basis``: :func:`range_basis`) and the optional ``draw_group`` (:func:`draw_groups`)."""
    df = _read_csv(path, ["realm", "ecosystem", "flux", "central", "low", "high", "units", "evidence", "source"],
                   "coefficient")
    _require_provenance(df, path, "coefficient", ["realm", "ecosystem", "flux"])
    df = df.assign(range_basis=range_basis(df, path, ["realm", "ecosystem", "flux"]), draw_group=draw_groups(df))
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
    _check_ranges(out, path)
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


def _check_values(sel: pd.DataFrame, values: pd.Series, path: Path, region_field: str, value_field: str,
                  what: str, allow_negative: bool) -> None:
    """Population must be positive; emissions must not be negative unless declared (``allow_negative``,
    e.g. a region whose inventory is a net removal): an error naming the file, the column and the rows."""
    if what == "population":
        bad, rule = values <= 0, "must be positive (a per-capita figure divides by it)"
    elif what == "emissions" and not allow_negative:
        bad, rule = values < 0, "must not be negative"
    else:
        return
    bad = bad.fillna(False).to_numpy()
    if bad.any():
        rows = [f"{r} ({v:g})" for r, v in zip(sel[region_field].to_numpy()[bad], values.to_numpy()[bad])][:5]
        fix = ("remove or correct those rows" if what == "population" else
               "correct those rows, or set 'emissions.allow_negative: true' if the inventory reports a net removal")
        raise InputError(f"{path}: column '{value_field}' of the {what} table {rule}; found {', '.join(rows)}. "
                         f"Fix: {fix}")


def read_region_table(path: Path, region_field: str, value_field: str, year_field: str,
                      year: int | None, what: str, sector_field: str | None = None,
                      allow_negative: bool = False) -> tuple[pd.Series, int]:
    """Read a per-region table; return the values of one year indexed by region id, and the year.
    With ``sector_field``, rows are per (region, sector) and summed per region (the detail is in
    ``series.attrs["by_sector"]``). Negative emissions (unless ``allow_negative``) and a population that
    is not positive are errors."""
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
    values = _numeric(sel[value_field], path, value_field).astype(float)
    _check_values(sel, values, path, region_field, value_field, what, allow_negative)
    out = values.set_axis(sel[region_field].astype(str).to_numpy()).rename(value_field)
    if sector_field:
        out.attrs["by_sector"] = detail[detail[year_field] == use].rename(
            columns={region_field: "region_key", sector_field: "sector", value_field: "value"})
    return out, use


def read_region_table_years(path: Path, region_field: str, value_field: str, year_field: str,
                            years: list[int], what: str, allow_negative: bool = False) -> pd.DataFrame:
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
    _check_values(sel, values, path, region_field, value_field, what, allow_negative)
    wide = sel.assign(**{value_field: values}).pivot(index=year_field, columns=region_field, values=value_field)
    return wide.reindex(years)


def _check_ranges(df: pd.DataFrame, path: Path) -> None:
    """Every row's central, low and high are numbers with low <= central <= high, or an error naming the file,
    its line and the column (an empty or NaN cell would zero a sink; a reversed range would collapse the
    uncertainty). ``df`` holds the table's data rows in file order."""
    lines = _row_lines(path, len(df)) or [None] * len(df)
    for k, (_, row) in enumerate(df.iterrows()):
        at = f"{path}, line {lines[k]}" if lines[k] else f"{path}, data row {k + 1}"
        for col in ("central", "low", "high"):
            if pd.isna(row[col]) or not np.isfinite(row[col]):
                raise InputError(f"{at}: column '{col}' is empty or not a finite number. Fix: give the value (for "
                                 "a coefficient without a range, repeat the central value as low and high)")
        if row["low"] > row["high"]:
            raise InputError(f"{at}: column 'low' ({row['low']:g}) is greater than 'high' ({row['high']:g}). "
                             "Fix: swap them (low is the smaller end of the range)")
        if not row["low"] <= row["central"] <= row["high"]:
            raise InputError(f"{at}: column 'central' ({row['central']:g}) lies outside [low, high] = "
                             f"[{row['low']:g}, {row['high']:g}]. Fix: correct the value or widen the range")


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

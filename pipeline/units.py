"""Units and signs: the only module that knows unit strings and conversion factors.

Internal density is **g C m-2 yr-1**, mass **Mg C** (= t C), reported totals **Mt CO2 yr-1**
(= Tg CO2 yr-1). Dimensional arithmetic (kg -> g, s -> yr, ha -> m2) is done by one pint
registry; the chemistry (C <-> CO2, mol C -> g C) is written here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pint

from .errors import UnitError


def _registry() -> pint.UnitRegistry:
    """pint's default registry, its parsed definitions kept in pint's own cache (the user's cache
    folder, keyed by the definitions' content: 0.02 s instead of 0.4 s per process); parsed afresh
    when that folder cannot be used."""
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except Exception:  # an unwritable or damaged cache only costs time
        return pint.UnitRegistry()


#: The unit registry shared by the whole package. pint's ``year`` is the Julian year
#: (365.25 d = 31,557,600 s), the year of the Global Carbon Budget's per-second grids.
ureg = _registry()

#: Internal density unit of every sink layer.
DENSITY_UNITS = "g C m-2 yr-1"
#: Molar mass of carbon [g mol-1] (IUPAC standard atomic weight, conventional value).
MOLAR_MASS_C = 12.011
#: Mass ratio CO2 / C [g CO2 per g C] (44/12, molar masses rounded as in IPCC practice).
CO2_PER_C = 44.0 / 12.0
#: Sign conventions an input may declare.
SIGN_CONVENTIONS = ("uptake_positive", "emission_positive")


@dataclass(frozen=True)
class _Density:
    """How one accepted density unit string maps to g C m-2 yr-1."""

    pint_expr: str  # dimensional part: a mass or an amount of substance per area per time
    chem: float = 1.0  # g C per g of the declared substance (1 for carbon, 12/44 for CO2)


#: Accepted density units (the spelling users write in configs and file tags).
_DENSITY_UNITS: dict[str, _Density] = {
    "g C m-2 yr-1": _Density("g / m**2 / year"),
    "kg C m-2 yr-1": _Density("kg / m**2 / year"),
    "kg C m-2 s-1": _Density("kg / m**2 / s"),
    "Mg C ha-1 yr-1": _Density("Mg / hectare / year"),
    "t C ha-1 yr-1": _Density("Mg / hectare / year"),
    "t C km-2 yr-1": _Density("Mg / km**2 / year"),
    "mol C m-2 yr-1": _Density("mol / m**2 / year"),
    "mol C m-2 s-1": _Density("mol / m**2 / s"),
    "mmol C m-2 d-1": _Density("mmol / m**2 / day"),
    "g CO2 m-2 yr-1": _Density("g / m**2 / year", chem=1.0 / CO2_PER_C),
}

#: Plausible range of |sink density| per realm [g C m-2 yr-1], after conversion. Wider than any
#: published value (forest eddy-covariance NEP reaches ~400, Tibetan rivers outgas ~1,300).
PLAUSIBLE_ABS_MAX = {"terrestrial": 3000.0, "inland_water": 5000.0, "ocean": 1000.0}


def accepted_density_units() -> list[str]:
    """Return the density unit strings the pipeline accepts."""
    return list(_DENSITY_UNITS)


#: Per-pixel totals ("kind: total"): a mass of carbon or CO2 per pixel per year. They are turned
#: into densities on the source grid (divided by the source pixel's area) before any resampling.
_TOTAL_MASSES = {"g": "g", "kg": "kg", "Mg": "Mg", "t": "Mg", "Gg": "Gg", "Tg": "Tg"}
_TOTAL_UNITS = {f"{m} {sub} yr-1 per pixel": (expr, chem) for m, expr in _TOTAL_MASSES.items()
                for sub, chem in (("C", 1.0), ("CO2", 1.0 / CO2_PER_C))}


def accepted_total_units() -> list[str]:
    """Return the per-pixel total unit strings the pipeline accepts (e.g. ``Tg C yr-1 per pixel``)."""
    return list(_TOTAL_UNITS)


def accepted_flux_units() -> list[str]:
    """Density units and per-pixel total units."""
    return accepted_density_units() + accepted_total_units()


def is_total(units: str) -> bool:
    """True if ``units`` is a per-pixel total rather than a density."""
    return " ".join(str(units).split()) in _TOTAL_UNITS


@cache
def total_factor(units: str) -> float:
    """Return the factor converting a per-pixel total in ``units`` to g C yr-1 per pixel."""
    spec = _TOTAL_UNITS.get(" ".join(str(units).split()))
    if spec is None:
        raise UnitError(f"unknown per-pixel total units '{units}'. Accepted: {', '.join(_TOTAL_UNITS)}")
    expr, chem = spec
    return float(ureg.Quantity(1.0, expr).to("g").magnitude) * chem


@cache
def density_factor(units: str) -> float:
    """Return the factor that converts a density in ``units`` to g C m-2 yr-1.

    Raises
    ------
    UnitError
        If ``units`` is not one of :func:`accepted_density_units`.
    """
    spec = _DENSITY_UNITS.get(" ".join(str(units).split()))
    if spec is None:
        raise UnitError(
            f"unknown units '{units}'. Accepted density units: {', '.join(_DENSITY_UNITS)}. "
            "Fix: declare one of these in the config (key 'units') or convert the raster."
        )
    q = ureg.Quantity(1.0, spec.pint_expr)
    if q.check("[substance] / [length] ** 2 / [time]"):
        # amount of carbon: mol -> g C by the molar mass of carbon
        return float(q.to("mol / m**2 / year").magnitude) * MOLAR_MASS_C
    return float(q.to("g / m**2 / year").magnitude) * spec.chem


def sign_factor(sign_convention: str) -> float:
    """Return +1 for ``uptake_positive`` and -1 for ``emission_positive`` (e.g. NEE)."""
    if sign_convention == "uptake_positive":
        return 1.0
    if sign_convention == "emission_positive":
        return -1.0
    raise UnitError(
        f"unknown sign convention '{sign_convention}'. Accepted: {', '.join(SIGN_CONVENTIONS)} "
        "(NEE and sea-to-air fluxes are emission_positive)."
    )


#: Typical largest |sink density| in a correctly declared raster of each realm [g C m-2 yr-1]: the
#: scale a rescaled maximum is compared with when guessing the units a file really uses. Forest NEP
#: reaches a few hundred (eddy covariance ~400); lake burial tops out near 260 and river outgassing
#: runs 100-1,300; blue-carbon burial is 80-230 and shelf air-sea uptake ~30.
PLAUSIBLE_TYPICAL_MAX = {"terrestrial": 300.0, "inland_water": 300.0, "ocean": 100.0}
#: A raster whose largest |value| falls below PLAUSIBLE_ABS_MAX / PLAUSIBLE_SPAN is implausibly
#: *small*: such rescalings are not suggested (a flux raster of a realm has some pixel above 1-5).
PLAUSIBLE_SPAN = 1000.0


def _unit_family(units: str) -> tuple[list[str], object] | None:
    """The accepted units of the same kind as ``units`` (densities or per-pixel totals) and the
    factor function of that kind; None for an unknown unit."""
    if is_total(units):
        return accepted_total_units(), total_factor
    if units in _DENSITY_UNITS:
        return accepted_density_units(), density_factor
    return None


def likely_units(max_abs: float, realm: str, units: str) -> tuple[list[str], float] | None:
    """The accepted units (of the kind of ``units``) the file most likely uses, given that its largest
    |value| read as ``units`` is ``max_abs`` g C m-2 yr-1.

    Re-reading the same numbers in another unit ``v`` multiplies the converted maximum by
    factor(v) / factor(units). Candidates are the units that bring it into the realm's plausible
    range [PLAUSIBLE_ABS_MAX / PLAUSIBLE_SPAN, PLAUSIBLE_ABS_MAX]; the best is the one closest (in
    orders of magnitude) to :data:`PLAUSIBLE_TYPICAL_MAX`. Units of the same scale (``g C m-2 yr-1``
    and ``t C km-2 yr-1``) are returned together. Returns (units, rescaled maximum), or None when no
    accepted unit makes the maximum plausible.
    """
    units = " ".join(str(units).split())
    family = _unit_family(units)
    if family is None or not np.isfinite(max_abs) or max_abs <= 0:
        return None
    names, factor = family
    hi = PLAUSIBLE_ABS_MAX[realm]
    lo, typical = hi / PLAUSIBLE_SPAN, PLAUSIBLE_TYPICAL_MAX[realm]
    groups: list[tuple[float, list[str]]] = []  # (rescaled maximum, units of that scale)
    for other in names:
        if other == units:
            continue
        rescaled = max_abs * factor(other) / factor(units)
        if not lo <= rescaled <= hi:
            continue
        for m, group in groups:
            if np.isclose(m, rescaled, rtol=1e-9, atol=0):
                group.append(other)
                break
        else:
            groups.append((rescaled, [other]))
    if not groups:
        return None
    rescaled, best = min(groups, key=lambda g: abs(np.log10(g[0] / typical)))
    return best, rescaled


def _mistake(declared: str, meant: str) -> str:
    """The words that differ between two unit strings, as "'kg' written for 'g'"."""
    a, b = declared.split(), meant.split()
    if len(a) != len(b):
        return f"'{declared}' written for '{meant}'"
    return ", ".join(f"'{x}' written for '{y}'" for x, y in zip(a, b) if x != y)


def check_plausible(max_abs: float, realm: str, units: str, source: str) -> None:
    """Fail with the likely mistake when a converted density is implausibly large.

    ``max_abs`` is the largest |value| after conversion to g C m-2 yr-1 (per-pixel totals: after
    division by the source pixel's area). The hint names the accepted unit of the same kind in which
    the file's numbers would be plausible (see :func:`likely_units`), or says that no unit would.
    """
    limit = PLAUSIBLE_ABS_MAX[realm]
    if not (np.isfinite(max_abs) and max_abs > limit):
        return
    units = " ".join(str(units).split())
    ratio = max_abs / limit
    guess = likely_units(max_abs, realm, units)
    if guess is not None:
        best, rescaled = guess
        family = _unit_family(units)
        scale = family[1](units) / family[1](best[0])
        same = f" (or as {' or '.join(repr(b) for b in best[1:])}, the same scale)" if len(best) > 1 else ""
        hint = (f" Is the raster perhaps in '{best[0]}' rather than '{units}'? Read so{same}, its maximum is "
                f"{rescaled:,.3g} g C m-2 yr-1, a plausible value; as declared, every value is {scale:,.4g}x too "
                f"{'large' if scale > 1 else 'small'} (likely mistake: {_mistake(units, best[0])}).")
        fix = "Fix: declare the units the file really uses."
    else:
        kind = "per-pixel total" if is_total(units) else "density"
        hint = (f" No accepted {kind} unit brings this maximum within the plausible "
                f"{limit / PLAUSIBLE_SPAN:,.3g}-{limit:,.0f} g C m-2 yr-1, so the unit name is probably not the "
                "mistake: check the nodata value (an undeclared fill value such as -9999 or 1e20 reads as data), "
                "a scale factor or offset in the file, and that the layer is a flux of this realm at all.")
        fix = "Fix: declare the file's nodata value (key 'nodata') or correct the file, then its units."
    big = f"{max_abs:,.0f}" if max_abs < 1e15 else f"{max_abs:.3g}"
    times = f"{ratio:,.0f}" if ratio < 1e15 else f"{ratio:.3g}"
    raise UnitError(
        f"{source}: values reach {big} g C m-2 yr-1 after conversion from '{units}', "
        f"{times}x the plausible maximum for the {realm} realm ({limit:,.0f}).{hint} {fix}"
    )


# --- carbon stocks (stock-difference method) -------------------------------------------------
#: Accepted carbon-stock density units -> pint expression of their mass per area (carbon).
_STOCK_UNITS = {"g C m-2": "g / m**2", "kg C m-2": "kg / m**2", "Mg C ha-1": "Mg / hectare",
                "t C ha-1": "Mg / hectare"}


def accepted_stock_units() -> list[str]:
    """Return the carbon-stock density unit strings accepted in density tables."""
    return list(_STOCK_UNITS)


@cache
def stock_factor(units: str) -> float:
    """Return the factor converting a carbon-stock density in ``units`` to g C m-2.

    Raises
    ------
    UnitError
        If ``units`` is not one of :func:`accepted_stock_units`.
    """
    expr = _STOCK_UNITS.get(" ".join(str(units).split()))
    if expr is None:
        raise UnitError(f"unknown stock units '{units}'. Accepted: {', '.join(_STOCK_UNITS)}")
    return float(ureg.Quantity(1.0, expr).to("g / m**2").magnitude)


# --- non-CO2 gases ----------------------------------------------------------------------------
#: Mass of the gas per mass of its element: CH4 per CH4-C (16/12), N2O per N2O-N (44/28).
GAS_PER_ELEMENT = {"CH4-C": ("CH4", 16.0 / 12.0), "N2O-N": ("N2O", 44.0 / 28.0)}
#: 100-year global warming potentials (kg CO2e per kg of gas). AR6: IPCC AR6 WG1 Ch.7 Table 7.15
#: (CH4 of non-fossil origin, as emitted by wetlands and paddies; N2O). AR5: IPCC AR5 WG1 Ch.8
#: Table 8.7 (without climate-carbon feedbacks).
GWP100 = {"AR6": {"CH4": 27.0, "N2O": 273.0}, "AR5": {"CH4": 28.0, "N2O": 265.0}}
#: Accepted emission-rate units of a gas: (pint expression per area per time, per-day rate?).
_GAS_RATE_UNITS = {"g {gas} m-2 yr-1": ("g / m**2 / year", False), "kg {gas} ha-1 yr-1": ("kg / hectare / year", False),
                   "kg {gas} ha-1 d-1": ("kg / hectare / day", True), "mg {gas} m-2 d-1": ("mg / m**2 / day", True),
                   "mg {gas} m-2 h-1": ("mg / m**2 / hour", True)}
_GASES = ("CH4", "N2O", "CH4-C", "N2O-N")


def accepted_gas_units() -> list[str]:
    """Return the accepted emission-rate units of CH4 and N2O (also as CH4-C and N2O-N)."""
    return [u.format(gas=g) for g in _GASES for u in _GAS_RATE_UNITS]


def gas_rate_factor(units: str, season_days: float | None = None) -> tuple[str, float]:
    """Return (gas, factor) converting an emission rate in ``units`` to g of that gas m-2 yr-1.

    Rates per day or hour are multiplied by ``season_days`` (the emitting season, e.g. a rice
    growing period) when given, else by the days of a year (365.25).

    Raises
    ------
    UnitError
        If ``units`` is not one of :func:`accepted_gas_units`.
    """
    units = " ".join(str(units).split())
    for gas in _GASES:
        for pattern, (expr, per_day) in _GAS_RATE_UNITS.items():
            if units == pattern.format(gas=gas):
                q = ureg.Quantity(1.0, expr)
                if per_day and season_days is not None:
                    factor = float(q.to("g / m**2 / day").magnitude) * float(season_days)
                else:
                    factor = float(q.to("g / m**2 / year").magnitude)
                name, ratio = GAS_PER_ELEMENT.get(gas, (gas, 1.0))
                return name, factor * ratio
    raise UnitError(f"unknown gas emission units '{units}'. Accepted: {', '.join(accepted_gas_units())}")


def gwp100(gas: str, gwp_set: str) -> float:
    """The 100-year global warming potential of ``gas`` in the declared set (AR6 or AR5)."""
    if gwp_set not in GWP100:
        raise UnitError(f"unknown GWP set '{gwp_set}'. Accepted: {', '.join(GWP100)}")
    return GWP100[gwp_set][gas]


# --- masses ---------------------------------------------------------------------------------
#: g -> Mg
G_PER_MG = 1.0e6
#: Mg -> Mt
MG_PER_MT = 1.0e6


def grams_to_Mg(grams):
    """Convert a mass in g to Mg (= t)."""
    return grams / G_PER_MG


def MgC_to_MtCO2(mg_c):
    """Convert Mg C to Mt CO2 (x 44/12, x 1e-6)."""
    return mg_c * CO2_PER_C / MG_PER_MT


def m2_to_km2(m2):
    """Convert an area in m2 to km2."""
    return m2 / 1.0e6


def Mt_to_t(mt):
    """Convert a mass in Mt to t (= Mg)."""
    return mt * MG_PER_MT


def km2_to_m2(km2):
    """Convert an area in km2 to m2."""
    return km2 * 1.0e6


def g_gas_to_MtCO2e(grams, gas: str, gwp_set: str):
    """Convert a mass of CH4 or N2O in g to Mt CO2-equivalent with the declared GWP100 set."""
    return grams * gwp100(gas, gwp_set) / G_PER_MG / MG_PER_MT


def gC_to_MtCO2(grams):
    """Convert g C to Mt CO2."""
    return MgC_to_MtCO2(grams_to_Mg(grams))


# --- national mass rates (published estimates) ---------------------------------------------------
#: Mass units of a published rate -> the pint unit of that mass (a tonne is a megagram).
_MASS = {"Pg": "Pg", "Gt": "Pg", "Tg": "Tg", "Mt": "Tg", "Gg": "Gg", "kt": "Gg", "Mg": "Mg", "t": "Mg"}
_RATE = re.compile(r"(Pg|Gt|Tg|Mt|Gg|kt|Mg|t) (C|CO2|CO2e) yr-1")


def accepted_rate_units() -> list[str]:
    """Units a published national rate may be given in (e.g. ``Pg C yr-1``, ``Gt CO2e yr-1``)."""
    return [f"{m} {s} yr-1" for m in _MASS for s in ("C", "CO2", "CO2e")]


def rate_to_MtCO2(value, units: str) -> float:
    """A national mass rate in Mt CO2 yr-1 (``CO2e`` rates in Mt CO2e yr-1): carbon x 44/12.

    >>> round(rate_to_MtCO2(0.2, "Pg C yr-1"), 3)
    733.333

    Raises
    ------
    ValueError
        For units other than :func:`accepted_rate_units`.
    """
    m = _RATE.fullmatch(" ".join(str(units).split()))
    if m is None:
        raise ValueError(f"unknown units '{units}' (accepted: {', '.join(accepted_rate_units())})")
    mass = ureg.Quantity(float(value), _MASS[m.group(1)])
    if m.group(2) == "C":
        return float(MgC_to_MtCO2(mass.to("Mg").magnitude))
    return float(mass.to("Tg").magnitude)  # 1 Tg = 1 Mt

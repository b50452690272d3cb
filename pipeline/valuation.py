"""Value of the sinks at a carbon price: per year, and as a present value over a horizon."""

from __future__ import annotations

from .units import Mt_to_t


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 per year for ``years`` years at discount ``rate`` (end of each year):
    sum_{t=1..H} (1 + r)^-t = (1 - (1 + r)^-H) / r, and H when r = 0."""
    if rate == 0:
        return float(years)
    return (1.0 - (1.0 + rate) ** -years) / rate


def value_per_year(sink_MtCO2: float, price_per_tCO2: float) -> float:
    """Value of a sink of ``sink_MtCO2`` Mt CO2 yr-1 at ``price_per_tCO2`` per t CO2, per year."""
    return Mt_to_t(sink_MtCO2) * price_per_tCO2

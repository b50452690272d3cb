"""CSV tables with unit-suffixed column names (``area_km2``, ``sink_MtCO2``...)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` without its index; floats at full precision (round-trip exact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")

"""carbon-sink: land-cover and flux rasters to provincial carbon-sink budgets and a national
carbon-neutrality balance (after Yu, Hao & Zhu 2022, Bull. Chin. Acad. Sci. 37(4))."""

__version__ = "0.1.0"

from .aggregate import aggregate  # noqa: E402
from .align import align, grid_from_spec  # noqa: E402
from .balance import balance  # noqa: E402
from .budgets import budgets  # noqa: E402
from .classify import classify  # noqa: E402
from .config import RunConfig, load_config  # noqa: E402
from .errors import (  # noqa: E402
    CarbonSinkError, ConfigError, GridError, InputError, OutputError, OutputExistsError, UnitError,
    UnknownClassError,
)
from .grid import AnalysisGrid  # noqa: E402
from .labels import region_labels, resolve_overlaps  # noqa: E402
from .load import load  # noqa: E402
from .runner import RunResult, run  # noqa: E402
from .sinks import compute_sinks  # noqa: E402

__all__ = [
    "__version__", "run", "RunResult", "load_config", "RunConfig", "AnalysisGrid",
    "load", "align", "grid_from_spec", "classify", "compute_sinks", "region_labels", "resolve_overlaps", "aggregate", "budgets",
    "balance", "CarbonSinkError", "ConfigError", "InputError", "UnitError", "UnknownClassError", "GridError",
    "OutputExistsError", "OutputError",
]

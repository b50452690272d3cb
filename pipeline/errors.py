"""One exception hierarchy: every message says what went wrong, where, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CarbonSinkError(Exception):
    """Root of every error the pipeline raises on purpose. ``exit_code`` is the CLI's exit status."""

    exit_code = 1


class ConfigError(CarbonSinkError):
    """The configuration file is wrong: a key, a value or a path."""

    exit_code = 2


class InputError(CarbonSinkError):
    """An input file is missing, unreadable or inconsistent."""

    exit_code = 3


class UnitError(InputError):
    """A unit string is unknown, or values are implausible for the declared unit."""


class UnknownClassError(InputError):
    """A land-cover raster holds codes that its scheme table does not define."""


class GridError(InputError):
    """A raster or region file cannot be placed on the analysis grid."""


class OutputExistsError(CarbonSinkError):
    """The run directory exists and ``--overwrite`` was not given."""

    exit_code = 4


class OutputError(CarbonSinkError):
    """The run directory cannot be written."""

    exit_code = 4


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""

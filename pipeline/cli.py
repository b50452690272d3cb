"""Command line: ``carbon-sink run CONFIG --out DIR``.

Exit codes: 0 success; 1 other pipeline error; 2 configuration error; 3 input error (missing or
unreadable file, unknown units or classes); 4 output error (run directory exists or not
writable); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .errors import CarbonSinkError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="carbon-sink",
        description="Turn land-cover and flux rasters into regional carbon-sink budgets and a neutrality balance.",
        epilog="Exit codes: 0 ok, 1 pipeline error, 2 config error, 3 input error, 4 output error, 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"carbon-sink {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the pipeline on a YAML config and write one run directory")
    r.add_argument("config", type=Path, help="YAML config (paths inside are relative to it)")
    r.add_argument("--out", type=Path, default=None, help="run directory to write (default: out/<name>)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    r.add_argument("--scheduler", default=None,
                   help="threads (default), processes, synchronous, or a dask.distributed address tcp://HOST:PORT")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
    except CarbonSinkError as exc:
        if args.debug:
            raise
        print(f"carbon-sink: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("carbon-sink: interrupted; no output was written", file=sys.stderr)
        return 130
    return 1


def _run(args) -> int:
    from .runner import run

    t0 = time.perf_counter()
    result = run(args.config, args.out, overwrite=args.overwrite, scheduler=args.scheduler,
                 progress=not args.quiet)
    if not args.quiet:
        bal = result.balance.set_index("item")["value"]
        print(f"wrote {result.run_dir} in {time.perf_counter() - t0:.1f} s")
        print(f"  net sink {bal['sink_total']:,.1f} Mt CO2/yr (terrestrial {bal['sink_terrestrial']:,.1f}, "
              f"inland water {bal['sink_water']:,.1f}, ocean {bal['sink_ocean']:,.1f}); "
              f"emissions {bal['emissions']:,.1f}; net emission {bal['net_emission']:,.1f}")
        print(f"  see {result.run_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

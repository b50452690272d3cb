"""Command line: ``carbon-sink run|validate|report|sample-data``.

Exit codes: 0 success; 1 other pipeline error; 2 configuration error; 3 input error (missing or
unreadable file, unknown units or classes, unknown region); 4 output error (run directory exists or
not writable); 130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import time
from pathlib import Path

from . import __version__
from .errors import CarbonSinkError, InputError, OutputError, OutputExistsError

#: The repository folder holding the bundled ``configs/`` and ``sample_rasters/``.
BUNDLE_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FOLDERS = ("configs", "sample_rasters")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="carbon-sink",
        description="Turn land-cover and flux rasters into regional carbon-sink budgets and a neutrality balance.",
        epilog="Exit codes: 0 ok, 1 pipeline error, 2 config error, 3 input error, 4 output error, 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"carbon-sink {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,validate,report,sample-data}")
    r = sub.add_parser("run", help="run the pipeline on a YAML config and write one run directory")
    r.add_argument("config", type=Path, help="YAML config (paths inside are relative to it)")
    r.add_argument("--out", type=Path, default=None, help="run directory to write (default: out/<name>)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    r.add_argument("--scheduler", default=None,
                   help="threads (default), processes, synchronous, or a dask.distributed address tcp://HOST:PORT")
    r.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    r.add_argument("--debug", action="store_true", help="show the full traceback on errors")

    v = sub.add_parser("validate", help="check a config and every input it names, without computing; "
                                        "report all problems at once",
                       description="Check the config schema and every input (files open, CRSs, extents, units, "
                                   "tables, regions) without reading a pixel. Prints one line per problem and a "
                                   "summary; exits 0 if clean, else the code `run` would exit with "
                                   "(config error 2 before input error 3).")
    v.add_argument("config", type=Path, help="YAML config to check")
    v.add_argument("--quiet", action="store_true", help="print the problems only, no summary")
    v.add_argument("--debug", action="store_true", help="show the full traceback of unexpected errors")

    rep = sub.add_parser("report", help="rewrite report.md and report.html of a run directory, or write "
                                        "regional pages (--region)",
                         description="Without --region: rewrite RUN_DIR/report.md and RUN_DIR/report.html. With "
                                     "--region NAME (name or id, any case; repeatable): write "
                                     "RUN_DIR/regions/<slug>.html for each.")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by `carbon-sink run`")
    rep.add_argument("--region", action="append", metavar="NAME", default=None,
                     help="a region's name or id (case-insensitive); may be given several times")
    rep.add_argument("--quiet", action="store_true", help="print nothing on success")
    rep.add_argument("--debug", action="store_true", help="show the full traceback on errors")

    s = sub.add_parser("sample-data", help="copy the bundled sample (configs/ and sample_rasters/) into DIR",
                       description="Copy the bundled configs/ and sample_rasters/ into DIR, so that "
                                   "`carbon-sink run DIR/configs/sample.yaml` works. Refuses a non-empty DIR "
                                   "unless --overwrite (which replaces DIR/configs and DIR/sample_rasters only).")
    s.add_argument("dir", type=Path, metavar="DIR", help="folder to copy into (created if missing)")
    s.add_argument("--overwrite", action="store_true", help="copy into a non-empty DIR")
    s.add_argument("--quiet", action="store_true", help="print nothing on success")
    s.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"run": _run, "validate": _validate, "report": _report, "sample-data": _sample_data}
    try:
        return commands[args.command](args)
    except CarbonSinkError as exc:
        if args.debug:
            raise
        print(f"carbon-sink: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("carbon-sink: interrupted; no output was written", file=sys.stderr)
        return 130


def console_main() -> None:
    """The ``carbon-sink`` command (and ``python -m pipeline``): exit with :func:`main`'s code.

    The process then ends without the interpreter's teardown of every imported module (numpy,
    pandas, dask, matplotlib, ... finalised one by one: about 1.5 s after a run), its output flushed
    and, unless interrupted, its exit handlers run first as at a normal exit (logging, a dask
    client's). After an interrupt (130) it ends at once: by then the run has removed its temporary
    folder, and no worker thread still finishing a task (dask's pool, the map writer) may keep an
    interrupted command alive while the interpreter waits to join it."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if code != 130:
        run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
        if run_exit_handlers is None:  # not CPython: the normal exit
            sys.exit(code)
        run_exit_handlers()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


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
        print(f"  see {result.run_dir / 'report.html'} (and report.md)")
    return 0


def _validate(args) -> int:
    from .validate import validate

    report = validate(args.config, debug=args.debug)
    for line in report.lines():
        print(line)
    if not args.quiet:
        print(report.summary())
    return report.exit_code


def _report(args) -> int:
    from .io.manifest import seal_manifest
    from .report import write_report
    from .report_html import find_region, read_run, write_html_report, write_region_page

    data = read_run(args.run_dir)  # fails early, with the fix, when RUN_DIR is not a run directory
    if args.region:
        for name in args.region:  # every name known before any page is written
            find_region(data.budgets, name)
        paths = [write_region_page(args.run_dir, name) for name in args.region]
    else:
        try:
            paths = [write_report(args.run_dir)]
        except OSError as exc:
            raise OutputError(f"cannot write {args.run_dir / 'report.md'} ({exc.strerror}). Fix: make the run "
                              "directory writable") from None
        paths.append(write_html_report(args.run_dir))
    seal_manifest(args.run_dir)  # the manifest's output checksums cover the rewritten reports and new pages
    if not args.quiet:
        for path in paths:
            print(f"wrote {path}")
    return 0


def _sample_data(args) -> int:
    missing = [name for name in SAMPLE_FOLDERS if not (BUNDLE_ROOT / name).is_dir()]
    if missing:
        raise InputError(f"the bundled sample is not part of this installation ({', '.join(missing)} not found in "
                         f"{BUNDLE_ROOT}). Fix: install carbon-sink from its source repository "
                         "(`pip install -e .` in a clone), which holds configs/ and sample_rasters/")
    target: Path = args.dir
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} is a file, not a folder. Fix: give a folder to copy the sample into")
    if target.is_dir() and any(target.iterdir()) and not args.overwrite:
        raise OutputExistsError(f"{target} is not empty. Fix: give an empty or new folder, or pass --overwrite "
                                "(which replaces its configs/ and sample_rasters/ and keeps everything else)")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.aux.xml")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in SAMPLE_FOLDERS:
            dest = target / name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            shutil.copytree(BUNDLE_ROOT / name, dest, ignore=ignore)
    except OSError as exc:
        raise OutputError(f"cannot copy the sample into {target} ({exc.strerror or exc}). Fix: choose a writable "
                          "folder") from None
    if not args.quiet:
        print(f"copied {', '.join(f'{n}/' for n in SAMPLE_FOLDERS)} into {target}")
        print(f"  next: carbon-sink run {target / 'configs' / 'sample.yaml'} --out {target / 'out' / 'sample'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

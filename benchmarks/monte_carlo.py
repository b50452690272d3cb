"""Benchmark: the Monte Carlo of the balance, 10,000 draws on 34 regions x 20 ecosystems.

Usage (from the repository root)::

    .venv/bin/python benchmarks/monte_carlo.py                  # 10,000 draws, median of 5 runs
    .venv/bin/python benchmarks/monte_carlo.py --draws 100000 --repeats 7

What it times: the project's own :func:`pipeline.uncertainty.simulate` followed by
:func:`pipeline.uncertainty.summarise` (draws -> 5/50/95 % table per region and for the nation), the
two calls a run makes (``pipeline.runner``), on a synthetic, seeded case of the size of China's
provincial tables:

- 34 regions plus *unallocated* (35 rows), 20 ecosystems: 15 terrestrial, 3 inland-water, 2 coastal
  (blue carbon); areas drawn once from a seeded generator (log-normal, a few ecosystems absent per
  region).
- terrestrial: a **2-member structural ensemble**: the coefficient table (15 rates with low / central /
  high) and a flux product (regional totals, within-product relative sd 0.2); each draw picks one.
- inland water: burial (removal) and outgassing (emission) rates of the 3 water ecosystems, drawn
  independently (as :func:`pipeline.uncertainty.coefficient_member` builds them); ocean: burial
  rates of the 2 coastal ecosystems.
- CH4 of 2 ecosystems (non-CO2, GWP100 AR6) and an inorganic rate on 3, so ``net_all`` is drawn too;
  emissions for 32 of the 34 regions (2 missing: the nation's net is like for like).
- distribution triangular, seed 20220401 (the config default): the same seed gives the same table,
  which the script checks.

One untimed warm-up call, then ``--repeats`` timed calls (``time.perf_counter``); the table gives the
median, min and max, and the split between simulate and summarise. Results go to
``benchmarks/results/monte_carlo.md`` with the machine, versions and commit.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.uncertainty import Member, MonteCarloInputs, simulate, summarise  # noqa: E402

SEED_CASE = 20240601  # the synthetic case's tables
SEED_MC = 20220401  # the Monte Carlo's seed (UncertaintySpec default)
TERRESTRIAL = ["evergreen_needleleaf", "evergreen_broadleaf", "deciduous_needleleaf", "deciduous_broadleaf",
               "mixed_forest", "shrubland", "sparse_shrub", "meadow_grassland", "typical_grassland",
               "desert_grassland", "dry_cropland", "paddy", "orchard", "wetland", "bamboo"]
WATER = ["lake", "reservoir", "river"]
COASTAL = ["mangrove", "salt_marsh"]


def build_case(n_regions: int = 34, seed: int = SEED_CASE) -> MonteCarloInputs:
    """The synthetic region x ecosystem tables (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    ids = [f"{11 + i:02d}0000" for i in range(n_regions)] + ["unallocated"]
    names = [f"province {i + 1}" for i in range(n_regions)] + ["unallocated"]
    ecos = TERRESTRIAL + WATER + COASTAL
    km2 = rng.lognormal(mean=8.0, sigma=1.5, size=(len(ids), len(ecos)))
    km2[rng.random(km2.shape) < 0.15] = 0.0  # some ecosystems absent from some regions
    km2[-1, : len(TERRESTRIAL) + len(WATER)] = 0.0  # unallocated: sea only
    areas = pd.DataFrame(km2 * 1e6, index=ids, columns=ecos)  # m2

    def ranges(names_, lo, hi, rel):
        central = rng.uniform(lo, hi, len(names_))
        return pd.DataFrame({"ecosystem": names_, "central": central, "low": central * (1 - rel),
                             "high": central * (1 + rel)})

    terr = ranges(TERRESTRIAL, 10.0, 150.0, 0.5)  # g C m-2 yr-1, net sink
    burial = ranges(WATER, 5.0, 40.0, 0.5)
    outgas = ranges(WATER, 10.0, 60.0, 0.5)
    water = pd.concat([burial, pd.DataFrame({"ecosystem": outgas["ecosystem"], "central": -outgas["central"],
                                             "low": -outgas["high"], "high": -outgas["low"]})], ignore_index=True)
    coastal = ranges(COASTAL, 100.0, 250.0, 0.6)
    flux_totals = (areas[TERRESTRIAL].to_numpy() @ terr["central"].to_numpy()) * rng.uniform(0.7, 1.3, len(ids))
    members = {"terrestrial": [Member("coefficients", rates=terr),
                               Member("flux_product", totals_g=flux_totals, relative_sd=0.2)],
               "inland_water": [Member("coefficients", rates=water)],
               "ocean": [Member("coefficients", rates=coastal)]}
    non_co2 = pd.DataFrame({"ecosystem": ["paddy", "wetland"], "gas": ["CH4", "CH4"], "central": [20.0, 8.0],
                            "low": [10.0, 2.0], "high": [35.0, 20.0]})  # g CH4 m-2 yr-1
    inorganic = pd.DataFrame({"ecosystem": ["desert_grassland", "sparse_shrub", "lake"], "central": [2.0, 1.5, 3.0],
                              "low": [0.5, 0.5, 1.0], "high": [4.0, 3.0, 6.0]})  # g C m-2 yr-1
    emissions = rng.uniform(20.0, 900.0, len(ids))  # Mt CO2 yr-1
    emissions[[5, 17]] = np.nan  # two provinces missing from the inventory
    emissions[-1] = 0.0
    ccus = np.zeros(len(ids))
    return MonteCarloInputs(ids, names, areas, members, emissions, ccus, non_co2, inorganic, "AR6", 1.0)


def one_run(mc: MonteCarloInputs, draws: int, seed: int) -> tuple[float, float, pd.DataFrame]:
    t0 = time.perf_counter()
    sims = simulate(mc, draws, seed, "triangular")
    t1 = time.perf_counter()
    table = summarise(sims, mc)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, table


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal"))
        mem = f"{mem_kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        mem = "?"
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load average ?"
    return f"{cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}; {load}"


def commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "pipeline/uncertainty.py"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (pipeline/uncertainty.py modified in the working tree)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--regions", type=int, default=34, help="regions besides unallocated")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=SEED_MC)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "monte_carlo.md")
    args = ap.parse_args(argv)

    mc = build_case(args.regions)
    n_eco = mc.areas_m2.shape[1]
    _, _, reference = one_run(mc, args.draws, args.seed)  # warm-up (imports, allocator), untimed
    runs = []
    for _ in range(args.repeats):
        t_sim, t_sum, table = one_run(mc, args.draws, args.seed)
        pd.testing.assert_frame_equal(table, reference)  # seeded: the same table every time
        runs.append((t_sim + t_sum, t_sim, t_sum))
    total = [r[0] for r in runs]
    med = statistics.median(total)
    med_sim = statistics.median(r[1] for r in runs)
    med_sum = statistics.median(r[2] for r in runs)
    nat = reference[reference["region_id"] == "nation"].set_index("quantity")
    terr = nat.loc["sink_terrestrial_MtCO2"]
    lines = [
        "# Monte Carlo of the balance: 10,000 draws" if args.draws == 10_000 else f"# Monte Carlo: {args.draws:,} draws",
        "",
        f"- Command: `.venv/bin/python benchmarks/monte_carlo.py --draws {args.draws} --regions {args.regions} "
        f"--repeats {args.repeats} --seed {args.seed}`",
        f"- Date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; commit {commit()}",
        f"- Machine: {machine()}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}",
        f"- Case: {args.regions} regions + unallocated ({len(mc.region_ids)} rows) x {n_eco} ecosystems "
        f"({len(TERRESTRIAL)} terrestrial, {len(WATER)} inland water, {len(COASTAL)} coastal); terrestrial a "
        "2-member structural ensemble (coefficients | flux product, relative sd 0.2); water burial and "
        "outgassing drawn apart; CH4 on 2 and inorganic carbon on 3 ecosystems; 2 regions without an "
        "inventory; triangular distributions; seed "
        f"{args.seed} (case tables seed {SEED_CASE}).",
        f"- Timed: `pipeline.uncertainty.simulate` + `summarise`, {args.repeats} runs after one untimed "
        "warm-up; every run's table is identical to the warm-up's (checked).",
        "",
        "| draws | median [s] | min [s] | max [s] | simulate (median) [s] | summarise (median) [s] | "
        "per draw [us] |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {args.draws:,} | {med:.3f} | {min(total):.3f} | {max(total):.3f} | {med_sim:.3f} | {med_sum:.3f} | "
        f"{1e6 * med / args.draws:.1f} |",
        "",
        "Runs [s]: " + ", ".join(f"{t:.3f}" for t in total),
        "",
        f"Nation (from the warm-up table): terrestrial sink p05 / p50 / p95 = {terr['p05']:,.1f} / "
        f"{terr['p50']:,.1f} / {terr['p95']:,.1f} Mt CO2 yr-1, within-product sd {terr['within_product_sd']:,.1f}, "
        f"between-product sd {terr['between_product_sd']:,.1f}; net emission p50 "
        f"{nat.loc['net_MtCO2', 'p50']:,.1f} Mt CO2 yr-1 (the 32 regions with an inventory, like for like).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

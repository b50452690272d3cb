"""Atomic runs: an interrupted run (SIGINT, SIGTERM, SIGKILL) leaves the previous results intact
and no partial files; rerunning completes. A dask.distributed worker killed mid-run does not
change the result."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from pipeline import run


def _variant(cfg_path: Path, name: str, **grid) -> Path:
    data = yaml.safe_load(cfg_path.read_text())
    data["grid"].update(grid)
    out = cfg_path.with_name(f"{name}.yaml")
    out.write_text(yaml.safe_dump(data))
    return out


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _temps(out: Path) -> list:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-")]


def _wait_for_temp(out: Path, proc=None, timeout=90.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if _temps(out):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {proc.returncode}")
        time.sleep(0.05)
    raise AssertionError("the run never started computing")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_run_keeps_previous_results(sample_copy, tmp_path, sig):
    fast = sample_copy  # 5 km: about 2 s
    slow = _variant(sample_copy, "slow", resolution=1000, chunks=64)  # 1 km in 64 px chunks: ~20 s
    out = tmp_path / "out"
    run(fast, out)
    before = _snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", str(slow), "--out", str(out), "--overwrite",
                             "--quiet"], stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    _wait_for_temp(out, proc)
    time.sleep(1.0)  # well inside the computation
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert _snapshot(out) == before, "the previous results changed"
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert _temps(out), "expected the killed run's hidden temporary folder"
    else:
        assert proc.returncode == 130, proc.stderr.read()
        assert "interrupted" in proc.stderr.read()
        assert not _temps(out)
    run(fast, out, overwrite=True)  # rerunning completes and sweeps any stale temporary folder
    assert not _temps(out)
    assert _snapshot(out)[Path("tables/budgets.csv")] == before[Path("tables/budgets.csv")]


def test_killed_worker_does_not_change_result(sample_copy, tmp_path):
    import dask
    from distributed import LocalCluster

    cfg = _variant(sample_copy, "medium", chunks=24)  # 5 km in 24 px chunks: ~130 blocks
    reference = run(cfg, tmp_path / "ref").region_ecosystem
    # a lock held by a dead worker is released after the lease timeout
    with dask.config.set({"distributed.scheduler.locks.lease-timeout": "2s",
                          "distributed.scheduler.locks.lease-validation-interval": "500ms"}), \
         LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tmp_path / "dist"
        result = {}
        worker = threading.Thread(target=lambda: result.update(r=run(cfg, out, scheduler=cluster.scheduler_address)))
        worker.start()
        _wait_for_temp(out)
        time.sleep(0.5)
        assert worker.is_alive(), "the run ended before a worker could be killed"
        victim = next(iter(cluster.workers.values()))
        os.kill(victim.process.process.pid, signal.SIGKILL)
        worker.join(timeout=240)
        assert not worker.is_alive()
    assert "r" in result, "the distributed run failed"
    import pandas as pd

    pd.testing.assert_frame_equal(result["r"].region_ecosystem, reference)

"""Atomic runs: an interrupted run (SIGINT, SIGTERM, SIGKILL) leaves the previous results intact
and no partial files; rerunning completes. A dask.distributed worker killed mid-run does not
change the result."""

import os
import shutil
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
                             "--quiet"], stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONFAULTHANDLER": "1"})  # SIGABRT prints every thread's stack
    _wait_for_temp(out, proc)
    time.sleep(1.0)  # well inside the computation
    proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the run did not end within 60 s of {sig.name}; its threads:\n{err[-12000:]}")
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


def _tables(run_dir: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "tables").glob("*.csv"))}


def test_killed_worker_does_not_change_result(sample_copy, tmp_path):
    """A worker process of a loopback LocalCluster is SIGKILLed while it is running tasks of the
    run's graph (the scheduler says so): dask reruns them on the survivor and the restarted worker,
    and every table is byte-identical to a threaded run's."""
    from distributed import Client, LocalCluster

    cfg = _variant(sample_copy, "medium", chunks=24)  # 5 km in 24 px chunks: ~130 blocks per pass
    reference = run(cfg, tmp_path / "ref")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as observer:
        out = tmp_path / "dist"
        result = {}
        worker = threading.Thread(target=lambda: result.update(r=run(cfg, out, scheduler=cluster.scheduler_address)))
        worker.start()
        _wait_for_temp(out)
        busy, t0 = {}, time.time()
        while not busy and time.time() - t0 < 120 and worker.is_alive():
            # tasks the scheduler has assigned to a worker and that are running there now
            busy = {addr: keys for addr, keys in observer.processing().items() if keys}
            time.sleep(0.01)
        assert busy, "no task of the run was ever seen processing on a worker"
        addr, keys = next(iter(busy.items()))
        victim = next(n for n in cluster.workers.values() if n.worker_address == addr)
        os.kill(victim.process.process.pid, signal.SIGKILL)
        assert worker.is_alive(), "the run ended before a worker could be killed"
        worker.join(timeout=300)
        assert not worker.is_alive()
        assert addr not in observer.scheduler_info()["workers"], "the killed worker is still registered"
    assert "r" in result, "the distributed run failed"
    got, want = _tables(result["r"].run_dir), _tables(reference.run_dir)
    assert sorted(got) == sorted(want) and "region_ecosystem.csv" in got
    for name in want:
        assert got[name] == want[name], f"tables/{name} differs after the worker was killed"


def test_orphaned_old_results_are_restored(sample_copy, tmp_path):
    """Without an atomic exchange a run sets the previous results aside (``.out.old-PID``) and renames
    its folder to ``out``; a SIGKILL between the two renames leaves no ``out``. The next run puts the
    previous results back before anything else: they are untouched, a run without --overwrite is
    refused, and one with --overwrite completes and leaves no hidden folder."""
    from pipeline.errors import OutputExistsError
    from pipeline.io import rundir

    out = tmp_path / "out"
    run(sample_copy, out)
    before = _snapshot(out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs: the killed run's
    # the state a SIGKILL between the two os.replace calls leaves: previous results set aside, the
    # new run's complete temporary folder beside them, no target
    os.replace(out, tmp_path / f".out.old-{dead.pid}")
    (tmp_path / f".out.tmp-{dead.pid}-abc123" / "tables").mkdir(parents=True)
    (tmp_path / f".out.tmp-{dead.pid}-abc123" / "tables" / "budgets.csv").write_text("new,run\n")
    assert not out.exists()
    with pytest.raises(OutputExistsError):
        run(sample_copy, out)  # the restored previous results are not overwritten silently
    assert _snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]
    # a leftover .old folder beside an intact target (killed after the second rename) is removed
    shutil.copytree(out, tmp_path / f".out.old-{dead.pid}")
    run(sample_copy, out, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], list(tmp_path.iterdir())
    assert _snapshot(out)[Path("tables/budgets.csv")] == before[Path("tables/budgets.csv")]


def test_overwrite_without_atomic_exchange(sample_copy, tmp_path, monkeypatch):
    """The two-rename fallback (systems without renameat2 RENAME_EXCHANGE) replaces the results too,
    and the exchange itself is used where available (Linux)."""
    from pipeline.io import rundir

    out = tmp_path / "out"
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    if rundir._exchange(a, b):  # Linux on ext4, xfs, btrfs, tmpfs...; False where it cannot (then unchanged)
        assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"
    else:
        assert (a / "f").read_text() == "a" and (b / "f").read_text() == "b"
    run(sample_copy, out)
    first = _snapshot(out)
    (out / "marker").write_text("from the previous results")
    monkeypatch.setattr(rundir, "_exchange", lambda x, y: False)
    run(sample_copy, out, overwrite=True)
    assert not (out / "marker").exists(), "the previous results were not replaced"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert _snapshot(out)[Path("tables/budgets.csv")] == first[Path("tables/budgets.csv")]


def test_interrupt_swallowed_by_other_code_never_publishes_the_run(tmp_path):
    """Python may run the SIGINT handler inside a finalizer, where the KeyboardInterrupt is printed and
    dropped; the run must still not replace the previous results (here the handler's exception is
    caught on purpose, as such code would)."""
    from pipeline.io.rundir import staged_run_dir

    target = tmp_path / "out"
    target.mkdir()
    (target / "f").write_text("previous")
    (target / "manifest.json").write_text('{"carbon_sink_version": "test"}')  # a previous run's folder
    with pytest.raises(KeyboardInterrupt):
        with staged_run_dir(target, overwrite=True) as tmp:
            (tmp / "f").write_text("interrupted run")
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler raises here
            except KeyboardInterrupt:
                pass  # swallowed, as a finalizer would
    assert (target / "f").read_text() == "previous"
    assert not _temps(target)


def test_interrupt_swallowed_by_a_finalizer_stops_the_run_at_its_next_step(tmp_path, monkeypatch):
    """Python prints and drops a KeyboardInterrupt that the signal handler raises inside a finalizer.
    The record the handler leaves makes ``raise_if_interrupted`` (called between the run's steps)
    stop the run at its next step instead of computing to the end; nothing is published and the
    temporary folder is removed."""
    import weakref

    from pipeline.io import rundir

    target = tmp_path / "run"
    steps = []
    dropped = []  # what Python reports as "Exception ignored in" (and then drops)
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))

    class Block:
        pass

    with pytest.raises(KeyboardInterrupt):
        with rundir.staged_run_dir(target):
            block = Block()
            # the signal's handler runs inside the finalizer (the sleep is cut short by it)
            weakref.finalize(block, lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(5)))
            del block
            steps.append("the step after the finalizer")  # the run went on: the interrupt was dropped
            rundir.raise_if_interrupted()
            steps.append("the next step")
    assert steps == ["the step after the finalizer"]
    assert dropped == [KeyboardInterrupt]
    assert not target.exists() and list(tmp_path.iterdir()) == []
    rundir.raise_if_interrupted()  # the record ends with the run: a later run is not interrupted

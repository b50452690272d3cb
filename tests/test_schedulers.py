"""The same tables whichever scheduler runs the graph: threads, processes, a real dask.distributed
cluster (worker processes on loopback)."""

import pandas as pd
import pytest

from conftest import tiny_case
from pipeline import run


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


def _tables(tmp_path, name, scheduler):
    cfg = tiny_case(tmp_path / f"case-{name}", **{"grid.chunks": 2})
    res = run(cfg, tmp_path / f"out-{name}", scheduler=scheduler)
    return (res.run_dir / "tables" / "region_ecosystem.csv").read_bytes(), res


def test_schedulers__identical_tables(tmp_path, cluster):
    threads, res = _tables(tmp_path, "threads", None)
    assert threads == _tables(tmp_path, "processes", "processes")[0]
    assert threads == _tables(tmp_path, "distributed", cluster.scheduler_address)[0]
    # and the maps written by the workers hold the same values
    import rasterio

    with rasterio.open(res.run_dir / "maps" / "sink_total.tif") as a, \
         rasterio.open(tmp_path / "out-distributed" / "maps" / "sink_total.tif") as b:
        pd.testing.assert_frame_equal(pd.DataFrame(a.read(1)), pd.DataFrame(b.read(1)))

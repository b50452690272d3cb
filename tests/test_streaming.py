"""The pass's grouping of blocks: every block exactly once, groups bounded whatever the map's size."""

import numpy as np
import pytest

from pipeline.streaming import MAX_GROUP_BLOCKS, windows


@pytest.mark.parametrize("nby,nbx,workers", [(1, 1, 1), (11, 10, 2), (43, 38, 2), (5, 3, 2), (7, 200, 64), (3, 1, 8)])
def test_windows__cover_every_block_once_in_bounded_groups(nby, nbx, workers):
    seen = np.zeros((nby, nbx), dtype=int)
    for i0, i1, j0, j1 in windows(nby, nbx, workers):
        seen[i0:i1, j0:j1] += 1
        # 4 blocks per worker (or a whole row's share when rows are shorter), never above the cap
        assert (i1 - i0) * (j1 - j0) <= min(max(4 * workers, nbx), MAX_GROUP_BLOCKS)
    assert (seen == 1).all()


def test_windows__wide_map_splits_rows_into_equal_pieces():
    # 38 blocks per row, 8 per group at most -> 5 pieces of 8, 8, 8, 8, 6 columns
    plan = windows(2, 38, 2)
    assert [(j0, j1) for i0, _, j0, j1 in plan if i0 == 0] == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 38)]
    assert len(plan) == 10


def _exact_counts(cls, whole, area, dens, n_cls, size, q):
    """Independent reference: per (bin, quantity) the exact sum of round(w / fine quantum), in Python
    integers (no float sums), for the pixels with a class and a whole region."""
    from pipeline.aggregate import SPLIT_BITS

    fine = [float(x) / 2**SPLIT_BITS for x in q]
    tot = [[0] * (1 + len(dens)) for _ in range(size)]
    for (i, j), c in np.ndenumerate(cls):
        r = whole[i, j]
        if c < 0 or r < 0:
            continue
        b = int(r) * n_cls + int(c)
        a = float(area[i, j])
        ws = [a] + [float(d[i, j]) * a for d in dens]
        for k, w in enumerate(ws):
            tot[b][k] += round(w / fine[k])  # Python's round: half to even, like np.rint
    return np.array(tot, dtype=object)


@pytest.mark.parametrize("shape", [(3, 4), (40, 33)])
def test_block_sums__exact_counts_of_the_fine_quantum(shape):
    """The compiled per-block sums equal an exact integer computation, on a tiny grid (where a pixel
    is a large share of the total: the split path) and a larger one."""
    from pipeline.aggregate import SPLIT_BITS, _block_sums

    rng = np.random.default_rng(7)
    n_cls, n_reg = 3, 4
    cls = rng.integers(-1, n_cls, shape).astype(np.int16)
    whole = rng.integers(-1, n_reg, shape).astype(np.int16)
    area = np.broadcast_to(rng.uniform(1e6, 2e6, shape[0])[:, None], shape)  # rows, as the grid's
    dens = [rng.uniform(0, 300, shape).astype(np.float32), rng.uniform(0, 5, shape)]
    total_area = float(area.sum())
    q = np.exp2(np.ceil(np.log2(np.array([total_area, total_area * 5000, total_area * 5000]) / 2.0**51)))
    got = _block_sums(cls, area, whole, *dens, None, n_reg, n_cls, q)
    as_int = np.vectorize(int, otypes=[object])  # the float64 counts are whole numbers: exact as ints
    fine_total = as_int(got[:, :3]) * 2**SPLIT_BITS + as_int(got[:, 3:])
    expected = _exact_counts(cls, whole, area, dens, n_cls, n_reg * n_cls, q)
    assert (fine_total == expected).all()


def test_block_sums__nan_density_makes_its_bin_nan():
    from pipeline.aggregate import _block_sums

    cls = np.zeros((2, 2), dtype=np.int16)
    whole = np.array([[0, 0], [1, 1]], dtype=np.int16)
    dens = np.array([[1.0, np.nan], [2.0, 2.0]])
    got = _block_sums(cls, np.ones((2, 2)), whole, dens, None, 2, 1, np.array([2.0**-40, 2.0**-40]))
    assert np.isnan(got[0, 1]) and np.isnan(got[0, 3])  # region 0's density sum
    assert not np.isnan(got[0, 0]) and not np.isnan(got[1]).any()

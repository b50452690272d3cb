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

"""The pass's grouping of blocks: every block exactly once, groups bounded whatever the map's size."""

import numpy as np
import pytest

from pipeline.streaming import MAX_GROUP_BLOCKS, windows


@pytest.mark.parametrize("nby,nbx,workers", [(1, 1, 1), (11, 10, 2), (43, 38, 2), (5, 3, 2), (7, 200, 64), (3, 1, 8)])
def test_windows__cover_every_block_once_in_bounded_groups(nby, nbx, workers):
    seen = np.zeros((nby, nbx), dtype=int)
    for i0, i1, j0, j1 in windows(nby, nbx, workers):
        seen[i0:i1, j0:j1] += 1
        # 8 blocks per worker (or a whole row when rows are shorter), never above the cap
        assert (i1 - i0) * (j1 - j0) <= min(max(8 * workers, nbx), MAX_GROUP_BLOCKS)
    assert (seen == 1).all()


def test_windows__wide_map_splits_rows_into_equal_pieces():
    # 38 blocks per row, 16 per group at most: 3 pieces, 13 wide rounded up to 14 (2 workers)
    plan = windows(2, 38, 2)
    assert [(j0, j1) for i0, _, j0, j1 in plan if i0 == 0] == [(0, 14), (14, 28), (28, 38)]
    assert len(plan) == 6
    # 10 blocks per row fit a group: whole rows, one per group (16 // 10)
    assert windows(3, 10, 2) == [(0, 1, 0, 10), (1, 2, 0, 10), (2, 3, 0, 10)]


def _exact_counts(cls, whole, area, dens, n_cls, size, q, shared=None):
    """Independent reference: per (bin, quantity) the exact sum of round(w / fine quantum), in Python
    integers (no float sums), for the pixels with a class and a whole region, plus the border
    pixels' (row, col, region, fraction) entries."""
    from pipeline.aggregate import SPLIT_BITS

    fine = [float(x) / 2**SPLIT_BITS for x in q]
    tot = [[0] * (1 + len(dens)) for _ in range(size)]

    def add(b, i, j, a):
        ws = [a] + [float(d[i, j]) * a for d in dens]
        for k, w in enumerate(ws):
            tot[b][k] += round(w / fine[k])  # Python's round: half to even, like np.rint

    for (i, j), c in np.ndenumerate(cls):
        if c >= 0 and whole[i, j] >= 0:
            add(int(whole[i, j]) * n_cls + int(c), i, j, float(area[i, j]))
    if shared is not None:
        for i, j, r, f in zip(*shared):
            if cls[i, j] >= 0:
                add(int(r) * n_cls + int(cls[i, j]), i, j, float(area[i, j]) * float(f))
    return np.array(tot, dtype=object)


def _as_fine(got, k_n):
    from pipeline.aggregate import SPLIT_BITS

    as_int = np.vectorize(int, otypes=[object])  # the float64 counts are whole numbers: exact as ints
    return as_int(got[:, :k_n]) * 2**SPLIT_BITS + as_int(got[:, k_n:])


@pytest.mark.parametrize("shape", [(3, 4), (40, 33)])
def test_block_sums__exact_counts_of_the_fine_quantum(shape):
    """The compiled per-block sums equal an exact integer computation, on a tiny grid (where a pixel
    is a large share of the total: the split path) and a larger one; densities of both signs (an
    emission density, say) and border pixels shared between regions by fraction."""
    from pipeline.aggregate import _block_sums

    rng = np.random.default_rng(7)
    n_cls, n_reg = 3, 4
    cls = rng.integers(-1, n_cls, shape).astype(np.int16)
    whole = rng.integers(-1, n_reg, shape).astype(np.int16)
    area = np.broadcast_to(rng.uniform(1e6, 2e6, shape[0])[:, None], shape)  # rows, as the grid's
    dens = [rng.uniform(-300, 300, shape).astype(np.float32), rng.uniform(0, 5, shape)]
    border = np.argwhere(whole < 0)  # pixels of no whole region: split between two regions
    lr = np.repeat(border[:, 0], 2)
    lc = np.repeat(border[:, 1], 2)
    reg = np.tile(np.array([0, 2], dtype=np.int16), len(border))
    frac = np.tile(np.array([0.3, 0.7]), len(border))
    total_area = float(area.sum())
    q = np.exp2(np.ceil(np.log2(np.array([total_area, total_area * 5000, total_area * 5000]) / 2.0**51)))
    got = _block_sums(cls, area[:, 0], whole, *dens, (lr, lc, reg, frac), n_reg, n_cls, q)
    expected = _exact_counts(cls, whole, area, dens, n_cls, n_reg * n_cls, q, (lr, lc, reg, frac))
    assert (_as_fine(got, 3) == expected).all()
    assert ((got[:, 3:] >= 0) & (got[:, 3:] < 2**19)).all()  # fine counts carried into the coarse ones


@pytest.mark.parametrize("kd", [0, 1, 2, 3])
@pytest.mark.parametrize("constant", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (33, 41)])
def test_block_sums__every_density_count_and_label_form_equals_exact_integers(kd, constant, shape):
    """Each number of densities (0 to MAX_DENSITIES), a block of one region given as the label cache's
    constant or in full, and the signed form (one density split into its two parts): the compiled
    sums equal the exact Python-integer computation. Long runs of one bin along rows (what the
    kernel sums in registers) alternate with single pixels."""
    from pipeline.aggregate import _block_sums

    rng = np.random.default_rng(100 + kd)
    n_cls, n_reg = 3, 4
    cls = np.repeat(rng.integers(-1, n_cls, (shape[0], shape[1] // 3 + 1)), 3, axis=1)[:, :shape[1]].astype(np.int16)
    cls[:, ::7] = rng.integers(-1, n_cls, cls[:, ::7].shape)  # runs broken at every 7th pixel
    halves = np.repeat(rng.integers(-1, n_reg, (shape[0], 2)), shape[1] // 2 + 1, axis=1)[:, :shape[1]]
    whole = np.broadcast_to(np.int8(1), shape) if constant else halves.astype(np.int8)
    rows = rng.uniform(1e6, 2e6, shape[0])
    area = np.broadcast_to(rows[:, None], shape)
    dens = [rng.uniform(-300, 300, shape).astype(np.float32 if k % 2 else np.float64) for k in range(kd)]
    total = float(area.sum())
    q = np.exp2(np.ceil(np.log2(np.array([total] + [total * 5000] * max(kd, 2)) / 2.0**51)))
    full_whole = np.broadcast_to(whole, shape)
    got = _block_sums(cls, rows, whole, *dens, None, n_reg, n_cls, q[:1 + kd])
    assert (_as_fine(got, 1 + kd) == _exact_counts(cls, full_whole, area, dens, n_cls, n_reg * n_cls, q[:1 + kd])).all()
    if kd == 1:  # the signed form: area, positive part x area, negative part x area
        signed = _block_sums(cls, rows, whole, dens[0], None, n_reg, n_cls, q[:3], split=True)
        parts = [np.clip(dens[0], 0, None), np.clip(-dens[0], 0, None)]
        assert (_as_fine(signed, 3) == _exact_counts(cls, full_whole, area, parts, n_cls, n_reg * n_cls, q[:3])).all()


def test_block_sums__blocks_add_up_to_the_whole():
    """Summing the per-block counts of four blocks gives exactly the counts of the whole array."""
    from pipeline.aggregate import _block_sums

    rng = np.random.default_rng(3)
    cls = rng.integers(-1, 2, (20, 20)).astype(np.int16)
    whole = rng.integers(0, 3, (20, 20)).astype(np.int16)
    area = np.full((20, 20), 1.5e6)
    d = rng.uniform(-50, 400, (20, 20))
    q = np.exp2(np.ceil(np.log2(np.array([area.sum(), area.sum() * 5000]) / 2.0**51)))
    whole_counts = _as_fine(_block_sums(cls, area[:, 0], whole, d, None, 3, 2, q), 2)
    parts = sum(_as_fine(_block_sums(cls[a:b, c:e], area[a:b, 0], whole[a:b, c:e], d[a:b, c:e], None, 3, 2, q), 2)
                for a, b in ((0, 7), (7, 20)) for c, e in ((0, 13), (13, 20)))
    assert (parts == whole_counts).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_block_sums__non_finite_density_makes_its_bin_nan(bad):
    from pipeline.aggregate import _block_sums

    cls = np.zeros((2, 2), dtype=np.int16)
    whole = np.array([[0, 0], [1, 1]], dtype=np.int16)
    dens = np.array([[1.0, bad], [2.0, 2.0]])
    got = _block_sums(cls, np.ones(2), whole, dens, None, 2, 1, np.array([2.0**-40, 2.0**-40]))
    assert np.isnan(got[0, 1]) and np.isnan(got[0, 3])  # region 0's density sum
    assert not np.isnan(got[0, 0]) and not np.isnan(got[1]).any()
    assert got[1, 1] * 2.0**-40 + got[1, 3] * 2.0**-59 == pytest.approx(4.0)  # region 1: 2 + 2


def test_block_sums__signed_density_equals_its_two_clipped_parts():
    """One signed density (``split``) gives bit for bit the sums of its positive and its negative
    part passed as two densities, NaN, infinities and both zeros included; a block of one label
    given as a constant (the label cache's broadcast blocks) equals the same block given in full."""
    from pipeline.aggregate import _block_sums

    rng = np.random.default_rng(11)
    shape, n_cls, n_reg = (37, 29), 4, 3
    cls = rng.integers(-1, n_cls, shape).astype(np.int16)
    d = rng.uniform(-400, 400, shape).astype(np.float32)
    d.flat[rng.choice(d.size, 40, replace=False)] = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0],
                                                                        dtype=np.float32), 40)
    rows = rng.uniform(1e6, 2e6, shape[0])
    q = np.exp2(np.ceil(np.log2(np.array([rows.sum() * 29, rows.sum() * 29 * 5000, rows.sum() * 29 * 5000]) / 2.0**51)))
    border = (np.array([0, 0, 5]), np.array([1, 1, 7]), np.array([0, 2, 1], dtype=np.int32), np.array([0.25, 0.75, 1.0]))
    for whole in (rng.integers(-1, n_reg, shape).astype(np.int8), np.broadcast_to(np.int8(2), shape)):
        pair = _block_sums(cls, rows, whole, np.clip(d, 0, None), np.clip(-d, 0, None), border, n_reg, n_cls, q)
        signed = _block_sums(cls, rows, whole, d, border, n_reg, n_cls, q, split=True)
        np.testing.assert_array_equal(signed, pair)  # NaN where NaN
        assert np.isnan(signed).any() and np.isfinite(signed).any()
    full = _block_sums(cls, rows, np.full(shape, 2, dtype=np.int8), d, border, n_reg, n_cls, q, split=True)
    np.testing.assert_array_equal(signed, full)


def test_open_on_grid__a_file_rewritten_in_place_is_read_afresh(tmp_path):
    """Lazy rasters reuse one open dataset per thread: a file rewritten at the same path (a user
    re-exporting an input between two runs of one session) must be read again, not served from
    the handle opened before."""
    import time

    import rasterio

    from pipeline.grid import CHINA_ALBERS, AnalysisGrid
    from pipeline.io.rasters import open_on_grid

    grid = AnalysisGrid.from_bounds(CHINA_ALBERS, 1000, (0, 0, 40_000, 30_000), chunks=16)
    path = tmp_path / "flux.tif"
    sums = []
    for value in (1.0, 2.5):
        with rasterio.open(path, "w", driver="GTiff", width=grid.width, height=grid.height, count=1, dtype="float32",
                           crs=grid.crs_wkt, transform=grid.transform, tiled=True, blockxsize=16, blockysize=16) as dst:
            dst.write(np.full(grid.shape, value, dtype=np.float32), 1)
        sums.append(float(open_on_grid(path, grid, "nearest").sum().compute(scheduler="threads", num_workers=2)))
        time.sleep(0.01)
    assert sums == [1.0 * 1200, 2.5 * 1200]  # 30 x 40 px


def test_block_sums__a_block_of_shared_pixels_only_counts_its_border_entries():
    """A label block that is all -1 (every pixel shared between regions, given as the label cache's
    constant) adds only its border entries, the same as the block given in full."""
    from pipeline.aggregate import _block_sums

    rng = np.random.default_rng(2)
    shape = (8, 9)
    cls = rng.integers(0, 2, shape).astype(np.int16)
    d = rng.uniform(-50, 300, shape)
    rows = np.full(shape[0], 4.0)
    q = np.array([2.0**-30, 2.0**-20, 2.0**-20])
    lr, lc = np.divmod(np.arange(cls.size), shape[1])
    border = (np.repeat(lr, 2), np.repeat(lc, 2), np.tile(np.array([0, 1], dtype=np.int32), cls.size),
              np.tile(np.array([0.25, 0.75]), cls.size))
    const = _block_sums(cls, rows, np.broadcast_to(np.int8(-1), shape), d, border, 2, 2, q, split=True)
    full = _block_sums(cls, rows, np.full(shape, -1, dtype=np.int8), d, border, 2, 2, q, split=True)
    np.testing.assert_array_equal(const, full)
    area = const[:, 0] * q[0] + const[:, 3] * q[0] / 2**19  # per (region, class): 1/4 and 3/4 of each pixel
    expected = [0.25 * 4 * (cls == 0).sum(), 0.25 * 4 * (cls == 1).sum(), 0.75 * 4 * (cls == 0).sum(),
                0.75 * 4 * (cls == 1).sum()]
    np.testing.assert_array_equal(area, expected)

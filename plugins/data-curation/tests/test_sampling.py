import numpy as np

from inria_data_curation.sampling import balanced_quota, cap_of, hierarchical_sample
from inria_data_curation.tree import Level


def test_balanced_quota_cap_and_remainder():
    rng = np.random.default_rng(0)
    sizes = np.array([1, 2, 10, 50, 3, 7])
    q = balanced_quota(sizes, 20, rng)
    x = cap_of(sizes, 20)
    assert q.sum() == 20 and np.all(q <= sizes)
    assert np.minimum(x, sizes).sum() <= 20 < np.minimum(x + 1, sizes).sum()
    assert np.all(q >= np.minimum(x, sizes)) and np.all(q <= np.minimum(x + 1, sizes))
    assert np.array_equal(balanced_quota(sizes, 1000, rng), sizes)


def test_balanced_quota_farthest_pick_keeps_the_distinct_child():
    # four pieces of one big concept near the origin and one small distinct cluster far away
    cents = np.array([[0, 0], [0.1, 0], [0, 0.1], [0.1, 0.1], [10, 10]], dtype=float)
    sizes = np.array([30, 30, 30, 30, 2])
    far_hits = sum(balanced_quota(sizes, 2, np.random.default_rng(s), cents)[4] for s in range(50))
    rnd_hits = sum(balanced_quota(sizes, 2, np.random.default_rng(s))[4] for s in range(50))
    assert far_hits == 50  # every seed: the far child gets one of the two points
    assert rnd_hits < 35   # the paper's uniform choice skips it ~60% of the time (2/5 kept)


def _two_level_tree():
    # level 1: 6 clusters over 30 points; level 2: 2 clusters over the 6 level-1 clusters
    a1 = np.repeat(np.arange(6), [10, 8, 6, 3, 2, 1])
    order1 = np.arange(30)
    off1 = np.concatenate([[0], np.cumsum([10, 8, 6, 3, 2, 1])])
    c1 = np.arange(12, dtype=np.float32).reshape(6, 2)
    a2 = np.array([0, 0, 0, 1, 1, 1])
    l1 = Level(c1, a1, order1, off1)
    l2 = Level(np.zeros((2, 2), np.float32), a2, np.arange(6), np.array([0, 3, 6]))
    return [l1, l2]


def test_hierarchical_sample_exact_distinct_deterministic_and_no_empty_quota():
    levels = _two_level_tree()
    for n in (1, 5, 12, 17, 30):
        a = hierarchical_sample(levels, n, "r", np.random.default_rng(1))
        b = hierarchical_sample(levels, n, "r", np.random.default_rng(1))
        assert len(a) == n and len(np.unique(a)) == n and np.array_equal(a, b)
    # the top split is balanced: 24 points under cluster 0, 6 under cluster 1; n=12 -> 6 + 6
    sel = hierarchical_sample(levels, 12, "c", np.random.default_rng(0))
    assert (sel < 24).sum() == 6 and (sel >= 24).sum() == 6
    # every level-2 cluster that gets a quota delivers at least one point (here: both)
    assert set(levels[0].assignments[sel]) >= {3, 4, 5}


def test_closest_strategy_takes_the_head_of_each_sorted_cluster():
    levels = _two_level_tree()
    sel = hierarchical_sample(levels, 6, "c", np.random.default_rng(0))
    # clusters 0..2 get 1 point each: the first member listed (the closest to the centroid)
    assert {0, 10, 18} <= set(sel.tolist())

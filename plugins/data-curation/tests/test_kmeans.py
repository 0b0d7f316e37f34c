import numpy as np
import pytest

from inria_data_curation import HierarchicalKMeans
from inria_data_curation.backend_faiss import FaissBackend
from inria_data_curation.comm import LocalComm
from inria_data_curation.kmeans import Shard, kmeans_plusplus, lloyd


def blobs(n_blobs=12, per=60, d=8, seed=0, spread=0.2):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_blobs, d)) * 5
    lab = np.repeat(np.arange(n_blobs), per)
    x = centres[lab] + spread * rng.standard_normal((len(lab), d))
    return x.astype(np.float32), lab


def naive_lloyd(x, C, n_iter):
    x64 = x.astype(np.float64)
    C = C.astype(np.float32).copy()
    a = ((x64[:, None, :] - C[None].astype(np.float64)) ** 2).sum(-1).argmin(1)
    for _ in range(n_iter):
        for j in range(len(C)):
            if (a == j).any():
                C[j] = x64[a == j].mean(0).astype(np.float32)
        a = ((x64[:, None, :] - C[None].astype(np.float64)) ** 2).sum(-1).argmin(1)
    return C, a


@pytest.mark.parametrize("backend", ["faiss", "torch"])
def test_lloyd_with_bounds_equals_plain_lloyd(backend):
    from inria_data_curation.curator import make_backend

    x, _ = blobs(n_blobs=6, per=150, spread=2.0)  # overlapping blobs: many rows change cluster
    be = make_backend(backend, "cpu")
    rng = np.random.default_rng(0)
    init = x[rng.choice(len(x), 15, replace=False)]
    C, a, stats = lloyd(be, Shard(be.prepare(x), 0, len(x)), init, 25, LocalComm())
    C_ref, a_ref = naive_lloyd(x, init, stats.iterations)
    assert np.array_equal(a, a_ref)
    np.testing.assert_allclose(C, C_ref, rtol=1e-5, atol=1e-5)
    assert stats.searched < 0.9  # the bounds spared part of the searches


def test_kmeans_plusplus_seeds_every_separated_blob_once():
    x, lab = blobs()
    be = FaissBackend()
    C = kmeans_plusplus(be, Shard(x, 0, len(x)), 12, np.random.default_rng(1), LocalComm(), 8)
    nearest_blob = np.array([lab[np.argmin(((x - c) ** 2).sum(1))] for c in C])
    assert sorted(nearest_blob.tolist()) == list(range(12))


def test_pruned_kmeans_plusplus_matches_brute_force():
    from inria_data_curation.backend_torch import TorchBackend

    x, _ = blobs(n_blobs=30, per=40, spread=0.8)
    fa, to = FaissBackend(), TorchBackend("cpu")
    Cf = kmeans_plusplus(fa, Shard(fa.prepare(x), 0, len(x)), 60, np.random.default_rng(5), LocalComm(), 8)
    Ct = kmeans_plusplus(to, Shard(to.prepare(x), 0, len(x)), 60, np.random.default_rng(5), LocalComm(), 8)
    np.testing.assert_array_equal(Cf, Ct)


def test_empty_cluster_keeps_its_previous_centroid():
    x, _ = blobs(n_blobs=3, per=50)
    be = FaissBackend()
    far = np.full((1, 8), 1e3, dtype=np.float32)  # no row is ever closest to it
    init = np.concatenate([x[[0, 50, 100]], far])
    C, a, stats = lloyd(be, Shard(x, 0, len(x)), init, 10, LocalComm())
    assert stats.empty == 1 and not (a == 3).any()
    np.testing.assert_array_equal(C[3], far[0])
    assert np.isfinite(C).all()


def test_cluster_emptied_by_a_reassignment_keeps_its_last_centroid():
    # 11 points on a grid, 6 clusters: cluster 0 starts with points, its centroid moves to (9, 4.5),
    # then every one of its points is closer to another centroid -- it must stay at (9, 4.5)
    x = np.array([[1, 2], [3, 2], [3, 7], [3, 9], [5, 6], [7, 8], [8, 3], [8, 7], [9, 2], [9, 3], [9, 6]],
                 dtype=np.float32)
    init = np.array([[9, 3], [8, 3], [1, 2], [3, 7], [9, 2], [3, 2]], dtype=np.float32)
    be = FaissBackend()
    a0, _, _ = be.top2(x, init)
    assert (a0 == 0).any()  # it was not empty at the start
    C, a, stats = lloyd(be, Shard(x, 0, len(x)), init, 10, LocalComm())
    assert stats.empty == 1 and not (a == 0).any()
    np.testing.assert_array_equal(C[0], [9.0, 4.5])
    C_ref, a_ref = naive_lloyd(x, init, stats.iterations)
    np.testing.assert_array_equal(a, a_ref)
    np.testing.assert_allclose(C, C_ref, rtol=1e-6)


def test_faiss_and_torch_backends_agree():
    x, _ = blobs(n_blobs=10, per=80, spread=0.6)
    fits = {}
    for backend in ("faiss", "torch"):
        m = HierarchicalKMeans(n_clusters=[40, 8], n_resampling_steps=[2], seed=4, backend=backend, device="cpu")
        m.fit(x)
        fits[backend] = m
    f, t = fits["faiss"].levels, fits["torch"].levels
    for lf, lt in zip(f, t):
        assert np.array_equal(lf.assignments, lt.assignments)
        np.testing.assert_allclose(lf.centroids, lt.centroids, rtol=1e-4, atol=1e-4)
    assert np.array_equal(fits["faiss"].sample(200), fits["torch"].sample(200))

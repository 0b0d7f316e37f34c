"""Search results, metrics, ids, remove / reconstruct / range search, search parameters."""
import numpy as np
import pytest

import inria
from inria.errors import InriaError


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
def test_flat_matches_brute_force(data, brute, metric):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat", metric=metric)
    ix.add(xb)
    D, I = ix.search(xq, 5)
    Dref, Iref = brute(xb, xq, 5, metric)
    assert D.dtype == np.float32 and I.dtype == np.int64 and D.shape == I.shape == (100, 5)
    assert (I == Iref).mean() > 0.99  # float32 vs float64 ties
    np.testing.assert_allclose(D, Dref, rtol=1e-3, atol=1e-3)
    if metric == "cosine":  # similarities of the raw vectors, not of what was stored
        assert np.abs(D).max() <= 1.0001  # raw inner products here would be ~30


def test_cosine_ignores_vector_scale(data):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat", metric="cosine")
    ix.add(xb * np.linspace(0.1, 10, len(xb), dtype=np.float32)[:, None])
    _, I1 = ix.search(xq, 5)
    _, I2 = ix.search(xq * 7.0, 5)
    ref = inria.create("index", "faiss", factory="Flat", metric="cosine")
    ref.add(xb)
    _, I3 = ref.search(xq, 5)
    assert (I1 == I2).all() and (I1 == I3).mean() > 0.99


def test_ids_wrap_non_ivf_in_idmap_and_ivf_natively(data):
    xb, xq = data
    ids = np.arange(len(xb), dtype=np.int64) * 10 + 7
    flat = inria.create("index", "faiss", factory="HNSW16", search_params={"efSearch": 128})
    flat.add(xb, ids)
    assert type(flat.faiss_index).__name__ == "IndexIDMap2"
    ivf = inria.create("index", "faiss", factory="IVF16,Flat", search_params={"nprobe": 16})
    ivf.train(xb)
    ivf.add(xb, ids)
    assert type(ivf.faiss_index).__name__ == "IndexIVFFlat"  # no wrapper needed
    plain = inria.create("index", "faiss", factory="Flat")
    plain.add(xb)
    _, Ip = plain.search(xq, 3)
    for ix in (flat, ivf):
        _, I = ix.search(xq, 3)
        assert (I[:, 0] == ids[Ip[:, 0]]).mean() > 0.95


def test_mixing_ids_and_no_ids_is_refused(data):
    xb, _ = data
    ix = inria.create("index", "faiss", factory="Flat")
    ix.add(xb[:10], np.arange(10) + 100)
    with pytest.raises(InriaError, match="pass ids"):
        ix.add(xb[10:20])
    ix2 = inria.create("index", "faiss", factory="Flat")
    ix2.add(xb[:10])
    with pytest.raises(InriaError, match="without ids"):
        ix2.add(xb[10:20], np.arange(10))
    with pytest.raises(InriaError, match="negative id"):
        inria.create("index", "faiss", factory="Flat").add(xb[:3], [1, -1, 2])
    with pytest.raises(InriaError, match="expected 3 ids"):
        inria.create("index", "faiss", factory="Flat").add(xb[:3], [1, 2])


@pytest.mark.parametrize("metric,fill", [("l2", np.inf), ("ip", -np.inf), ("cosine", -np.inf)])
@pytest.mark.parametrize("factory", ["Flat", "HNSW16", "IVF4,Flat"])
def test_k_above_ntotal_pads_with_minus_one_and_inf(data, metric, fill, factory):
    xb, xq = data
    ix = inria.create("index", "faiss", factory=factory, metric=metric, search_params={})
    ix.train(xb[:200])
    ix.add(xb[:5])
    if factory.startswith("IVF"):
        ix.set_search_params({"nprobe": 4})
    with pytest.warns(UserWarning, match="larger than the 5 indexed"):
        D, I = ix.search(xq[:3], 8)
    assert (I[:, 5:] == -1).all() and (D[:, 5:] == fill).all()
    assert (np.sort(I[:, :5], axis=1) == np.arange(5)).all() and np.isfinite(D[:, :5]).all()


def test_search_params_change_results(data, brute):
    xb, xq = data
    _, Iref = brute(xb, xq, 1)
    ix = inria.create("index", "faiss", factory="IVF64,Flat", search_params={"nprobe": 1})
    ix.train(xb)
    ix.add(xb)
    low = (ix.search(xq, 1)[1] == Iref).mean()
    ix.set_search_params("nprobe=64")
    assert ix.faiss_index.nprobe == 64 and ix.config.search_params == {"nprobe": 64}
    high = (ix.search(xq, 1)[1] == Iref).mean()
    assert high == 1.0 and low < high
    with pytest.raises(InriaError, match="efSearch.*IVF64,Flat"):
        ix.set_search_params({"efSearch": 32})
    hnsw = inria.create("index", "faiss", factory="HNSW16", search_params={"efSearch": 77})
    hnsw.add(xb[:10])
    assert hnsw.faiss_index.hnsw.efSearch == 77


def test_remove_ids(data):
    xb, xq = data
    for factory in ("Flat", "IVF16,Flat"):
        ix = inria.create("index", "faiss", factory=factory, search_params={"nprobe": 16} if "IVF" in factory else {})
        ix.train(xb)
        ix.add(xb, np.arange(len(xb)) + 1000)
        _, I = ix.search(xq[:5], 1)
        assert ix.remove_ids(I[:, 0]) == len(np.unique(I[:, 0]))
        assert ix.ntotal == len(xb) - len(np.unique(I[:, 0]))
        _, I2 = ix.search(xq[:5], 1)
        assert not np.isin(I2, I).any()


@pytest.mark.parametrize("factory,name", [("HNSW16", "IndexHNSWFlat"), ("NSG16", "IndexNSGFlat"),
                                          ("IVF16,Flat,RFlat", "IndexRefineFlat")])
def test_remove_ids_error_names_the_index_type(data, factory, name):
    xb, _ = data
    ix = inria.create("index", "faiss", factory=factory)
    ix.train(xb)
    ix.add(xb[:500], np.arange(500))
    with pytest.raises(InriaError, match=name) as e:
        ix.remove_ids([1, 2])
    assert "\n" not in str(e.value)


def test_reconstruct(data):
    xb, _ = data
    for factory in ("Flat", "HNSW16", "IVF16,Flat"):
        ix = inria.create("index", "faiss", factory=factory)
        ix.train(xb)
        ix.add(xb, np.arange(len(xb)) * 3)
        np.testing.assert_allclose(ix.reconstruct([0, 9, 3 * 2999]), xb[[0, 3, 2999]], rtol=1e-6)
    pq = inria.create("index", "faiss", factory="PQ8np")
    pq.train(xb)
    pq.add(xb)
    approx = pq.reconstruct(np.arange(100))
    assert np.mean((approx - xb[:100]) ** 2) < 0.5 * np.mean(xb[:100] ** 2)  # decoded codes, approximate
    with pytest.raises(InriaError, match="not in the index"):
        ix.reconstruct([1])


def test_range_search(data, brute):
    xb, xq = data
    ix = inria.create("index", "faiss", factory="Flat")
    ix.add(xb)
    D, _ = brute(xb, xq[:4], len(xb))
    radius = float(np.median(D[:, 10]))
    lims, Dr, Ir = ix.range_search(xq[:4], radius)
    assert len(lims) == 5 and lims[-1] == len(Dr) == len(Ir)
    assert (Dr < radius).all()
    for i in range(4):
        assert lims[i + 1] - lims[i] == (D[i] < radius).sum()

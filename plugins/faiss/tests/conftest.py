import os

import numpy as np
import pytest

os.environ.setdefault("INRIA_PROGRESS", "0")


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread():
    # On a loaded 2-core machine every OpenMP barrier can wait a whole scheduler
    # slice: one thread makes these small tests several times faster. The
    # threads test (test_torch_together.py) sets its own count.
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def clustered(n: int, d: int, seed: int = 0, centers: int = 40) -> np.ndarray:
    """Gaussian blobs: 40 unit-normal centres, points at sigma 0.5 around them (float32)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, d)).astype(np.float32)
    return (c[rng.integers(0, centers, n)] + 0.5 * rng.standard_normal((n, d))).astype(np.float32)


@pytest.fixture(scope="session")
def data():
    x = clustered(3100, 32, seed=0)  # queries from the same blobs as the base
    return x[:3000], x[3000:]


def exact(xb, xq, k, metric="l2"):
    """Brute force in numpy (independent of faiss)."""
    xb = xb.astype(np.float64)
    xq = xq.astype(np.float64)
    if metric == "cosine":
        xb = xb / np.linalg.norm(xb, axis=1, keepdims=True)
        xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    if metric == "l2":
        d = (xq ** 2).sum(1)[:, None] - 2 * xq @ xb.T + (xb ** 2).sum(1)[None]
        order = np.argsort(d, axis=1)[:, :k]
    else:
        d = xq @ xb.T
        order = np.argsort(-d, axis=1)[:, :k]
    return np.take_along_axis(d, order, axis=1), order


@pytest.fixture(scope="session")
def brute():
    return exact


@pytest.fixture(scope="session")
def make_data():
    return clustered

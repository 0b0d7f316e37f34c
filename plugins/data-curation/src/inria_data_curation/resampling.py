"""One level of hierarchical k-means: k-means with resampling (the paper's
Algorithm 1), and the optional split of level-1 clusters into sub-clusters.

Step 0 is k-means on all points. Each resampling step takes ``sample_size``
points per cluster (the closest to its centroid, 'c', or random ones, 'r'),
runs k-means on that subset and reassigns every point to the new centroids.
The subset is flatter than the data (a dense region gives as many points per
cluster as a sparse one), so the centroids drift towards a uniform cover of
the support instead of piling up where the data is dense.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .kmeans import LloydStats, Shard, kmeans


@dataclasses.dataclass
class LevelResult:
    centroids: np.ndarray    # (k, d) float32
    labels: np.ndarray       # (n,) int64, global
    dist: np.ndarray         # (n,) float32 squared distance to the own centroid, global
    stats: dict


def sort_clusters(labels: np.ndarray, dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Members of every cluster, closest first, as one flat index array + (k+1) offsets."""
    order = np.lexsort((dist, labels)).astype(np.int64)
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(labels, minlength=k), out=offsets[1:])
    return order, offsets


def select_per_cluster(labels: np.ndarray, dist: np.ndarray, k: int, per_cluster: int, strategy: str,
                       rng: np.random.Generator) -> np.ndarray:
    """Sorted global indices of ``per_cluster`` points of each cluster ('c' closest, 'r' random)."""
    key = dist if strategy == "c" else rng.random(len(labels))
    order = np.lexsort((key, labels))
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(labels, minlength=k), out=offsets[1:])
    rank_in_cluster = np.arange(len(order)) - offsets[labels[order]]
    return np.sort(order[rank_in_cluster < per_cluster])


def auto_sample_size(n_points: int, k: int) -> int:
    """The paper's rule of thumb: about half the mean cluster size (at least 2)."""
    return max(2, int(round(n_points / k / 2)))


def fit_level(be, shard: Shard, k: int, n_iter: int, n_steps: int, sample_size: int, strategy: str,
              rng: np.random.Generator, comm, d: int, kpp_cap: int = 0, resample_init: str = "kmeans++",
              progress=None) -> LevelResult:
    """k-means with resampling on the (distributed) rows of ``shard``."""
    C, local, st = kmeans(be, shard, k, n_iter, rng, comm, d, kpp_cap=kpp_cap)
    runs: list[LloydStats] = [st]
    dist_local = be.dist_own(shard.X, C, local)
    if progress is not None:
        progress(0)
    steps = n_steps if sample_size > 1 else 0
    subset_sizes = []
    for step in range(steps):
        labels = comm.all_gather(local)
        dist = comm.all_gather(dist_local)
        chosen = select_per_cluster(labels, dist, k, sample_size, strategy, rng)
        subset_sizes.append(len(chosen))
        m = be.nrows(shard.X)
        left, right = np.searchsorted(chosen, [shard.lo, shard.lo + m])
        sub = Shard(X=be.gather(shard.X, chosen[left:right] - shard.lo), lo=int(left), n=len(chosen))
        init = C if resample_init == "previous" else None
        C, _, st = kmeans(be, sub, k, n_iter, rng, comm, d, kpp_cap=kpp_cap, init=init)
        runs.append(st)
        del sub
        local, _, _ = be.top2(shard.X, C)
        dist_local = be.dist_own(shard.X, C, local)
        if progress is not None:
            progress(step + 1)
    labels = comm.all_gather(local)
    dist = comm.all_gather(dist_local)
    counts = np.bincount(labels, minlength=k)
    stats = {
        "k": k, "resampling_steps": steps, "sample_size": sample_size if steps else 0,
        "lloyd_iterations": [r.iterations for r in runs],
        "searched_fraction": float(np.mean([r.searched for r in runs])),
        "subset_size": int(np.mean(subset_sizes)) if subset_sizes else 0,
        "empty_clusters": int((counts == 0).sum()),
        "inertia": float(dist.astype(np.float64).sum()),
    }
    return LevelResult(C, labels, dist, stats)


def split_clusters(be, X_full, parent: LevelResult, n_split: int, n_iter: int, seed: int, comm, d: int) -> LevelResult:
    """Split each cluster into min(n_split, size) sub-clusters by k-means inside it; drop empty ones.

    Cluster j is split with its own generator (seed, j), on rank j % world,
    so the result does not depend on the number of processes.
    """
    from .comm import LocalComm

    k = parent.centroids.shape[0]
    order, offsets = sort_clusters(parent.labels, parent.dist, k)
    local = LocalComm()
    mine = []
    for j in range(comm.rank, k, comm.world):
        members = np.sort(order[offsets[j]:offsets[j + 1]])
        if len(members) == 0:
            continue
        rng = np.random.default_rng([seed, 1, j])
        rows = be.prepare(np.ascontiguousarray(X_full[members], dtype=np.float32))
        ks = min(n_split, len(members))
        C, lab, _ = kmeans(be, Shard(rows, 0, len(members)), ks, n_iter, rng, local, d)
        dist = be.dist_own(rows, C, lab)
        used = np.unique(lab)
        remap = np.full(ks, -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        mine.append((j, C[used], members, remap[lab], dist))
    parts = [p for chunk in comm.all_gather_object(mine) for p in chunk]
    parts.sort(key=lambda p: p[0])
    n = len(parent.labels)
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float32)
    cents = []
    base = 0
    for _, C, members, lab, dd in parts:
        labels[members] = lab + base
        dist[members] = dd
        cents.append(C)
        base += len(C)
    C = np.concatenate(cents).astype(np.float32)
    stats = dict(parent.stats, split=n_split, k_before_split=k, k=int(len(C)),
                 inertia=float(dist.astype(np.float64).sum()), empty_clusters=0)
    return LevelResult(C, labels, dist, stats)

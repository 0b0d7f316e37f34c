"""k-means as in the paper: greedy k-means++ seeding (2 + ln k candidates per
centre, the one that lowers the potential most wins), then Lloyd iterations
with float64 cluster sums; an empty cluster keeps its previous centroid.

The same code runs on one process or many: a rank holds the rows
``[lo, lo + len(X))`` of ``n`` rows in all. Cluster sums and counts are
all-reduced; in each k-means++ round the candidate rows are all-reduced from
the ranks that hold them and one all-gather carries every rank's potentials
together with rank 0's draws for the next round (every rank also keeps its
generator in step, so later draws agree). With one process every collective
is the identity.

Lloyd uses Hamerly's bounds (an upper bound on the distance to the own
centroid, a lower bound on the distance to any other): a row whose bounds
prove that its centroid cannot change is not searched again. This is an
exact acceleration -- the assignments are those of the plain algorithm, up to
ties within floating-point error -- and, once k-means settles, most rows skip
the O(k d) search. Iterations stop early only when no row changed cluster,
after which every further iteration would be a no-op.
"""
from __future__ import annotations

import dataclasses

import numpy as np

#: relative slack on squared distances from the |x|^2 - 2xc + |c|^2 expansion (float32 round-off)
EXPANSION_SLACK = 1e-4


@dataclasses.dataclass
class Shard:
    """This rank's rows of a k-means input (native backend array) and their global place."""

    X: object
    lo: int
    n: int


@dataclasses.dataclass
class LloydStats:
    iterations: int = 0
    searched: float = 0.0  # fraction of (row, iteration) pairs that needed a full search
    empty: int = 0         # empty clusters after the last update (they kept their centroid)


def fetch_rows(be, shard: Shard, ids: np.ndarray, comm, d: int) -> np.ndarray:
    """Rows with global ids ``ids`` (float32 numpy), whichever rank holds them."""
    ids = np.asarray(ids, dtype=np.int64)
    m = be.nrows(shard.X)
    if comm.world == 1:
        return be.to_numpy(be.gather(shard.X, ids - shard.lo)).astype(np.float32)
    out = np.zeros((len(ids), d), dtype=np.float32)
    mine = (ids >= shard.lo) & (ids < shard.lo + m)
    if mine.any():
        out[mine] = be.to_numpy(be.gather(shard.X, ids[mine] - shard.lo))
    return comm.all_reduce_sum(out)


def kmeans_plusplus(be, shard: Shard, k: int, rng: np.random.Generator, comm, d: int) -> np.ndarray:
    """Greedy k-means++ over the (distributed) rows of ``shard``; returns (k, d) float32."""
    with be.kpp_session():
        return _kmeans_plusplus(be, shard, k, rng, comm, d)


def _kmeans_plusplus(be, shard: Shard, k: int, rng: np.random.Generator, comm, d: int) -> np.ndarray:
    trials = 2 + int(np.log(k))
    st = be.kpp_state(shard.X)
    m = be.nrows(shard.X)
    centers = np.empty((k, d), dtype=np.float32)
    first = comm.broadcast(np.array([rng.integers(shard.n)], dtype=np.int64))
    centers[0] = fetch_rows(be, shard, first, comm, d)[0]
    be.kpp_accept(st, centers[0], 0, None)
    multi = comm.world > 1
    if multi:
        # one all-gather per round carries every rank's potentials and rank 0's draws for the next round
        g = comm.all_gather(np.concatenate([[st.total if m else 0.0], rng.random(trials)])[None, :])
        totals, u = g[:, 0], g[0, 1:]
    for c in range(1, k):
        if not multi:
            u = rng.random(trials)
            ids = be.search_cumsum(st.D, u * st.total) + shard.lo
            cands = fetch_rows(be, shard, ids, comm, d)
        else:
            ends = np.cumsum(totals)
            targets = u * ends[-1]
            owner = np.minimum(np.searchsorted(ends, targets, side="left"), comm.world - 1)
            packed = np.zeros((trials, d + 1), dtype=np.float64)  # candidate rows | global id + 1
            mine = np.flatnonzero(owner == comm.rank)
            if len(mine) and m > 0:
                local_ids = be.search_cumsum(st.D, targets[mine] - (ends[comm.rank] - totals[comm.rank]))
                packed[mine, :d] = be.to_numpy(be.gather(shard.X, local_ids))
                packed[mine, d] = local_ids + shard.lo + 1
            packed = comm.all_reduce_sum(packed)
            cands = packed[:, :d].astype(np.float32)
        local = be.kpp_pots(st, cands, centers[:c]) if m else np.zeros(trials)
        if multi:
            nxt = rng.random(trials) if c < k - 1 else np.zeros(trials)
            g = comm.all_gather(np.concatenate([np.asarray(local, dtype=np.float64), nxt])[None, :])
            pots, u = g[:, :trials].sum(0), g[0, trials:]
        else:
            pots = local
        best = int(np.argmin(pots))
        centers[c] = cands[best]
        if m:
            be.kpp_accept(st, centers[c], c, best)
        if multi:
            totals = g[:, best]
    return centers


def _nearest_other(be, C: np.ndarray) -> np.ndarray:
    """Half the distance from each centroid to its nearest other centroid (Hamerly's s)."""
    k = C.shape[0]
    if k < 2:
        return np.full(k, np.inf)
    labels, d1, d2 = be.top2(be.prepare(C), C)
    other = np.where(labels == np.arange(k), d2, d1).astype(np.float64)
    slack = EXPANSION_SLACK * 2 * float(np.max(np.einsum("ij,ij->i", C, C)))
    return 0.5 * np.sqrt(np.maximum(other - slack, 0))


def lloyd(be, shard: Shard, C: np.ndarray, n_iter: int, comm) -> tuple[np.ndarray, np.ndarray, LloydStats]:
    """``n_iter`` updates of the centroids, each followed by an assignment. Returns
    (centroids float32 (k, d), local labels int64, stats)."""
    X = shard.X
    C = np.ascontiguousarray(C, dtype=np.float32)
    k = C.shape[0]
    m = be.nrows(X)
    xn = be.to_numpy(be.sqnorms(X)).astype(np.float64)
    cmax = float(np.max(np.einsum("ij,ij->i", C, C))) if k else 0.0

    def bounds(d1, d2, rows):
        tau = EXPANSION_SLACK * (xn[rows] + cmax)
        return np.sqrt(d1.astype(np.float64) + tau), np.sqrt(np.maximum(d2.astype(np.float64) - tau, 0))

    a, d1, d2 = be.top2(X, C)
    u, low = bounds(d1, d2, slice(None))
    stats = LloydStats()
    searched = 0
    changed = 0
    for it in range(n_iter):
        sums, counts = be.sums(X, a, k)
        # one all-reduce: sums, counts and how many rows the last assignment moved
        packed = comm.all_reduce_sum(np.concatenate([sums.ravel(), counts.astype(np.float64), [changed]]))
        if it > 0 and packed[-1] == 0:
            break  # nothing moved: this update would reproduce the current centroids exactly
        sums, counts = packed[:k * sums.shape[1]].reshape(sums.shape), packed[k * sums.shape[1]:-1]
        nonempty = counts > 0
        newC = C.copy()
        newC[nonempty] = (sums[nonempty] / counts[nonempty, None]).astype(np.float32)
        stats.empty = int((~nonempty).sum())
        delta = np.sqrt(((newC.astype(np.float64) - C) ** 2).sum(1))
        C = newC
        cmax = float(np.max(np.einsum("ij,ij->i", C, C)))
        stats.iterations = it + 1
        changed = 0
        if m:
            # Hamerly: own centroid moved by delta[a]; any other by at most the largest other shift.
            u += delta[a]
            if k > 1:
                j1 = int(np.argmax(delta))
                second = float(np.max(np.delete(delta, j1)))
                low -= np.where(a == j1, second, float(delta[j1]))
            # Hamerly's second test (half the gap to the nearest other centroid) costs O(k^2 d): worth it
            # only when k is small next to the number of rows
            z = np.maximum(low, _nearest_other(be, C)[a]) if 8 * k <= m else low
            cand = np.flatnonzero(u > z)
            if len(cand):
                own = be.dist_own(X, C, a[cand], idx=cand).astype(np.float64)
                u[cand] = np.sqrt(own) * (1 + 1e-6)
                cand = cand[u[cand] > z[cand]]
            if len(cand):
                searched += len(cand)
                na, nd1, nd2 = be.top2(X, C, idx=cand)
                changed = int((na != a[cand]).sum())
                a[cand] = na
                u[cand], low[cand] = bounds(nd1, nd2, cand)
    stats.searched = searched / max(1, m * max(1, stats.iterations))
    return C, a, stats


def seeding_shard(be, shard: Shard, k: int, cap: int, rng: np.random.Generator) -> Shard:
    """The rows k-means++ scans: all of them, or a uniform subsample of ``cap * k``."""
    if cap <= 0 or cap * k >= shard.n:
        return shard
    m = cap * k
    sub = np.sort(rng.choice(shard.n, size=m, replace=False))
    hi = shard.lo + be.nrows(shard.X)
    left, right = np.searchsorted(sub, [shard.lo, hi])
    local = sub[left:right] - shard.lo
    return Shard(X=be.gather(shard.X, local), lo=int(left), n=m)


def kmeans(be, shard: Shard, k: int, n_iter: int, rng: np.random.Generator, comm, d: int,
           kpp_cap: int = 0, init: np.ndarray | None = None):
    """k-means++ (or ``init``) then Lloyd. Returns (centroids, local labels, stats)."""
    if init is None:
        init = kmeans_plusplus(be, seeding_shard(be, shard, k, kpp_cap, rng), k, rng, comm, d)
    return lloyd(be, shard, init, n_iter, comm)

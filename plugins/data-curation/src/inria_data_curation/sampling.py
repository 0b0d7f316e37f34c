"""Balanced hierarchical sampling (the paper's ``hierarchical_sampling``).

At the top level every cluster gets ``min(x, size)`` points, with ``x`` the
largest cap such that the total stays within ``n``; the remainder goes, one
point each, to randomly chosen clusters larger than ``x``. Each cluster's
quota is then split the same way among its children, level by level; a
leaf cluster that is not taken whole gives its ``r`` (random) or ``c``
(closest to the centroid) points.

One change to the paper: when a quota is smaller than the number of
children (cap x = 0), the paper hands single points to children chosen
uniformly at random, and a small concept whose one cluster sits in a parent
next to several pieces of a big concept is skipped with high probability
(measured: 5 of 1000 concepts lost on the long-tailed test mixture). Here
those children are picked by farthest-point traversal of their centroids,
so the points go to the most distinct children (0 concepts lost).

A quota is never larger than the number of points under a cluster and the
split always hands out the whole quota, so every cluster that receives a
quota delivers exactly that many points and the selection has exactly ``n``
distinct rows; ``hierarchical_sample`` checks both on the way down. (The
paper's ``multiplier``, which repeats whole clusters, is left out: it
returns duplicates.)
"""
from __future__ import annotations

import numpy as np

from .tree import Level, flat_sizes


def balanced_quota(sizes: np.ndarray, quota: int, rng: np.random.Generator,
                   centroids: np.ndarray | None = None) -> np.ndarray:
    """Split ``quota`` over clusters of ``sizes``: cap x, remainder +1 to random larger clusters.

    When the quota cannot give every non-empty cluster a point (x = 0) and
    ``centroids`` are given, the clusters that get one are chosen by
    farthest-point traversal of their centroids (a random first one, then
    each time the one farthest from those already chosen) instead of
    uniformly at random: a small, distinct cluster sitting next to many
    pieces of one large concept is then not skipped.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    total = int(sizes.sum())
    if quota >= total:
        return sizes.copy()
    if quota <= 0:
        return np.zeros_like(sizes)
    lo, hi = 0, int(sizes.max())  # sum(min(lo, s)) <= quota < sum(min(hi, s))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if int(np.minimum(mid, sizes).sum()) <= quota:
            lo = mid
        else:
            hi = mid
    out = np.minimum(lo, sizes)
    remainder = quota - int(out.sum())
    larger = np.flatnonzero(sizes > lo)
    # remainder < len(larger): otherwise cap lo + 1 would still fit
    if lo == 0 and centroids is not None and remainder > 1:
        out[farthest_first(np.asarray(centroids, dtype=np.float64)[larger], remainder, rng, larger)] += 1
    else:
        out[rng.choice(larger, size=remainder, replace=False)] += 1
    return out


def farthest_first(points: np.ndarray, m: int, rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
    """``m`` of ``ids`` (rows of ``points``) by farthest-point traversal from a random start."""
    chosen = [int(rng.integers(len(points)))]
    dist = ((points - points[chosen[0]]) ** 2).sum(1)
    for _ in range(m - 1):
        dist[chosen[-1]] = -1.0
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, ((points - points[nxt]) ** 2).sum(1))
        dist[chosen] = -1.0
    return ids[np.asarray(chosen)]


def cap_of(sizes: np.ndarray, quota: int) -> int:
    """The cap x that balanced_quota uses (for reports)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if quota >= sizes.sum():
        return int(sizes.max())
    lo, hi = 0, int(sizes.max())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if int(np.minimum(mid, sizes).sum()) <= quota else (lo, mid)
    return lo


def hierarchical_sample(levels: list[Level], n: int, strategy: str, rng: np.random.Generator,
                        pick: str = "farthest") -> np.ndarray:
    """``n`` distinct row indices (sorted), balanced down the cluster tree.

    ``pick``: 'farthest' or 'random' (the paper), see :func:`balanced_quota`.
    """
    flat = flat_sizes(levels)
    spread = pick == "farthest"
    quota = balanced_quota(flat[-1], n, rng, levels[-1].centroids if spread else None)
    for lvl in range(len(levels) - 1, 0, -1):
        parent, child_flat = levels[lvl], flat[lvl - 1]
        child_quota = np.zeros(levels[lvl - 1].k, dtype=np.int64)
        for j in np.flatnonzero(quota):
            children = parent.members(j)
            child_quota[children] = balanced_quota(child_flat[children], int(quota[j]), rng,
                                                   levels[lvl - 1].centroids[children] if spread else None)
            if child_quota[children].sum() != quota[j]:  # pragma: no cover - an invariant
                raise RuntimeError(f"quota split lost points under cluster {j} of level {lvl + 1}")
        quota = child_quota
    leaves = levels[0]
    picked = []
    for j in np.flatnonzero(quota):
        members, q = leaves.members(j), int(quota[j])
        if not 0 < q <= len(members):  # pragma: no cover - an invariant
            raise RuntimeError(f"leaf cluster {j} got quota {q} for {len(members)} points")
        if q == len(members):
            picked.append(members)
        elif strategy == "c":
            picked.append(members[:q])
        else:
            picked.append(rng.choice(members, size=q, replace=False))
    out = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    if len(out) != n or (len(out) > 1 and not np.all(np.diff(out) > 0)):  # pragma: no cover - an invariant
        raise RuntimeError(f"hierarchical sampling returned {len(out)} rows for n={n}")
    return out.astype(np.int64)

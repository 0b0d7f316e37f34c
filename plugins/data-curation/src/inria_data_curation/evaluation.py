"""Does the selection balance concepts? The paper's claim, measured.

On data with known concepts (labels), three samplers draw the same number
of rows: uniformly at random, balanced over the clusters of one flat k-means
(level 1 only), and balanced down the hierarchical k-means tree. For each
selection: the entropy of its concept histogram (nats; the larger, the more
uniform), the KL divergence of that histogram to the uniform distribution
over all concepts (ln C - entropy), the fraction of concepts covered and
the largest share one concept takes. ``hierarchical_random_pick`` is the
same tree sampled with the paper's random choice where a quota cannot reach
every child (see :mod:`.sampling`).
``oracle`` is the balanced split computed from the true labels: the most
uniform selection possible at this n.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .sampling import balanced_quota


def long_tailed_mixture(n_concepts: int = 1000, ratio: float = 1000.0, smallest: int = 2, dim: int = 32,
                        spread: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian concepts with power-law (Zipf-like) sizes: size(rank r) ~ r^-a, largest = ratio x smallest.

    Centres are N(0, I) in ``dim`` dimensions; each point is its centre plus
    N(0, spread^2 I). Returns (float32 vectors, int64 concept ids), shuffled.
    """
    rng = np.random.default_rng(seed)
    alpha = np.log(ratio) / np.log(n_concepts) if n_concepts > 1 else 0.0
    ranks = np.arange(1, n_concepts + 1, dtype=np.float64)
    sizes = np.maximum(smallest, np.round(smallest * ratio * ranks ** -alpha)).astype(np.int64)
    labels = np.repeat(np.arange(n_concepts), sizes)
    rng.shuffle(labels)
    centres = rng.standard_normal((n_concepts, dim))
    x = centres[labels] + spread * rng.standard_normal((len(labels), dim))
    return x.astype(np.float32), labels.astype(np.int64)


def concept_stats(labels: np.ndarray, selected: np.ndarray, n_concepts: int | None = None) -> dict[str, float]:
    """Entropy (nats), KL to uniform and coverage of the concept histogram of a selection."""
    labels = np.asarray(labels)
    _, dense = np.unique(labels, return_inverse=True)
    c = int(n_concepts or dense.max() + 1)
    hist = np.bincount(dense[selected], minlength=c).astype(np.float64)
    p = hist / hist.sum()
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    return {
        "entropy": entropy,
        "kl_to_uniform": float(np.log(c) - entropy),
        "coverage": float((hist > 0).mean()),
        "max_share": float(p.max()),
    }


def _flat_config(config):
    one = lambda name: [config.per_level(name)[0]]  # noqa: E731
    return dataclasses.replace(config, n_clusters=[config.n_clusters[0]], n_iter=one("n_iter"),
                               n_resampling_steps=[0], sample_size=one("sample_size"), strategy=one("strategy"),
                               n_split=1)


def compare_samplers(x: np.ndarray, labels: np.ndarray, n: int, config, ctx=None) -> dict[str, dict[str, float]]:
    """{sampler: concept_stats} for random, flat k-means, hierarchical k-means and the oracle."""
    from .curator import HierarchicalKMeans

    labels = np.asarray(labels)
    _, dense = np.unique(labels, return_inverse=True)
    c = int(dense.max() + 1)
    out = {}
    rng = np.random.default_rng([config.seed, 11])
    out["random"] = concept_stats(dense, rng.choice(len(x), size=n, replace=False), c)
    flat = HierarchicalKMeans(_flat_config(config))
    flat.fit(x, ctx=ctx)
    out["flat_kmeans"] = concept_stats(dense, flat.sample(n), c)
    hier = HierarchicalKMeans(config)
    hier.fit(x, ctx=ctx)
    out["hierarchical"] = concept_stats(dense, hier.sample(n), c)
    # the same tree, with the paper's uniformly random choice where a quota cannot reach every child
    paper = HierarchicalKMeans(dataclasses.replace(config, quota_pick="random"))
    paper.levels, paper.n_points, paper.dim = hier.levels, hier.n_points, hier.dim
    out["hierarchical_random_pick"] = concept_stats(dense, paper.sample(n), c)
    quota = balanced_quota(np.bincount(dense, minlength=c), n, rng)
    oracle = np.concatenate([np.flatnonzero(dense == j)[:q] for j, q in enumerate(quota) if q])
    out["oracle"] = concept_stats(dense, oracle, c)
    return out


def pseudo_concepts(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Without labels: the clusters of a plain k-means stand in for concepts."""
    from .curator import HierarchicalKMeans

    k = max(1, min(k, len(x)))
    km = HierarchicalKMeans(n_clusters=[k], n_resampling_steps=[0], seed=seed + 1, duplicates="allow")
    km.fit(x)
    return km.levels[0].assignments


def format_table(table: dict[str, dict[str, float]]) -> str:
    cols = ["entropy", "kl_to_uniform", "coverage", "max_share"]
    lines = [f"{'sampler':<26}" + "".join(f"{c:>15}" for c in cols)]
    for name, row in table.items():
        lines.append(f"{name:<26}" + "".join(f"{row[c]:>15.4f}" for c in cols))
    return "\n".join(lines)

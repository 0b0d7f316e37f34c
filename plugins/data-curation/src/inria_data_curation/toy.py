"""The paper's 2-D toy: five rings of very different densities.

Rings of 20000 / 200 / 1000 / 500 / 8000 points (radius 0.7 to 1.0), a
2-level run with [1000, 300] clusters and resampling sample sizes [15, 2],
then 1000 points sampled. Random sampling copies the densities (the dense
rings take almost everything); hierarchical sampling spreads the selection
over the rings and covers each ring's support uniformly. ``run_toy`` saves
the side-by-side picture as ``toy.png``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

RING_SIZES = (20000, 200, 1000, 500, 8000)
RING_CENTRES = ((-2.2, 1.0), (0.0, 1.0), (2.2, 1.0), (-1.2, 0.2), (1.2, 0.2))


def make_rings(seed: int = 0, rmin: float = 0.7, rmax: float = 1.0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The rings (``scale`` shrinks every ring's point count, for quick checks)."""
    rng = np.random.default_rng(seed)
    pts, ring = [], []
    for i, (n, c) in enumerate(zip(RING_SIZES, RING_CENTRES)):
        n = max(1, int(round(n * scale)))
        r = rng.random(n) * (rmax - rmin) + rmin
        a = rng.random(n) * 2 * np.pi
        pts.append(np.stack([r * np.cos(a), r * np.sin(a)], 1) + np.asarray(c))
        ring.append(np.full(n, i))
    return np.concatenate(pts).astype(np.float32), np.concatenate(ring).astype(np.int64)


def toy_config(base=None, steps: int = 10, scale: float = 1.0):
    from .config import HierarchicalKMeansConfig

    ks = [max(2, int(round(1000 * scale))), max(1, int(round(300 * scale)))]
    kw = dict(n_clusters=ks, sample_size=[15, 2], n_resampling_steps=[steps], n_iter=[50], strategy=["c"])
    if base is None:
        return HierarchicalKMeansConfig(**kw)
    return dataclasses.replace(base, n_split=1, **kw)


def run_toy(out_dir, config=None, seed: int = 0, n: int = 1000, steps: int = 10, scale: float = 1.0,
            save: bool = True) -> dict[str, float]:
    """Fit the toy (``steps`` resampling steps per level, 10 in the paper), sample ``n`` points, save
    ``toy.png`` in ``out_dir``; returns the selected points per ring, for both samplers.

    ``scale`` < 1 shrinks the point counts and the cluster counts alike (a quick version)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["axes.unicode_minus"] = False  # the default font here lacks the unicode minus
    from .curator import HierarchicalKMeans

    x, ring = make_rings(seed, scale=scale)
    model = HierarchicalKMeans(toy_config(config, steps, scale))
    model.fit(x)
    picked = model.sample(n)
    rand = np.random.default_rng([seed, 3]).choice(len(x), size=n, replace=False)
    metrics = {}
    for i in range(len(RING_SIZES)):
        metrics[f"hierarchical_ring{i}"] = float((ring[picked] == i).sum())
        metrics[f"random_ring{i}"] = float((ring[rand] == i).sum())
    if not save:
        return metrics
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharex=True, sharey=True)
    for ax, sel, title in ((axes[0], rand, f"random sampling ({n} points)"),
                           (axes[1], picked, f"hierarchical k-means sampling ({n} points)")):
        ax.scatter(x[:, 0], x[:, 1], s=0.3, c="0.85", rasterized=True)
        ax.scatter(x[sel, 0], x[sel, 1], s=3, c=ring[sel], cmap="tab10", vmin=0, vmax=9)
        ax.set_title(title)
        ax.set_aspect("equal")
    sizes = np.bincount(ring)
    fig.suptitle("2-D toy of Vo et al. 2024: rings of " + "/".join(map(str, sizes)) + " points; levels "
                 f"{model.config.n_clusters}, resampling sample sizes [15, 2], {steps} resampling steps")
    fig.tight_layout()
    out = Path(out_dir) / "toy.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return metrics

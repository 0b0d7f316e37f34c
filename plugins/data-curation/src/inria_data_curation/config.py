"""The typed config of ``hierarchical_kmeans`` (a recipe's ``with:`` block).

Per-level settings are lists, level 1 (the one that clusters the raw
vectors) first. A list of one value applies to every level.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

from inria.config import doc

STRATEGIES = ("c", "r")


@dataclasses.dataclass
class HierarchicalKMeansConfig:
    n_clusters: list[int] = doc([1000, 100], "clusters per level, level 1 first; must strictly decrease "
                                             "(level 1 counts n_clusters[0] * n_split when splitting)")
    n_iter: list[int] = doc([50], "Lloyd iterations of every k-means run, per level (the paper: 50)")
    n_resampling_steps: list[int] = doc([10], "resampling steps after the first k-means, per level (0: none)")
    sample_size: list[int] = doc([0], "points taken per cluster by a resampling step, per level; 0: half the "
                                      "mean cluster size (the paper's rule of thumb); 1: no resampling")
    strategy: list[str] = doc(["c"], "how a resampling step picks points in a cluster, per level: "
                                     "'c' the closest to the centroid, 'r' at random")
    n_split: int = doc(1, "split each level-1 cluster into at most this many sub-clusters by a k-means inside it "
                          "(the paper's n_splits for very large pools); cannot be combined with level-1 resampling")
    sampling_strategy: Literal["r", "c"] = doc("r", "how sample() picks points inside a leaf cluster that is not "
                                                    "taken whole: 'r' at random, 'c' the closest to the centroid")
    quota_pick: Literal["farthest", "random"] = doc("farthest", "when a cluster's quota is smaller than its number of "
                                                                "children, which children get a point: 'farthest' "
                                                                "(farthest-point traversal of their centroids, so a "
                                                                "small distinct child is not skipped) or 'random' "
                                                                "(the paper)")
    backend: Literal["auto", "faiss", "torch"] = doc("auto", "nearest-centroid engine: 'faiss' (numpy + faiss, "
                                                             "memory-lean on memory-mapped data), 'torch' (CPU or "
                                                             "CUDA), 'auto': faiss when importable, else torch")
    device: str = doc("auto", "cpu | cuda | cuda:N | auto (a GPU when the backend sees one; in a recipe, the "
                              "run's device)")
    seed: int = doc(0, "seed of k-means++, of the resampling and of sample(); same seed, same result")
    kpp_points_per_cluster: int = doc(16, "k-means++ seeding scans a random subsample of at most this many "
                                          "points per cluster (0: every point, as in the paper); seeding costs "
                                          "k^2 x this, the Lloyd iterations then use every point")
    resample_init: Literal["kmeans++", "previous"] = doc("kmeans++", "start of each resampling k-means: a fresh "
                                                                     "k-means++ (the paper) or the current centroids "
                                                                     "(cheaper on large k)")
    duplicates: Literal["error", "allow"] = doc("error", "duplicate rows: 'error' (deduplicate first, as the paper "
                                                         "does) or 'allow' (they count as separate points)")
    accumulate: Literal["float64", "float32"] = doc("float64", "precision of cluster sums and k-means++ potentials")

    @property
    def n_levels(self) -> int:
        return len(self.n_clusters)

    def per_level(self, name: str) -> list:
        values = list(getattr(self, name))
        return values * self.n_levels if len(values) == 1 else values

    def validate(self) -> None:
        k = list(self.n_clusters)
        if not k:
            raise ValueError("n_clusters is empty; give one count per level, e.g. [1000, 100]")
        if any(v < 1 for v in k):
            raise ValueError(f"n_clusters={k}: every level needs at least 1 cluster")
        if self.n_split < 1:
            raise ValueError(f"n_split={self.n_split}: accepted 1 (no split) or more")
        first = k[0] * self.n_split
        effective = [first] + k[1:]
        for i in range(1, len(k)):
            if effective[i] >= effective[i - 1]:
                shown = f"{k[0]}x{self.n_split}" if (i == 1 and self.n_split > 1) else str(effective[i - 1])
                raise ValueError(f"n_clusters={k} does not decrease: level {i + 1} has {k[i]} clusters, level {i} "
                                 f"has {shown}; each level clusters the centroids of the one below, so it needs fewer")
        for name in ("n_iter", "n_resampling_steps", "sample_size", "strategy"):
            values = list(getattr(self, name))
            if len(values) not in (1, len(k)):
                raise ValueError(f"{name}={values}: give one value or one per level ({len(k)} levels)")
        if any(v < 0 for v in self.n_iter):
            raise ValueError(f"n_iter={self.n_iter}: must be >= 0")
        if any(v < 0 for v in self.n_resampling_steps):
            raise ValueError(f"n_resampling_steps={self.n_resampling_steps}: must be >= 0")
        if any(v < 0 for v in self.sample_size):
            raise ValueError(f"sample_size={self.sample_size}: must be >= 0 (0: half the mean cluster size)")
        bad = [s for s in self.strategy if s not in STRATEGIES]
        if bad:
            raise ValueError(f"strategy={self.strategy}: '{bad[0]}' is not accepted; accepted: 'c' (closest), 'r' (random)")
        if self.n_split > 1 and self.per_level("n_resampling_steps")[0] > 0 and self.per_level("sample_size")[0] != 1:
            raise ValueError(f"n_split={self.n_split} with level-1 resampling: the paper cannot combine them; "
                             f"set n_resampling_steps[0]=0 (or n_split=1)")
        if self.kpp_points_per_cluster < 0:
            raise ValueError(f"kpp_points_per_cluster={self.kpp_points_per_cluster}: must be >= 0 (0: all points)")
        if self.device not in ("cpu", "cuda", "auto") and not (self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ValueError(f"device '{self.device}' is not accepted; accepted: cpu, cuda, cuda:N, auto")

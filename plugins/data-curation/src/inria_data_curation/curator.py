"""``hierarchical_kmeans``: the Curator of Vo et al. (2024).

``fit`` builds the cluster tree (level 1 clusters the vectors, level l the
centroids of level l-1, each level by k-means with resampling); ``sample(n)``
draws a balanced selection down the tree. The model directory holds the
card and the tree in plain ``.npy`` files (see :mod:`.tree`).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from inria.config import build, doc
from inria.errors import InriaError
from inria.interfaces import Curator, verb

from .checks import as_matrix, check_embeddings
from .comm import LocalComm, current_comm, row_range
from .config import HierarchicalKMeansConfig
from .kmeans import Shard
from .resampling import auto_sample_size, fit_level, sort_clusters, split_clusters
from .sampling import hierarchical_sample
from .tree import Level, flat_sizes, load_levels, save_levels


@dataclasses.dataclass
class CurateParams:
    n: int = doc(1000, "how many rows to select")


@dataclasses.dataclass
class EvaluateParams:
    n: int = doc(0, "selection size for every sampler; 0: 10% of the rows")
    concepts: int = doc(100, "without labels: the concepts are the clusters of a flat k-means with this many "
                             "clusters (a proxy for 'regions of the embedding space')")
    toy: bool = doc(True, "also run the paper's 2-D toy (rings of very different densities) and save toy.png")


def _faiss_gpus() -> int:
    try:
        import faiss
    except ImportError:
        return -1
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def _torch_gpu() -> bool:
    """Whether torch would see a GPU; torch is imported only when an NVIDIA driver is present
    (importing it costs ~0.7 GB of resident memory, which the CPU faiss path avoids)."""
    import os
    import sys

    if "torch" not in sys.modules and not (os.path.isdir("/proc/driver/nvidia/gpus")
                                           and os.listdir("/proc/driver/nvidia/gpus")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def make_backend(name: str, device: str, accumulate: str = "float64"):
    """Resolve 'auto' backend/device: a GPU when one is usable (faiss-gpu, else torch on CUDA),
    else faiss on the CPU (else torch on the CPU)."""
    if name == "auto":
        gpus = _faiss_gpus()
        if gpus < 0:
            name = "torch"
        elif device.startswith("cuda") and gpus == 0:
            name = "torch"
        elif device == "auto" and gpus == 0 and _torch_gpu():
            name, device = "torch", "cuda"
        else:
            name = "faiss"
    if name == "faiss":
        if device == "auto":
            device = "cuda" if _faiss_gpus() > 0 else "cpu"
        if _faiss_gpus() < 0:
            raise InriaError("backend 'faiss' needs the faiss package, which is not installed", where="backend",
                             hint="pip install faiss-cpu, or set backend: torch")
        from .backend_faiss import FaissBackend

        return FaissBackend(device, accumulate)
    from inria.context import resolve_device

    from .backend_torch import TorchBackend

    device = resolve_device(device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InriaError(f"device '{device}' asked but torch sees no CUDA GPU", where="device", hint="use cpu or auto")
    return TorchBackend(device, accumulate)


class HierarchicalKMeans(Curator):
    """Hierarchical k-means with resampling + balanced hierarchical sampling."""

    Config = HierarchicalKMeansConfig
    name = "hierarchical_kmeans"  # the entry-point name; also right when the class is imported directly

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.levels: list[Level] = []
        self.n_points = 0
        self.dim = 0
        self.fit_stats: dict = {}
        self.selected: np.ndarray | None = None

    # -- fit -------------------------------------------------------------------------------
    def fit(self, embeddings, ctx=None) -> dict[str, float]:
        """Build the cluster tree on (N, D) embeddings (a memory-mapped .npy is read in chunks).

        Under torch.distributed (more than one rank) every rank passes the same
        (memory-mapped) array; rank r clusters rows [N*r/W, N*(r+1)/W).
        """
        cfg = self.config
        X = as_matrix(embeddings)
        comm = current_comm()
        ks = list(cfg.n_clusters)
        check_embeddings(X, ks[0], cfg.duplicates, comm)
        # 'auto' lets the backend take a GPU it sees, unless the run itself asked for the CPU
        device = "cpu" if (cfg.device == "auto" and ctx is not None and ctx.device == "cpu") else cfg.device
        be = make_backend(cfg.backend, device, cfg.accumulate)
        n, d = X.shape
        lo, hi = row_range(n, comm.rank, comm.world)
        rng = np.random.default_rng(cfg.seed)
        n_iter, steps = cfg.per_level("n_iter"), cfg.per_level("n_resampling_steps")
        sizes, strategies = cfg.per_level("sample_size"), cfg.per_level("strategy")
        levels: list[Level] = []
        stats: dict = {"backend": be.name, "device": str(be.device), "world_size": comm.world}
        t_all = time.perf_counter()
        for lvl, k in enumerate(ks):
            t0 = time.perf_counter()
            if lvl == 0:
                shard, level_comm, n_l = Shard(be.prepare(X[lo:hi]), lo, n), comm, n
            else:
                prev = levels[-1].centroids
                shard, level_comm, n_l = Shard(be.prepare(prev), 0, len(prev)), LocalComm(), len(prev)
            if k > n_l:
                raise InriaError(f"level {lvl + 1}: n_clusters[{lvl}]={k} is more clusters than its {n_l} points "
                                 f"(the centroids of level {lvl})", where="n_clusters",
                                 hint=f"use n_clusters[{lvl}] < {n_l}")
            s = sizes[lvl] or auto_sample_size(n_l, k)
            bar = None
            if ctx is not None and steps[lvl] and s > 1:
                bar = ctx.progress(range(steps[lvl] + 1), desc=f"level {lvl + 1} resampling")
            res = fit_level(be, shard, k, n_iter[lvl], steps[lvl], s, strategies[lvl], rng, level_comm, d,
                            kpp_cap=cfg.kpp_points_per_cluster, resample_init=cfg.resample_init,
                            progress=(lambda i, b=bar: b.update(1)) if bar is not None else None)
            if bar is not None:
                bar.close()
            if lvl == 0 and cfg.n_split > 1:
                res = split_clusters(be, X, res, cfg.n_split, n_iter[0], cfg.seed, comm, d)
            order, offsets = sort_clusters(res.labels, res.dist, res.centroids.shape[0])
            levels.append(Level(res.centroids, res.labels, order, offsets))
            res.stats["seconds"] = time.perf_counter() - t0
            stats[f"level{lvl + 1}"] = res.stats
            del shard
        self.levels, self.n_points, self.dim = levels, n, d
        self.selected = None
        stats["seconds"] = time.perf_counter() - t_all
        self.fit_stats = stats
        metrics: dict[str, float] = {"points": float(n), "seconds": stats["seconds"]}
        for i, lev in enumerate(levels, start=1):
            metrics[f"level{i}_clusters"] = float(lev.k)
            metrics[f"level{i}_empty_clusters"] = float((lev.sizes == 0).sum())
            metrics[f"level{i}_inertia"] = float(stats[f"level{i}"]["inertia"])
        return metrics

    # -- sample ----------------------------------------------------------------------------
    def sample(self, n: int) -> np.ndarray:
        """``n`` distinct row indices, balanced down the tree; the same for the same seed and n."""
        if not self.levels:
            raise InriaError("the curator is not fitted", where="sample", hint="call fit(embeddings) or load() first")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise InriaError(f"n={n!r} is not an int", where="sample.n")
        if n < 1 or n > self.n_points:
            raise InriaError(f"n={n} is outside [1, {self.n_points}] (the fitted rows)", where="sample.n",
                             hint="a selection cannot be larger than the data")
        rng = np.random.default_rng([self.config.seed, 7])
        self.selected = hierarchical_sample(self.levels, int(n), self.config.sampling_strategy, rng,
                                            pick=self.config.quota_pick)
        return self.selected

    def cluster_sizes(self, level: int = 1) -> np.ndarray:
        """Points under each cluster of a level (1-based)."""
        return flat_sizes(self.levels)[level - 1]

    # -- model directory -------------------------------------------------------------------
    def save(self, path) -> Path:
        from inria.modeldir import write_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_levels(path, self.levels)
        if self.selected is not None:
            np.save(path / "selected_indices.npy", self.selected, allow_pickle=False)
        write_card(path, self, n_points=self.n_points, dim=self.dim, n_levels=len(self.levels),
                   clusters=[lev.k for lev in self.levels], fit=_plain(self.fit_stats))
        return path

    @classmethod
    def load(cls, path) -> "HierarchicalKMeans":
        from inria.modeldir import read_card

        path = Path(path)
        card = read_card(path, expect=cls)
        self = cls(build(cls.Config, card["config"], where=f"{path}/card.yaml:config"))
        extra = card.get("extra") or {}
        try:
            n_points, dim, n_levels = int(extra["n_points"]), int(extra["dim"]), int(extra["n_levels"])
        except (KeyError, TypeError, ValueError):
            raise InriaError("card lacks n_points/dim/n_levels under 'extra'", where=f"{path}/card.yaml") from None
        if n_points < 1 or dim < 1 or n_levels < 1:
            raise InriaError(f"card has n_points={n_points}, dim={dim}, n_levels={n_levels}", where=f"{path}/card.yaml")
        self.levels = load_levels(path, n_levels, n_points, dim)
        self.n_points, self.dim = n_points, dim
        self.fit_stats = extra.get("fit") or {}
        sel = path / "selected_indices.npy"
        if sel.is_file():
            arr = np.load(sel, allow_pickle=False)
            if arr.ndim != 1 or arr.dtype.kind not in "iu" or (arr.size and (arr.min() < 0 or arr.max() >= n_points)):
                raise InriaError("not a valid index array for this model", where=str(sel))
            self.selected = arr.astype(np.int64)
        return self

    # -- verbs -----------------------------------------------------------------------------
    # fit_step: the base Curator's (fit, then rank 0 alone writes the cluster tree; the other ranks wait)

    @verb(inputs={"model": "model", "images": "images?"},
          outputs={"indices": "indices", "metrics": "metrics", "images": "images?"}, params=CurateParams)
    def sample_step(self, ctx, model, images=None, n=1000):
        """Select n rows, balanced down the cluster tree; also writes selected_indices.npy.

        When ``images`` (the pool the model was fitted on, in the same order)
        are wired, the optional ``images`` output holds the selected ones."""
        idx = self.sample(n)
        if ctx.is_main:  # every rank draws the same selection; one writes it
            np.save(ctx.out_dir / "selected_indices.npy", idx, allow_pickle=False)
        out = {"indices": idx, "metrics": {"selected": int(len(idx)), "pool": int(self.n_points)}}
        if images is not None:
            if len(images) != self.n_points:
                raise InriaError(f"{len(images)} images for a model fitted on {self.n_points} rows", where="images")
            out["images"] = images[idx] if hasattr(images, "shape") else [images[i] for i in idx]
        return out

    @verb(inputs={"vectors": "vectors", "labels": "labels?"}, outputs={"metrics": "metrics"}, params=EvaluateParams)
    def evaluate_step(self, ctx, vectors, labels=None, n=0, concepts=100, toy=True):
        """Concept balance of random, flat k-means and hierarchical sampling at the same n (+ toy.png).

        For each selection: entropy of its concept histogram, KL divergence
        to uniform, fraction of concepts covered, largest concept share."""
        from .evaluation import compare_samplers, pseudo_concepts

        X = as_matrix(vectors, where="vectors")
        if labels is None:
            labels = pseudo_concepts(X, concepts, seed=self.config.seed)
        n = n or max(1, len(X) // 10)
        table = compare_samplers(X, np.asarray(labels), n, self.config, ctx=ctx)
        metrics = {f"{s}/{m}": v for s, row in table.items() for m, v in row.items()}
        if toy:
            from .toy import run_toy

            toy_metrics = run_toy(ctx.out_dir, config=self.config, save=ctx.is_main)
            metrics.update({f"toy/{k}": v for k, v in toy_metrics.items()})
        return {"metrics": metrics}


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj

"""The cluster tree in open formats, one folder per level.

``level{l}/`` holds plain ``.npy`` arrays (``allow_pickle=False`` both ways):

- ``centroids.npy``: (k_l, d) float32;
- ``assignments.npy``: (n_{l-1},) int64, the cluster of every point of the
  level below (level 1: of every row of the embeddings);
- ``sorted_clusters_indices.npy`` + ``sorted_clusters_offsets.npy``: the
  members of cluster j are ``indices[offsets[j]:offsets[j+1]]``, closest to
  the centroid first. This replaces the paper's pickled object array of
  index arrays.

Loading checks every shape, range and offset before trusting it.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from inria.errors import InriaError

FILES = ("centroids.npy", "assignments.npy", "sorted_clusters_indices.npy", "sorted_clusters_offsets.npy")


@dataclasses.dataclass
class Level:
    centroids: np.ndarray
    assignments: np.ndarray
    indices: np.ndarray
    offsets: np.ndarray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def members(self, j: int) -> np.ndarray:
        return self.indices[self.offsets[j]:self.offsets[j + 1]]


def flat_sizes(levels: list[Level]) -> list[np.ndarray]:
    """Number of raw points under every cluster of every level."""
    out = []
    below = None
    for lev in levels:
        if below is None:
            sizes = lev.sizes.astype(np.int64)
        else:
            sizes = np.bincount(lev.assignments, weights=below, minlength=lev.k).astype(np.int64)
        out.append(sizes)
        below = sizes
    return out


def save_levels(path: Path, levels: list[Level]) -> None:
    for i, lev in enumerate(levels, start=1):
        folder = Path(path) / f"level{i}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in zip(FILES, (lev.centroids, lev.assignments, lev.indices, lev.offsets)):
            np.save(folder / name, np.ascontiguousarray(arr), allow_pickle=False)


def _load(path: Path, dtype, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise InriaError("missing file of the cluster tree", where=str(path), hint="the model directory is incomplete")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InriaError(f"corrupt or truncated .npy ({str(e).splitlines()[0]})", where=str(path)) from None
    if arr.ndim != ndim or arr.dtype.kind != np.dtype(dtype).kind:
        raise InriaError(f"expected a {ndim}-D {np.dtype(dtype).name} array, got {arr.dtype} {arr.shape}", where=str(path))
    return arr.astype(dtype, copy=False)


def load_levels(path: Path, n_levels: int, n_points: int, dim: int) -> list[Level]:
    levels = []
    n_below = n_points
    for i in range(1, n_levels + 1):
        folder = Path(path) / f"level{i}"
        C = _load(folder / FILES[0], np.float32, 2)
        a = _load(folder / FILES[1], np.int64, 1)
        idx = _load(folder / FILES[2], np.int64, 1)
        off = _load(folder / FILES[3], np.int64, 1)
        k = C.shape[0]
        where = str(folder)
        if C.shape[1] != dim:
            raise InriaError(f"centroids have dimension {C.shape[1]}, the card says {dim}", where=where)
        if len(a) != n_below or len(idx) != n_below:
            raise InriaError(f"assignments/indices cover {len(a)}/{len(idx)} points, expected {n_below}", where=where)
        if len(off) != k + 1 or off[0] != 0 or off[-1] != n_below or np.any(np.diff(off) < 0):
            raise InriaError("sorted_clusters_offsets is not a valid offset array for these clusters", where=where)
        if n_below and (a.min() < 0 or a.max() >= k):
            raise InriaError(f"assignments outside [0, {k})", where=where)
        if n_below and (idx.min() < 0 or idx.max() >= n_below or len(np.unique(idx)) != n_below):
            raise InriaError("sorted_clusters_indices is not a permutation of the points", where=where)
        if not np.array_equal(np.diff(off), np.bincount(a, minlength=k)):
            raise InriaError("cluster sizes in the offsets disagree with the assignments", where=where)
        if not np.array_equal(a[idx], np.repeat(np.arange(k), np.diff(off))):
            raise InriaError("sorted_clusters_indices lists a point under a cluster it is not assigned to", where=where)
        levels.append(Level(C, a, idx, off))
        n_below = k
    return levels

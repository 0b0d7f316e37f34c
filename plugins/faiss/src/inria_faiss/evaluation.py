"""Exact ground truth, timing and sizes for ``tune`` and ``evaluate``."""
from __future__ import annotations

import time
from typing import Callable

import faiss
import numpy as np

from inria.errors import InriaError


def exact_knn(queries: np.ndarray, base, k: int, metric: str, prep: Callable, batch: int = 65536,
              ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force k-NN of float32 ``queries`` (already prepared) in ``base`` (any array, read in batches).

    ``prep(batch, offset)`` turns a batch of base rows into what the index
    stores (float32, normalised for cosine). ``ids`` maps rows to the ids
    given to ``add``.
    """
    ip = metric != "l2"
    heap = faiss.ResultHeap(len(queries), k, keep_max=ip)
    mt = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    for i0 in range(0, len(base), batch):
        xb = prep(base[i0:i0 + batch], i0)
        D, I = faiss.knn(queries, xb, min(k, len(xb)), metric=mt)
        if D.shape[1] < k:
            pad = k - D.shape[1]
            D = np.hstack([D, np.full((len(D), pad), -np.inf if ip else np.inf, np.float32)])
            I = np.hstack([I, np.full((len(I), pad), -1, np.int64)])
        heap.add_result(np.ascontiguousarray(D, dtype=np.float32), np.ascontiguousarray(np.where(I >= 0, I + i0, -1)))
    heap.finalize()
    I = heap.I
    if ids is not None:
        if len(ids) != len(base):
            raise InriaError(f"{len(ids)} ids for {len(base)} base vectors", where="ids")
        I = np.where(I >= 0, ids[np.clip(I, 0, None)], -1)
    return heap.D, I


def ground_truth(gt, nq: int) -> np.ndarray:
    gt = np.asarray(gt)
    if gt.ndim == 1:
        gt = gt.reshape(-1, 1)
    if gt.ndim != 2 or len(gt) != nq or not np.issubdtype(gt.dtype, np.integer):
        raise InriaError(f"expected integer ground truth of shape ({nq}, k), got {gt.dtype} {tuple(gt.shape)}",
                         where="ground_truth")
    return gt.astype(np.int64)


def timed(fn: Callable[[], object], min_seconds: float = 0.2, max_runs: int = 5) -> tuple[object, float]:
    """(result, best seconds): reruns a fast call until ``min_seconds`` are spent (steadier numbers)."""
    best, spent, runs, out = float("inf"), 0.0, 0, None
    while runs < max_runs and (runs == 0 or spent < min_seconds):
        t0 = time.perf_counter()
        out = fn()
        took = time.perf_counter() - t0
        best, spent, runs = min(best, took), spent + took, runs + 1
    return out, best


def serialized_bytes(index) -> int:
    return int(faiss.serialize_index(index).size)

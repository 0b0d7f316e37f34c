"""Operating points: ParameterSpace.explore, and keeping the fastest one that is accurate enough.

``explore`` runs the queries under parameter combinations (nprobe,
efSearch, k_factor, ht, quantizer_efSearch ... whatever the index has) and
keeps the Pareto-optimal ones in (1-recall@R, time). Recall here is the
1-recall@R of Faiss's ``OneRecallAtRCriterion``: the fraction of queries
whose exact nearest neighbour is among the first R results, the same
definition as ``inria.eval.metrics.recall_at_k``.
"""
from __future__ import annotations

import faiss
import numpy as np

from inria.errors import InriaError

from . import params


#: up to this many parameter combinations, every one is measured (beyond, explore's Pareto pruning)
EXHAUSTIVE = 64


def explore(index, queries: np.ndarray, gt_nn: np.ndarray, r: int, min_test_seconds: float = 0.0) -> list[dict]:
    """Measured operating points, fastest first: [{param, recall@R, qps}].

    Small spaces are measured exhaustively; larger ones with explore's
    pruning, which skips combinations that cannot beat a measured point.
    """
    nq = len(queries)
    gt = np.ascontiguousarray(np.asarray(gt_nn, dtype=np.int64).reshape(nq, -1)[:, :1])
    before = params.current(index)
    ps = params.space(index)
    params.initialize(ps, index)
    ps.verbose = 0
    if ps.n_combinations() <= EXHAUSTIVE:
        ps.n_experiments = 0
    if min_test_seconds:
        ps.min_test_duration = float(min_test_seconds)
    crit = faiss.OneRecallAtRCriterion(nq, int(r))
    crit.set_groundtruth(None, gt)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    index.search(queries[:256], int(r))  # warm up: a cold first run would make explore prune everything
    try:
        ops = ps.explore(index, queries, crit)
    except RuntimeError as e:
        from .factory import faiss_reason

        raise InriaError(f"exploring operating points failed ({faiss_reason(e)})", where="tune") from None
    finally:
        # explore leaves the last combination set; put back what was there
        for name, value in before.items():
            ps.set_index_parameter(index, name, float(value))
    points = []
    for i in range(ops.all_pts.size()):
        op = ops.all_pts.at(i)
        if op.t <= 0:  # explore's (perf 0, time 0) sentinel
            continue
        key = op.key or params.to_string(before)
        points.append({"param": key, f"recall@{r}": float(op.perf), "qps": float(nq / op.t)})
    points.sort(key=lambda p: -p["qps"])
    return points


def fastest_meeting(points: list[dict], target: float, r: int) -> dict:
    ok = [p for p in points if p[f"recall@{r}"] >= target]
    if not ok:
        best = max(points, key=lambda p: p[f"recall@{r}"]) if points else None
        reached = f"{best[f'recall@{r}']:.3f} at '{best['param']}'" if best else "no operating point"
        raise InriaError(f"no operating point reaches recall@{r} >= {target} (best: {reached})", where="target_recall",
                         hint="lower target_recall, or use a more accurate factory string (more nlist/M, Refine, Flat)")
    return max(ok, key=lambda p: p["qps"])


def spread(points: list[dict], n: int) -> list[dict]:
    """At most ``n`` points, evenly spread along the list (ends kept)."""
    if len(points) <= n:
        return points
    picks = np.unique(np.round(np.linspace(0, len(points) - 1, n)).astype(int))
    return [points[i] for i in picks]

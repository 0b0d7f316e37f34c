"""Input checks of ``fit``: each bad input is one line naming what is wrong.

Rows are read chunk by chunk (a memory-mapped pool is never loaded whole);
with several processes each rank checks its own rows and the counts are
all-reduced.
"""
from __future__ import annotations

import numpy as np

from inria.errors import InriaError

from .comm import row_range

CHUNK = 1 << 13  # 8k rows: the row hashes need an 8-byte copy of each chunk


def as_matrix(embeddings, where: str = "embeddings") -> np.ndarray:
    if hasattr(embeddings, "detach"):  # a torch tensor
        embeddings = embeddings.detach().cpu().numpy()
    if not isinstance(embeddings, np.ndarray):
        try:
            embeddings = np.asarray(embeddings)
        except Exception:  # noqa: BLE001 - anything numpy cannot read is a bad input
            raise InriaError(f"expected a float array (N, D), got {type(embeddings).__name__}", where=where) from None
    if embeddings.ndim != 2:
        raise InriaError(f"expected a 2-D array (N, D), got shape {embeddings.shape}", where=where)
    if embeddings.dtype.kind not in "fiu":
        raise InriaError(f"expected numbers, got dtype {embeddings.dtype}", where=where)
    if embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
        raise InriaError(f"empty array of shape {embeddings.shape}", where=where, hint="give at least one row of D > 0 numbers")
    return embeddings


def _row_hashes(chunk: np.ndarray, mult: np.ndarray) -> np.ndarray:
    bits = (np.asarray(chunk, dtype=np.float32) + np.float32(0)).view(np.uint32).astype(np.uint64)  # -0.0 -> +0.0
    h = (bits * mult).sum(1)
    h ^= h >> np.uint64(29)
    return h


def check_embeddings(X: np.ndarray, k1: int, duplicates: str, comm, where: str = "embeddings") -> int:
    """Raise InriaError on NaN/inf, too few rows, identical or duplicate rows. Returns the number of
    distinct rows."""
    n, d = X.shape
    lo, hi = row_range(n, comm.rank, comm.world)
    first_bad, bad_rows, diff_rows = n, 0, 0
    mult = np.random.default_rng(0x5EED).integers(1, 2**62, size=d, dtype=np.uint64) | np.uint64(1)
    hashes = np.empty(hi - lo, dtype=np.uint64)
    row0 = np.asarray(X[0], dtype=np.float32)
    for s in range(lo, hi, CHUNK):
        chunk = np.asarray(X[s:min(hi, s + CHUNK)], dtype=np.float32)
        bad = ~np.isfinite(chunk).all(1)
        if bad.any():
            first_bad = min(first_bad, s + int(np.argmax(bad)))
            bad_rows += int(bad.sum())
        diff_rows += int((chunk != row0).any(1).sum())
        hashes[s - lo:s - lo + len(chunk)] = _row_hashes(chunk, mult)
    counts = comm.all_reduce_sum(np.array([bad_rows, diff_rows], dtype=np.int64))
    first_bad = int(-comm.all_reduce_max(np.array([-first_bad], dtype=np.int64))[0])
    if counts[0]:
        raise InriaError(f"{int(counts[0])} row(s) hold NaN or inf values (first: row {first_bad})", where=where,
                         hint="drop or repair them before clustering")
    if k1 > n:
        raise InriaError(f"n_clusters[0]={k1} is more clusters than the {n} rows to cluster", where=where,
                         hint=f"use n_clusters[0] <= {n}")
    if counts[1] == 0 and n > 1:
        raise InriaError(f"all {n} rows are identical; there is nothing to cluster", where=where)
    hashes = comm.all_gather(hashes)
    uniq, first, cnt = np.unique(hashes, return_index=True, return_counts=True)
    distinct = len(uniq)
    if distinct < n:
        dup_hash = uniq[np.argmax(cnt > 1)]
        rows = np.flatnonzero(hashes == dup_hash)[:2]
        same = np.array_equal(np.asarray(X[rows[0]]), np.asarray(X[rows[1]]))
        if not same:  # a 64-bit hash collision: count it as distinct (astronomically rare)
            distinct += 1
        elif duplicates == "error":
            raise InriaError(f"{n - distinct} duplicate row(s) (e.g. rows {rows[0]} and {rows[1]} are equal)",
                             where=where, hint="deduplicate first (the paper removes copies before clustering) "
                                               "or set duplicates: allow")
    if distinct < k1:
        raise InriaError(f"n_clusters[0]={k1} is more clusters than the {distinct} distinct rows", where=where,
                         hint=f"use n_clusters[0] <= {distinct}")
    return distinct

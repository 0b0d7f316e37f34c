"""The 'faiss' backend: numpy arrays (memory-mapped ones included), Faiss
for exact nearest-centroid search, scipy for float64 cluster sums.

It never imports torch: importing torch alone costs ~0.7 GB of resident
memory here, more than the whole budget of "peak RSS <= 2x the data" on a
1M x 128 float32 pool. Rows are read chunk by chunk, so a memory-mapped
``.npy`` is never copied whole.
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 15  # rows per chunk: 32k x 128 float32 = 16 MB


class FaissBackend:
    name = "faiss"

    def __init__(self, device: str = "cpu", accumulate: str = "float64"):
        import faiss

        self.faiss = faiss
        self.device = device
        self.acc = np.float64 if accumulate == "float64" else np.float32
        self._gpu_res = None
        if device.startswith("cuda"):
            if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
                from inria.errors import InriaError

                raise InriaError("backend 'faiss' on CUDA needs faiss-gpu, which is not installed", where="device",
                                 hint="set backend: torch (CUDA through torch) or device: cpu")
            self._gpu_res = faiss.StandardGpuResources()

    # -- arrays ------------------------------------------------------------------
    def prepare(self, x: np.ndarray) -> np.ndarray:
        if x.dtype != np.float32:
            return np.ascontiguousarray(x, dtype=np.float32)
        return x  # a memory map stays a memory map

    def rows(self, X: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return np.ascontiguousarray(X[lo:hi])

    def gather(self, X: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(X[np.asarray(idx, dtype=np.int64)])

    def to_numpy(self, a) -> np.ndarray:
        return np.asarray(a)

    def nrows(self, X) -> int:
        return int(X.shape[0])

    # -- nearest centroids -----------------------------------------------------------
    def _index(self, C: np.ndarray):
        index = self.faiss.IndexFlatL2(C.shape[1])
        if self._gpu_res is not None:
            index = self.faiss.index_cpu_to_gpu(self._gpu_res, int(self.device.partition(":")[2] or 0), index)
        index.add(np.ascontiguousarray(C, dtype=np.float32))
        return index

    def top2(self, X, C: np.ndarray, idx: np.ndarray | None = None):
        """Nearest centroid of each row (of ``X[idx]`` when given): (label, d1, d2), squared L2.

        d2 is the squared distance to the second nearest centroid (inf when k == 1).
        """
        index = self._index(C)
        k2 = 2 if C.shape[0] > 1 else 1
        n = len(idx) if idx is not None else X.shape[0]
        labels = np.empty(n, dtype=np.int64)
        d1 = np.empty(n, dtype=np.float32)
        d2 = np.full(n, np.inf, dtype=np.float32)
        for s in range(0, n, CHUNK):
            e = min(n, s + CHUNK)
            chunk = self.gather(X, idx[s:e]) if idx is not None else self.rows(X, s, e)
            D, I = index.search(chunk, k2)
            labels[s:e] = I[:, 0]
            d1[s:e] = np.maximum(D[:, 0], 0)
            if k2 == 2:
                d2[s:e] = np.maximum(D[:, 1], 0)
        return labels, d1, d2

    def dist_own(self, X, C: np.ndarray, labels: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Squared distance of each row (of ``X[idx]``) to its own centroid, computed as a difference
        (not the |x|^2 - 2xc + |c|^2 expansion), so that sorting by it is exact."""
        n = len(labels)
        out = np.empty(n, dtype=np.float32)
        for s in range(0, n, CHUNK):
            e = min(n, s + CHUNK)
            chunk = self.gather(X, idx[s:e]) if idx is not None else self.rows(X, s, e)
            diff = chunk - C[labels[s:e]]
            out[s:e] = np.einsum("ij,ij->i", diff, diff)
        return out

    def sums(self, X, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-cluster sums (float64 by default) and counts: one sparse product per chunk."""
        import scipy.sparse as sp

        n, d = X.shape
        total = np.zeros((k, d), dtype=self.acc)
        step = CHUNK // 4  # a float64 copy of the chunk: 16k x 128 x 8 = 16 MB
        for s in range(0, n, step):
            e = min(n, s + step)
            chunk = self.rows(X, s, e).astype(self.acc)
            m = sp.csr_matrix((np.ones(e - s, dtype=self.acc), (labels[s:e], np.arange(e - s))), shape=(k, e - s))
            total += m @ chunk
        counts = np.bincount(labels, minlength=k).astype(np.int64)
        return total.astype(np.float64), counts

    # -- k-means++ -----------------------------------------------------------------------
    def sqnorms(self, X) -> np.ndarray:
        n = X.shape[0]
        out = np.empty(n, dtype=np.float32)
        for s in range(0, n, CHUNK):
            chunk = self.rows(X, s, min(n, s + CHUNK))
            out[s:s + len(chunk)] = np.einsum("ij,ij->i", chunk, chunk)
        return out

    def kpp_state(self, X) -> "KppState":
        return KppState(X, self.sqnorms(X), self.acc)

    def kpp_pots(self, st: "KppState", cands: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Local potential after adding each candidate: sum of min(D, |x - c|^2).

        Only rows that a candidate can pull closer are computed: with mu the
        row's current centre, |x - c| < |x - mu| needs |c - mu| < 2 |x - mu|
        (triangle inequality), i.e. |c - mu|^2 < 4 D. Other rows keep D.
        """
        return st.pots(cands, centers)

    def kpp_accept(self, st: "KppState", c: np.ndarray, center_id: int, best: int | None) -> None:
        st.accept(c, center_id, best)

    def kpp_session(self):
        return _one_blas_thread()

    def search_cumsum(self, D, targets: np.ndarray) -> np.ndarray:
        cs = np.cumsum(D, dtype=np.float64)
        return np.minimum(np.searchsorted(cs, targets, side="left"), len(D) - 1).astype(np.int64)


class _one_blas_thread:
    """k-means++ multiplies (rows x d) by (d x ~11): a skinny product that a
    multi-threaded BLAS spins on (10x slower on a busy 2-core machine)."""

    _controller = None

    def __enter__(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with the scipy/scikit-learn stack
            self._ctx = None
            return self
        if _one_blas_thread._controller is None:
            _one_blas_thread._controller = ThreadpoolController()
        self._ctx = _one_blas_thread._controller.limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.unregister()


def _sq_dists(x: np.ndarray, xn: np.ndarray, c: np.ndarray) -> np.ndarray:
    cn = np.einsum("ij,ij->i", c, c)
    d = x @ c.T
    d *= -2
    d += xn[:, None]
    d += cn[None, :]
    np.maximum(d, 0, out=d)
    return d


class KppState:
    """Per-row k-means++ state: D (squared distance to the closest centre so far) and that centre.

    Rows are handled in blocks of BLOCK consecutive rows: a block where many
    rows may move is computed whole (contiguous reads), a block where few may
    move gathers just those rows, a block where none may move is skipped.
    """

    BLOCK = 1 << 12
    DENSE = 0.4  # above this fraction of a block's rows, compute the whole block

    def __init__(self, X, xn, acc):
        from .kmeans import EXPANSION_SLACK

        self.X = X
        self.m = X.shape[0]
        self.xn = xn.astype(np.float32)
        self.D = np.full(self.m, np.inf, dtype=acc)
        # 4 D plus the round-off slack of the expansion: a row can only move to a candidate c if
        # |c - mu|^2 < 4 D (mu its centre); D4 keeps the right-hand side up to date
        self.slack = (4 * EXPANSION_SLACK) * self.xn
        self.D4 = np.full(self.m, np.inf, dtype=np.float32)
        self.owner = np.full(self.m, -1, dtype=np.int64)
        self.total = float("inf")
        self.cache = self.cache_gain = None
        self.cmax = 0.0
        self.cnorm = np.zeros(0, dtype=np.float32)
        self.rounds = 0
        self.starts = np.arange(0, self.m, self.BLOCK)

    def pots(self, cands, centers):
        from .kmeans import EXPANSION_SLACK

        m = self.m
        cands = np.ascontiguousarray(cands, dtype=np.float32)
        candn = np.einsum("ij,ij->i", cands, cands)
        self.cmax = max(self.cmax, float(candn.max()))
        # squared distance from each existing centre to its closest candidate
        kc = len(centers)
        if len(self.cnorm) < kc:
            new = np.asarray(centers[len(self.cnorm):kc], dtype=np.float32)
            self.cnorm = np.concatenate([self.cnorm, np.einsum("ij,ij->i", new, new)])
        cc = cands @ np.asarray(centers, dtype=np.float32).T
        cc *= -2
        cc += self.cnorm[None, :kc]
        cc += candn[:, None]
        cc = cc.min(0)
        cc -= 6 * EXPANSION_SLACK * self.cmax
        may_move = cc[self.owner] < self.D4
        per_block = np.add.reduceat(may_move, self.starts) if m else np.zeros(0, dtype=np.int64)
        gain = np.zeros(len(cands), dtype=np.float64)
        cache = []
        for b in np.flatnonzero(per_block):
            s = int(self.starts[b])
            e = min(m, s + self.BLOCK)
            if per_block[b] > self.DENSE * (e - s):
                rows = slice(s, e)
            else:
                rows = s + np.flatnonzero(may_move[s:e])
            d = _sq_dists(np.asarray(self.X[rows], dtype=np.float32), self.xn[rows], cands)
            diff = self.D[rows][:, None] - d
            np.maximum(diff, 0, out=diff)
            gain += diff.sum(0)
            cache.append((rows, d))
        self.cache, self.cache_gain = cache, gain
        return self.total - gain

    def accept(self, c, center_id, best):
        self.rounds += 1
        if best is None:  # the first centre: every row
            for s in range(0, self.m, CHUNK):
                e = min(self.m, s + CHUNK)
                self.D[s:e] = _sq_dists(np.asarray(self.X[s:e], dtype=np.float32), self.xn[s:e], c[None, :])[:, 0]
            self.owner[:] = center_id
            self.D4[:] = 4 * self.D + self.slack
            self.total = float(self.D.sum(dtype=np.float64))
            return
        for rows, d in self.cache:
            col = d[:, best]
            closer = col < self.D[rows]
            idx = (np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows)[closer]
            self.D[idx] = col[closer]
            self.D4[idx] = 4 * col[closer] + self.slack[idx]
            self.owner[idx] = center_id
        if self.rounds % 256 == 0:  # re-sum now and then so that round-off does not drift
            self.total = float(self.D.sum(dtype=np.float64))
        else:
            self.total -= float(self.cache_gain[best])
        self.cache = self.cache_gain = None

"""The 'torch' backend: the rows live in one torch tensor (CPU, or CUDA when
``device`` says so), nearest centroids by chunked matmul, float64 sums by
``index_add_``. Same operations, same results (up to floating-point order)
as the faiss backend; the bookkeeping around them is shared numpy code.
"""
from __future__ import annotations

import warnings

import numpy as np


class TorchBackend:
    name = "torch"

    def __init__(self, device: str = "cpu", accumulate: str = "float64"):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.acc = torch.float64 if accumulate == "float64" else torch.float32
        # elements of one (rows x centroids) distance block: 64 MB on CPU, 512 MB on a GPU
        self.budget = 1 << 24 if self.device.type == "cpu" else 1 << 27

    # -- arrays ------------------------------------------------------------------
    def prepare(self, x: np.ndarray):
        torch = self.torch
        if isinstance(x, torch.Tensor):
            return x.to(self.device, torch.float32)
        if self.device.type == "cpu":
            arr = x if x.dtype == np.float32 else np.ascontiguousarray(x, dtype=np.float32)
            with warnings.catch_warnings():  # read-only memory map: we never write to it
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(arr)
        out = torch.empty((x.shape[0], x.shape[1]), dtype=torch.float32, device=self.device)
        step = 1 << 18
        for s in range(0, x.shape[0], step):
            out[s:s + step] = torch.from_numpy(np.ascontiguousarray(x[s:s + step], dtype=np.float32)).to(self.device)
        return out

    def _idx(self, idx):
        return self.torch.from_numpy(np.asarray(idx, dtype=np.int64)).to(self.device)

    def rows(self, X, lo: int, hi: int):
        return X[lo:hi]

    def gather(self, X, idx: np.ndarray):
        return X[self._idx(idx)]

    def to_numpy(self, a) -> np.ndarray:
        return a.detach().cpu().numpy() if isinstance(a, self.torch.Tensor) else np.asarray(a)

    def nrows(self, X) -> int:
        return int(X.shape[0])

    def _t(self, a, dtype=None):
        return self.torch.as_tensor(np.asarray(a), device=self.device, dtype=dtype or self.torch.float32)

    # -- nearest centroids ---------------------------------------------------------------
    def top2(self, X, C: np.ndarray, idx: np.ndarray | None = None):
        torch = self.torch
        Ct = self._t(C)
        cn = (Ct * Ct).sum(1)
        k = Ct.shape[0]
        n = len(idx) if idx is not None else X.shape[0]
        step = max(1, self.budget // max(k, 1))
        labels = np.empty(n, dtype=np.int64)
        d1 = np.empty(n, dtype=np.float32)
        d2 = np.full(n, np.inf, dtype=np.float32)
        for s in range(0, n, step):
            e = min(n, s + step)
            x = self.gather(X, idx[s:e]) if idx is not None else X[s:e]
            d = torch.addmm(cn[None, :], x, Ct.T, alpha=-2).add_((x * x).sum(1, keepdim=True)).clamp_(min=0)
            if k >= 2:
                v, i = torch.topk(d, 2, dim=1, largest=False)
                d2[s:e] = v[:, 1].cpu().numpy()
            else:
                v, i = d, torch.zeros_like(d, dtype=torch.int64)
            labels[s:e] = i[:, 0].cpu().numpy()
            d1[s:e] = v[:, 0].cpu().numpy()
        return labels, d1, d2

    def dist_own(self, X, C: np.ndarray, labels: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        Ct = self._t(C)
        n = len(labels)
        out = np.empty(n, dtype=np.float32)
        step = 1 << 18
        for s in range(0, n, step):
            e = min(n, s + step)
            x = self.gather(X, idx[s:e]) if idx is not None else X[s:e]
            diff = x - Ct[self._idx(labels[s:e])]
            out[s:e] = (diff * diff).sum(1).cpu().numpy()
        return out

    def sums(self, X, labels: np.ndarray, k: int):
        torch = self.torch
        d = X.shape[1]
        total = torch.zeros((k, d), dtype=self.acc, device=self.device)
        step = 1 << 18
        for s in range(0, X.shape[0], step):
            e = min(X.shape[0], s + step)
            total.index_add_(0, self._idx(labels[s:e]), X[s:e].to(self.acc))
        counts = np.bincount(labels, minlength=k).astype(np.int64)
        return total.cpu().numpy().astype(np.float64), counts

    # -- k-means++ -------------------------------------------------------------------------
    def sqnorms(self, X):
        return (X * X).sum(1)

    def kpp_state(self, X):
        torch = self.torch
        st = _TorchKpp()
        st.X, st.xn = X, (X * X).sum(1)
        st.D = torch.full((X.shape[0],), float("inf"), dtype=self.acc, device=self.device)
        st.total = float("inf")
        return st

    def _d(self, st, c):
        """(rows, candidates) squared distances, block by block."""
        torch = self.torch
        cn = (c * c).sum(1)
        out = torch.empty((st.X.shape[0], c.shape[0]), dtype=torch.float32, device=self.device)
        step = 1 << 15 if self.device.type == "cpu" else 1 << 22
        for s in range(0, st.X.shape[0], step):
            e = min(st.X.shape[0], s + step)
            torch.addmm(cn[None, :], st.X[s:e], c.T, alpha=-2, out=out[s:e])
            out[s:e].add_(st.xn[s:e, None]).clamp_(min=0)
        return out

    def kpp_pots(self, st, cands: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Brute force (a GPU does it at memory speed): sum over rows of min(D, |x - c|^2)."""
        torch = self.torch
        st.cache = self._d(st, self._t(cands))
        gain = (st.D[:, None] - st.cache.to(st.D.dtype)).clamp_(min=0).sum(0, dtype=torch.float64)
        return st.total - gain.cpu().numpy()

    def kpp_accept(self, st, c: np.ndarray, center_id: int, best: int | None) -> None:
        torch = self.torch
        d = self._d(st, self._t(c)[None, :])[:, 0] if best is None else st.cache[:, best]
        torch.minimum(st.D, d.to(st.D.dtype), out=st.D)
        st.total = float(st.D.sum(dtype=torch.float64))
        st.cache = None

    def kpp_session(self):
        import contextlib

        return contextlib.nullcontext()

    def search_cumsum(self, D, targets: np.ndarray) -> np.ndarray:
        torch = self.torch
        cs = torch.cumsum(D.to(torch.float64), 0)
        t = torch.as_tensor(np.asarray(targets, dtype=np.float64), device=self.device)
        out = torch.searchsorted(cs, t, side="left").clamp_(max=max(D.shape[0] - 1, 0))
        return out.cpu().numpy().astype(np.int64)


class _TorchKpp:
    X = xn = D = cache = None
    total = float("inf")

"""Collectives used by the k-means, on numpy arrays.

``LocalComm`` is the one-process case (every collective is the identity).
``TorchComm`` runs them on ``torch.distributed`` (gloo on CPU, NCCL on GPU),
initialised by whoever launched the processes (torchrun, the runner's
``--nproc-per-node``, or a test's spawn). Rank r owns rows
``[round(N*r/W), round(N*(r+1)/W))`` of the data, as in the paper's code.
"""
from __future__ import annotations

import numpy as np


def row_range(n: int, rank: int, world: int) -> tuple[int, int]:
    return round(n * rank / world), round(n * (rank + 1) / world)


class LocalComm:
    rank = 0
    world = 1

    def all_reduce_sum(self, a: np.ndarray) -> np.ndarray:
        return a

    def all_reduce_max(self, a: np.ndarray) -> np.ndarray:
        return a

    def all_gather(self, a: np.ndarray) -> np.ndarray:
        return a

    def all_gather_object(self, obj) -> list:
        return [obj]

    def broadcast(self, a: np.ndarray) -> np.ndarray:
        return a

    def barrier(self) -> None:
        pass


class TorchComm:
    """Collectives over an initialised default process group."""

    def __init__(self):
        import torch
        import torch.distributed as dist

        self.torch = torch
        self.dist = dist
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        backend = dist.get_backend()
        self.device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")

    def _t(self, a: np.ndarray):
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def _n(self, t) -> np.ndarray:
        return t.cpu().numpy()

    def all_reduce_sum(self, a: np.ndarray) -> np.ndarray:
        t = self._t(np.asarray(a))
        self.dist.all_reduce(t, op=self.dist.ReduceOp.SUM)
        return self._n(t)

    def all_reduce_max(self, a: np.ndarray) -> np.ndarray:
        t = self._t(np.asarray(a))
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return self._n(t)

    def all_gather(self, a: np.ndarray) -> np.ndarray:
        """Concatenate every rank's array along axis 0 (lengths may differ)."""
        a = np.ascontiguousarray(a)
        sizes = self.all_gather_fixed(np.array([a.shape[0]], dtype=np.int64)).ravel()
        top = int(sizes.max())
        padded = np.zeros((top,) + a.shape[1:], dtype=a.dtype)
        padded[: a.shape[0]] = a
        parts = self.all_gather_fixed(padded)
        return np.concatenate([parts[r][: sizes[r]] for r in range(self.world)])

    def all_gather_fixed(self, a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a)
        signed = a.dtype == np.uint64  # gloo has no unsigned 64-bit type: ship the bits as int64
        t = self._t(a.view(np.int64) if signed else a)
        out = [self.torch.empty_like(t) for _ in range(self.world)]
        self.dist.all_gather(out, t)
        got = np.stack([self._n(o) for o in out])
        return got.view(np.uint64) if signed else got

    def all_gather_object(self, obj) -> list:
        out = [None] * self.world
        self.dist.all_gather_object(out, obj)
        return out

    def broadcast(self, a: np.ndarray) -> np.ndarray:
        t = self._t(np.asarray(a))
        self.dist.broadcast(t, src=0)
        return self._n(t)

    def barrier(self) -> None:
        self.dist.barrier()


def current_comm():
    """TorchComm when a process group of more than one rank is initialised, else LocalComm.

    torch is imported only when it is already loaded (a launcher that set up
    torch.distributed has imported it): the single-process faiss path stays
    torch-free.
    """
    import sys

    if "torch" not in sys.modules:
        return LocalComm()
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return TorchComm()
    return LocalComm()

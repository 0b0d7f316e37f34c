"""Index: store vectors, k-nearest-neighbour search (Faiss's contract).

Vectors are float32 numpy (N, D). ``search`` returns ``(D, I)``: distances
and ids, (nq, k); where fewer than k vectors exist, the missing slots hold
id -1 and distance +inf (L2) or -inf (inner product), as documented by each
implementation.
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from ..config import doc
from .base import Component, verb


@dataclasses.dataclass
class SearchParams:
    k: int = doc(10, "neighbours per query")


@dataclasses.dataclass
class EvaluateParams:
    ks: list[int] = doc([1, 10, 100], "recall@k cut-offs")


class Index(Component):
    interface = "index"

    @abc.abstractmethod
    def train(self, x: np.ndarray) -> None: ...

    @abc.abstractmethod
    def add(self, x: np.ndarray, ids: np.ndarray | None = None) -> None: ...

    @abc.abstractmethod
    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    @property
    @abc.abstractmethod
    def ntotal(self) -> int: ...

    @verb(inputs={"vectors": "vectors", "ids": "labels?"}, outputs={"model": "model", "metrics": "metrics"})
    def build_step(self, ctx, vectors, ids=None):
        """Train on the vectors, add them, save the index."""
        import time

        t0 = time.perf_counter()
        self.train(vectors)
        self.add(vectors, ids)
        took = time.perf_counter() - t0
        return {"model": self.save_model(ctx), "metrics": {"ntotal": self.ntotal, "build_seconds": took}}

    @verb(inputs={"model": "model", "vectors": "vectors"}, outputs={"vectors": "vectors", "indices": "indices"},
          params=SearchParams)
    def search_step(self, ctx, model, vectors, k=10):
        """k-NN search: outputs distances (vectors) and ids (indices, shape (nq, k))."""
        D, I = self.search(vectors, k)
        return {"vectors": D.astype(np.float32), "indices": I.astype(np.int64)}

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
    """Store vectors and answer k-nearest-neighbour queries; implement ``train``, ``add``, ``search``, ``ntotal``.

    The contract:

    - Vectors are float32 numpy arrays (N, D); D is fixed by the first
      ``train``/``add``. A vector of another D, NaN/inf values or an empty
      array raise :class:`inria.errors.InriaError` naming the shape or row.
    - ``train(x)``: learn what the index needs (quantizers, ...) from x; a
      no-op for flat indexes.
    - ``add(x, ids=None)``: store the rows; ids are int64 (N,), default
      ``ntotal .. ntotal + N - 1``.
    - ``search(q, k) -> (D, I)``: distances float32 and ids int64, both
      (nq, k), best first; where fewer than k vectors exist, missing slots hold
      id -1 and distance +inf (L2) or -inf (inner product).
    - ``ntotal``: how many vectors are stored.
    - ``save`` / ``load`` write and read the index with its card.

    Recipe verbs (already provided): ``build`` (train + add + save) and
    ``search``.
    """

    interface = "index"

    @abc.abstractmethod
    def train(self, x: np.ndarray) -> None:
        """Learn the index's parameters from float32 (N, D) vectors (a no-op for an exact index)."""

    @abc.abstractmethod
    def add(self, x: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Store float32 (N, D) vectors under int64 ``ids`` (N,) (default: consecutive from ``ntotal``)."""

    @abc.abstractmethod
    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest stored vectors of each float32 (nq, D) query: ``(D, I)``, each (nq, k), best first.

        Missing neighbours (fewer than k stored) are id -1 with distance +inf
        (L2) or -inf (inner product). A query of the wrong D raises
        :class:`inria.errors.InriaError`.
        """

    @property
    @abc.abstractmethod
    def ntotal(self) -> int:
        """How many vectors the index holds."""

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

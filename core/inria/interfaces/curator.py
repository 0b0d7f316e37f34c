"""Curator: pick a large, diverse and balanced subset of a data pool.

``fit(embeddings)`` builds the structure (e.g. a cluster tree);
``sample(n)`` returns int64 row indices into the fitted embeddings.
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from ..config import doc
from .base import Component, verb


@dataclasses.dataclass
class SampleParams:
    n: int = doc(1000, "how many rows to select")


class Curator(Component):
    """Pick a large, diverse and balanced subset of a data pool; implement ``fit`` and ``sample``.

    The contract:

    - ``fit(embeddings, ctx=None) -> metrics``: ``embeddings`` is a float32
      numpy array (N, D) (one row per pool item); build the structure (a
      cluster tree, ...) and return a dict of numbers about it. NaN rows or
      an empty pool raise :class:`inria.errors.InriaError`.
    - ``sample(n) -> indices``: int64 numpy array of distinct row indices
      into the fitted embeddings, ``0 <= i < N``. ``n`` larger than the pool
      (or < 1) raises InriaError naming both numbers.
    - ``save`` / ``load`` keep the fitted structure, so ``sample`` can run in
      a later step from the model directory.

    Recipe verbs (already provided): ``fit`` (vectors -> model) and
    ``sample`` (model -> indices; the built-in ``select`` step keeps those
    rows of images, labels or vectors).
    """

    interface = "curator"

    @abc.abstractmethod
    def fit(self, embeddings: np.ndarray, ctx=None) -> dict[str, float]:
        """Build the structure from float32 (N, D) embeddings; returns metrics (numbers) about it."""

    @abc.abstractmethod
    def sample(self, n: int) -> np.ndarray:
        """``n`` distinct int64 row indices into the fitted embeddings; InriaError if n is not in 1..N."""

    @verb(inputs={"vectors": "vectors"}, outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, vectors):
        """Fit on the vectors and save the fitted structure."""
        metrics = self.fit(vectors, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics or {}}

    @verb(inputs={"model": "model"}, outputs={"indices": "indices", "metrics": "metrics"}, params=SampleParams)
    def sample_step(self, ctx, model, n=1000):
        """Select n rows; outputs their indices."""
        idx = np.asarray(self.sample(n), dtype=np.int64)
        return {"indices": idx, "metrics": {"selected": int(len(idx))}}

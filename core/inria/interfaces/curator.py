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
    interface = "curator"

    @abc.abstractmethod
    def fit(self, embeddings: np.ndarray, ctx=None) -> dict[str, float]: ...

    @abc.abstractmethod
    def sample(self, n: int) -> np.ndarray: ...

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

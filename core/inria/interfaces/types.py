"""Value types that cross interfaces.

- images: float tensors in [0, 1], shape (N, 3, H, W); a list of (3, H, W)
  tensors when sizes differ.
- vectors: float32 numpy arrays (N, D).
- messages: bool numpy arrays (N, bits).
- labels and indices: int64 numpy arrays (N,).

Artifact types are the names the runner uses to check the edges between
recipe steps and to store each step's outputs in an open format.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

#: artifact type -> how the runner stores it (see inria.artifacts)
ARTIFACT_TYPES = {
    "images": "PNG files",
    "labels": ".npy int64",
    "indices": ".npy int64 (a selection of rows)",
    "vectors": ".npy float32 (N, D)",
    "messages": ".npy bool (N, bits)",
    "bitstreams": ".bin files, one per image",
    "detections": "detections.json + detections.npz",
    "model": "a model directory: card.yaml + weights (safetensors, faiss index, ...)",
    "metrics": "metrics.json",
}


@dataclasses.dataclass
class Detection:
    """What a watermark detector says about N images.

    ``bits``: decoded bits (N, k) bool; ``bit_accuracy``: fraction of bits
    equal to the reference (N,), NaN without a reference; ``p_value``: the
    probability of a score at least this high on an unmarked image, from the
    method's statistical test (N,); ``detected``: p_value < the target FPR
    (N,); ``score``: the test statistic (matching bits, cosine, ...);
    ``identity``: index of the best matching key in identification mode, -1
    when none passes; ``extra``: method-specific numbers.
    """

    bits: np.ndarray
    p_value: np.ndarray
    detected: np.ndarray
    score: np.ndarray
    bit_accuracy: np.ndarray | None = None
    fpr: float = 1e-6
    identity: np.ndarray | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.p_value)

    def summary(self) -> dict[str, float]:
        out = {
            "detected_rate": float(np.mean(self.detected)) if len(self) else float("nan"),
            "median_log10_p": float(np.median(np.log10(np.clip(self.p_value, 1e-300, 1)))) if len(self) else float("nan"),
            "target_fpr": float(self.fpr),
        }
        if self.bit_accuracy is not None and len(self):
            out["bit_accuracy"] = float(np.nanmean(self.bit_accuracy))
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"bits": self.bits, "p_value": self.p_value, "detected": self.detected, "score": self.score}
        if self.bit_accuracy is not None:
            arrays["bit_accuracy"] = self.bit_accuracy
        if self.identity is not None:
            arrays["identity"] = self.identity
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], fpr: float, extra: dict | None = None) -> "Detection":
        return cls(
            bits=arrays["bits"], p_value=arrays["p_value"], detected=arrays["detected"], score=arrays["score"],
            bit_accuracy=arrays.get("bit_accuracy"), identity=arrays.get("identity"), fpr=fpr, extra=extra or {},
        )

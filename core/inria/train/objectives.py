"""The core's objectives (entry-point group ``inria.objectives``).

An objective is a step function ``objective(model, batch, ctx) -> (loss,
metrics)``: ``loss`` a scalar tensor to minimise, ``metrics`` a dict of
floats or 0-d tensors (averaged over the logging window). It may run the
model more than once (co-training, distillation). Registered classes are
built with ``**TrainConfig.objective_args``.

Batches are ``(inputs, targets)`` pairs (tuple/list) or dicts with
``images``/``inputs`` and ``labels``/``targets`` keys; see
:func:`inputs_targets`.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..errors import InriaError


INPUT_KEYS = ("images", "inputs", "x")
TARGET_KEYS = ("labels", "targets", "target", "y")


def batch_keys(batch: dict) -> tuple[str | None, str | None]:
    """The (inputs, targets) keys a dict batch uses."""
    return (next((k for k in INPUT_KEYS if k in batch), None), next((k for k in TARGET_KEYS if k in batch), None))


def inputs_targets(batch: Any, where: str = "batch") -> tuple[Any, Any]:
    """Split a batch into (inputs, targets)."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        kx, ky = batch_keys(batch)
        if kx is not None and ky is not None:
            return batch[kx], batch[ky]
        raise InriaError(f"a dict batch needs 'images' (or 'inputs') and 'labels' (or 'targets'), got keys "
                         f"{sorted(batch)}", where=where)
    kind = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else type(batch).__name__
    raise InriaError(f"expected (inputs, targets) pairs, got {kind}", where=where,
                     hint="make the dataset return (image, label) or a dict, or use an objective that reads your batch")


class CrossEntropy:
    """Cross-entropy on logits; targets are class indices or (soft) class probabilities (mixup)."""

    def __init__(self, label_smoothing: float = 0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise InriaError(f"label_smoothing must be in [0, 1), got {label_smoothing}",
                             where="objective_args.label_smoothing")
        self.label_smoothing = float(label_smoothing)

    def __call__(self, model, batch, ctx) -> tuple[torch.Tensor, dict]:
        x, y = inputs_targets(batch)
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        metrics = {}
        if y.dim() == 1:
            metrics["acc"] = (logits.detach().argmax(-1) == y).float().mean()
        return loss, metrics


class MSE:
    """Mean squared error between ``model(inputs)`` and ``targets``; a bare tensor batch is its own target."""

    def __call__(self, model, batch, ctx) -> tuple[torch.Tensor, dict]:
        x, y = (batch, batch) if isinstance(batch, torch.Tensor) else inputs_targets(batch)
        out = model(x)
        if out.shape != y.shape:
            raise InriaError(f"model output {tuple(out.shape)} and targets {tuple(y.shape)} differ in shape",
                             where="objective mse")
        return F.mse_loss(out, y.to(out.dtype)), {}

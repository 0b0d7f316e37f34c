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


# DeiT III's loss, in the core since co-training (cosub), PatchConvNet and Three-things train with it too:
# BCEWithLogits against one-hot targets; mixup/CutMix soft targets are binarised with ``> threshold``
# (official code: ``targets.gt(0.0)``), so both mixed classes count as present; ``threshold: null`` keeps
# the soft targets. Mixup label smoothing with binarisation would mark every class present: refused.
class BinaryCrossEntropy:
    """BCE-with-logits on one-hot / binarised mixup targets (DeiT III); ``bce`` in recipes."""

    def __init__(self, threshold: float | None = 0.0):
        self.threshold = None if threshold is None else float(threshold)

    def targets(self, y: torch.Tensor, num_classes: int) -> torch.Tensor:
        if y.dim() == 1:
            if y.dtype.is_floating_point:
                y = y.long()
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
                raise InriaError(f"labels must be in [0, {num_classes}), got {int(y.min())}..{int(y.max())}",
                                 where="objective bce", hint="set num_classes to the number of classes")
            return F.one_hot(y, num_classes).float()
        if y.dim() != 2 or y.shape[1] != num_classes:
            raise InriaError(f"targets of shape {tuple(y.shape)} for {num_classes} logits", where="objective bce")
        y = y.float()
        if self.threshold is not None:
            y = y.gt(self.threshold).float()
            if num_classes > 2 and bool((y.sum(1) == num_classes).any()):
                raise InriaError("every class is > threshold after binarising: mixup label smoothing must be 0",
                                 where="objective bce",
                                 hint="set augmentation_args.mixup.label_smoothing: 0.0 (DeiT III) or threshold: null")
        return y

    def __call__(self, model, batch, ctx=None) -> tuple[torch.Tensor, dict]:
        x, y = inputs_targets(batch, where="objective bce")
        logits = model(x)
        target = self.targets(y, logits.shape[-1])
        loss = F.binary_cross_entropy_with_logits(logits.float(), target.to(logits.device))
        metrics = {}
        if y.dim() == 1:
            metrics["acc"] = (logits.detach().argmax(-1) == y).float().mean()
        return loss, metrics

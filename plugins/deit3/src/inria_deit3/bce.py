"""DeiT III's loss: binary cross-entropy on binarised (mixup / CutMix) targets.

Registered as ``bce`` in ``inria.objectives``. DeiT III trains with
``BCEWithLogits`` against multi-hot targets: class-index labels become
one-hot; soft targets from mixup/CutMix are binarised with ``> threshold``
(official code: ``targets.gt(0.0)``), so both mixed classes count as present.
``threshold: null`` keeps the soft targets. Mixup's label smoothing must be 0
with binarisation (every class would be > 0); that is refused.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from inria.errors import InriaError
from inria.train.objectives import inputs_targets


class BinaryCrossEntropy:
    """BCE-with-logits on one-hot / binarised mixup targets (DeiT III)."""

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

"""The cosub objective: two submodels of one network, each the other's teacher.

The deit repo's ``--cosub`` path (engine.py): the batch is concatenated with
itself and run once, so per-sample stochastic depth (timm's ``DropPath``)
drops different residual branches for the two copies of each image: two
random submodels. With logits s1, s2 of the two halves and y the (binarised
mixup) targets, the official loss is

    0.25 * [BCE(s1, y) + BCE(s2, y) + BCE(s1, sigmoid(s2).detach()) + BCE(s2, sigmoid(s1).detach())]

``cotrain_weight`` (w, official 0.5) is the share of the two co-training
terms: ``(1 - w)/2 * [the two supervised terms] + w/2 * [the two co-training
terms]``, so w = 0.5 is the official 0.25 each. The supervised BCE is the
core's ``bce`` (``threshold`` as there). Without stochastic depth the two
submodels are the same network and the co-training terms only pull a model
towards itself, so that is refused.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from inria.errors import InriaError
from inria.train.objectives import BinaryCrossEntropy, inputs_targets


def stochastic_depth_rate(model: torch.nn.Module) -> float:
    """The largest drop-path probability among the model's modules (0 when it has none)."""
    rates = [float(getattr(m, "drop_prob", 0.0) or 0.0) for m in model.modules() if type(m).__name__ == "DropPath"]
    return max(rates, default=0.0)


class CoSub:
    """Co-training of two drop-path submodels (cosub); ``cotrain_weight`` 0.5 is the official 4 x 0.25."""

    def __init__(self, cotrain_weight: float = 0.5, threshold: float | None = 0.0):
        try:
            w = float(cotrain_weight)
        except (TypeError, ValueError):
            w = float("nan")
        if not 0.0 <= w <= 1.0:
            raise InriaError(f"cotrain_weight must be a number in [0, 1], got {cotrain_weight!r}",
                             where="objective_args.cotrain_weight", hint="0.5 is the paper's 4 x 0.25")
        self.cotrain_weight = w
        self.bce = BinaryCrossEntropy(threshold=threshold)

    def _check(self, model: torch.nn.Module) -> None:
        # every training step: a walk over the modules is nothing beside the forward pass, and nothing is cached
        if stochastic_depth_rate(model) <= 0.0:
            raise InriaError("the model has no stochastic depth (no DropPath with a rate > 0): both submodels "
                             "would be the same network", where="objective cosub",
                             hint="set the backbone's drop path rate > 0 (e.g. drop_path: 0.1) or use objective bce")

    def loss(self, s1: torch.Tensor, s2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The weighted four-term loss on the two halves' logits and the (multi-hot / soft) targets."""
        s1, s2 = s1.float(), s2.float()
        sup = F.binary_cross_entropy_with_logits(s1, target) + F.binary_cross_entropy_with_logits(s2, target)
        co = (F.binary_cross_entropy_with_logits(s1, torch.sigmoid(s2).detach())
              + F.binary_cross_entropy_with_logits(s2, torch.sigmoid(s1).detach()))
        return 0.5 * (1.0 - self.cotrain_weight) * sup + 0.5 * self.cotrain_weight * co

    def __call__(self, model, batch, ctx=None) -> tuple[torch.Tensor, dict]:
        x, y = inputs_targets(batch, where="objective cosub")
        if model.training:
            self._check(model)
        logits = model(torch.cat([x, x], 0))  # one pass over the duplicated batch: two drop-path masks per image
        s1, s2 = logits.split(len(x), 0)
        target = self.bce.targets(y, logits.shape[-1]).to(logits.device)
        loss = self.loss(s1, s2, target)
        metrics = {"agreement": (s1.detach().argmax(-1) == s2.detach().argmax(-1)).float().mean()}
        if y.dim() == 1:
            metrics["acc"] = (s1.detach().argmax(-1) == y.to(s1.device)).float().mean()
        return loss, metrics

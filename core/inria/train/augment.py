"""The core's batched augmentations (entry-point group ``inria.augmentations``).

An augmentation is called as ``aug(batch, ctx) -> batch`` on the device, on
the whole batch, before the objective; it may change the targets (mixup
makes soft labels). A registered class is built with
``**TrainConfig.augmentation_args[name]``; a registered function is used as
it is. Several run in the order ``TrainConfig.augmentation`` lists them.

Image pipelines (crops, flips, colour, blur, JPEG) compose the core's
batched ops in :mod:`inria.ops`; paper-specific pipelines (DeiT III's
3-Augment) come from their plugins.
"""
from __future__ import annotations

from typing import Any

from ..errors import InriaError
from .objectives import batch_keys, inputs_targets


def none(batch: Any, ctx: Any) -> Any:
    """No augmentation."""
    return batch


class Mixup:
    """Mixup and CutMix (timm.data.Mixup) on (images, class-index labels) -> (mixed images, soft labels).

    Arguments are timm's: ``mixup_alpha`` (0.8), ``cutmix_alpha`` (1.0),
    ``prob``, ``switch_prob``, ``mode`` ('batch' | 'pair' | 'elem'),
    ``label_smoothing`` (0.1), ``num_classes`` (required). The batch size
    per process must be even.
    """

    def __init__(self, num_classes: int | None = None, mixup_alpha: float = 0.8, cutmix_alpha: float = 1.0,
                 cutmix_minmax=None, prob: float = 1.0, switch_prob: float = 0.5, mode: str = "batch",
                 label_smoothing: float = 0.1):
        from timm.data import Mixup as TimmMixup

        if num_classes is None or int(num_classes) < 2:
            raise InriaError(f"mixup needs num_classes >= 2, got {num_classes!r}",
                             where="train.augmentation_args.mixup.num_classes")
        if mode not in ("batch", "pair", "elem"):
            raise InriaError(f"unknown mixup mode {mode!r}", where="train.augmentation_args.mixup.mode",
                             hint="accepted: batch, pair, elem")
        self.num_classes = int(num_classes)
        self.fn = TimmMixup(mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha, cutmix_minmax=cutmix_minmax,
                            prob=prob, switch_prob=switch_prob, mode=mode, label_smoothing=label_smoothing,
                            num_classes=self.num_classes)

    def __call__(self, batch: Any, ctx: Any) -> Any:
        x, y = inputs_targets(batch, where="mixup")
        if len(x) % 2:
            raise InriaError(f"mixup needs an even batch, got {len(x)} images", where="train.batch_size",
                             hint="use an even batch_size and drop_last: true")
        if y.dim() != 1:
            raise InriaError(f"mixup needs class-index labels (N,), got shape {tuple(y.shape)}", where="mixup")
        x, y = self.fn(x, y)
        if isinstance(batch, dict):
            kx, ky = batch_keys(batch)
            return {**batch, kx: x, ky: y}
        return type(batch)((x, y)) if isinstance(batch, tuple) else [x, y]

"""3-Augment, DeiT III's data augmentation, as a batched training component.

Registered as ``three_augment`` in ``inria.augmentations``. Per image:

1. a crop: random-resized crop (scale 0.08-1, bicubic; ``crop: rrc``) or the
   ``--src`` "simple random crop" (reflect-pad by ``padding`` pixels, then a
   random window of the original size; ``crop: src``), or none;
2. a horizontal flip with probability 0.5;
3. exactly one of grayscale / solarisation / Gaussian blur (sigma uniform in
   ``blur_sigma``, as the official PIL radius 0.1-2);
4. colour jitter 0.3 (brightness, contrast, saturation).

Every part can be switched off (``hflip: false`` for digits, which are not
mirror-symmetric). The image operations are the core's
(:mod:`inria.ops.image`); this module only draws which image gets which.
Batches are ``(images, labels)`` pairs or dicts, images (N, 3, H, W) in [0, 1];
labels pass through untouched.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from inria.errors import InriaError
from inria.ops import image as ops
from inria.train.objectives import batch_keys, inputs_targets

CROPS = ("rrc", "src", "none")


class ThreeAugment:
    """DeiT III's 3-Augment: crop, flip, one of {grayscale, solarize, blur}, colour jitter."""

    def __init__(self, crop: str = "rrc", scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3), padding: int = 4, hflip: bool = True,
                 grayscale: bool = True, solarize: bool = True, blur: bool = True,
                 blur_sigma: Sequence[float] = (0.1, 2.0), color_jitter: float = 0.3):
        where = "train.augmentation_args.three_augment"
        if crop not in CROPS:
            raise InriaError(f"unknown crop {crop!r}", where=f"{where}.crop", hint="accepted: rrc, src, none")
        scale, ratio, blur_sigma = tuple(map(float, scale)), tuple(map(float, ratio)), tuple(map(float, blur_sigma))
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise InriaError(f"scale must be (lo, hi) with 0 < lo <= hi <= 1, got {scale}", where=f"{where}.scale")
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise InriaError(f"ratio must be (lo, hi) with 0 < lo <= hi, got {ratio}", where=f"{where}.ratio")
        if len(blur_sigma) != 2 or not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise InriaError(f"blur_sigma must be (lo, hi) with 0 < lo <= hi, got {blur_sigma}",
                             where=f"{where}.blur_sigma")
        if padding < 0 or color_jitter < 0:
            raise InriaError("padding and color_jitter must be >= 0", where=where)
        self.crop, self.scale, self.ratio, self.padding = crop, scale, ratio, int(padding)
        self.hflip, self.blur_sigma, self.color_jitter = bool(hflip), blur_sigma, float(color_jitter)
        self.choices = [name for name, on in (("grayscale", grayscale), ("solarize", solarize), ("blur", blur)) if on]

    def __call__(self, batch: Any, ctx: Any = None) -> Any:
        x, y = inputs_targets(batch, where="three_augment")
        x = self.apply(x)
        if isinstance(batch, dict):
            kx, _ = batch_keys(batch)
            return {**batch, kx: x}
        return (x, y) if isinstance(batch, tuple) else [x, y]

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            raise InriaError(f"expected images (N, 3, H, W), got {type(x).__name__}{tuple(getattr(x, 'shape', ()))}",
                             where="three_augment")
        n, _, h, w = x.shape
        if self.crop == "rrc":
            x = ops.random_resized_crop(x, (h, w), scale=self.scale, ratio=self.ratio)
        elif self.crop == "src" and self.padding:
            x = ops.padded_random_crop(x, self.padding)
        if self.hflip:
            flip = torch.rand(n) < 0.5
            if flip.any():
                x = x.clone()
                x[flip.to(x.device)] = ops.hflip(x[flip.to(x.device)])
        if self.choices:
            pick = torch.randint(len(self.choices), (n,))
            out = x.clone()
            for i, name in enumerate(self.choices):
                sel = (pick == i).nonzero().flatten().tolist()
                if sel:
                    out[sel] = self._one_of(name, x[sel])
            x = out
        if self.color_jitter:
            x = ops.color_jitter(x, strength=self.color_jitter)
        return x.clamp_(0, 1)

    def _one_of(self, name: str, x: torch.Tensor) -> torch.Tensor:
        if name == "grayscale":
            return ops.grayscale(x)
        if name == "solarize":
            return ops.solarize(x, threshold=0.5)
        # blur: one sigma per image, the kernel covering +-3 sigma (odd, at most the image side)
        out = []
        side = min(x.shape[-2:])
        for im in x:
            sigma = float(torch.empty(()).uniform_(*self.blur_sigma))
            k = min(2 * math.ceil(3 * sigma) + 1, side if side % 2 else side - 1)
            out.append(ops.gaussian_blur(im.unsqueeze(0), kernel_size=max(k, 1), sigma=sigma)[0] if k > 1 else im)
        return torch.stack(out)


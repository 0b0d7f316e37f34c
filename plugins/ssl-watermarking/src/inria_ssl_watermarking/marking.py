"""Marking by pixel optimisation in a latent space (the paper's Sec. 3.2; ``encode.py`` of the official code).

Each iteration: SSIM attenuation of the change (it concentrates where the
image is textured), a PSNR clip to the target, one random augmentation
(none / rotation / crop / resize / blur) and a random flip, the features, the
watermark loss plus ``lambda_i`` times the squared distance to the original;
Adam on the pixels. Pixels are optimised in the ImageNet-normalised space as
the official code does, so its learning rate (0.01) and loss weights apply
unchanged. The final image gets the attenuation and the clip once more and
is rounded to 8 bits.

Images of different sizes are optimised in groups of equal size (the
official code needs one size per batch); each image's loss is independent.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from inria.config import doc
from inria.ops import image as ops

from .resnet import MEAN, STD


@dataclasses.dataclass
class MarkingConfig:
    iterations: int = doc(100, "Adam iterations over the pixels (official: 100)")
    lr: float = doc(0.01, "Adam learning rate in the ImageNet-normalised pixel space (official: 0.01)")
    target_psnr: float = doc(42.0, "PSNR the change is clipped to at every iteration, in dB (official default 42)")
    lambda_i: float = doc(1.0, "weight of the squared distance to the original image")
    ssim_window: int = doc(17, "window of the SSIM heatmap that attenuates the change (official: 17)")
    augment: bool = doc(True, "one random augmentation per iteration (none, rotation, crop, resize, blur) + flip")
    degrees: float = doc(30.0, "rotation amplitude of the marking augmentation")
    crop_scale: tuple[float, float] = doc((0.2, 1.0), "area range of the crop and resize augmentations")
    blur_size: int = doc(17, "largest blur kernel of the augmentation")
    batch_size: int = doc(8, "images optimised together (of one size)")

    def validate(self) -> None:
        if self.iterations < 0:
            raise ValueError(f"iterations {self.iterations} must be >= 0")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr {self.lr} must be > 0")
        if not 10.0 <= self.target_psnr <= 80.0:
            raise ValueError(f"target_psnr {self.target_psnr} outside [10, 80] dB")
        if not (0 < self.crop_scale[0] <= self.crop_scale[1] <= 1):
            raise ValueError(f"crop_scale {self.crop_scale} must satisfy 0 < lo <= hi <= 1")
        if self.ssim_window < 3 or self.blur_size < 1 or self.batch_size < 1:
            raise ValueError("ssim_window must be >= 3, blur_size and batch_size >= 1")


_MEAN = torch.tensor(MEAN).view(1, 3, 1, 1)
_STD = torch.tensor(STD).view(1, 3, 1, 1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - _MEAN.to(x)) / _STD.to(x)


def unnormalize(z: torch.Tensor) -> torch.Tensor:
    return z * _STD.to(z) + _MEAN.to(z)


class SSIMAttenuation:
    """Scale the change x - y by the (channel-summed, non-negative) SSIM map between x and y.

    The map is the usual Gaussian-window SSIM (sigma 1.5) computed in the
    normalised space with the official constants; where the change is visible
    against a flat background the map drops and the change with it.
    """

    def __init__(self, window: int = 17, sigma: float = 1.5):
        g = torch.exp(-((torch.arange(window) - window // 2) ** 2).float() / (2 * sigma ** 2))
        g = g / g.sum()
        # the 2-d Gaussian window is separable: two 1-d passes, 2k instead of k^2 multiplies per pixel
        self.rows = g.view(1, 1, window, 1).expand(3, 1, window, 1).contiguous()
        self.cols = g.view(1, 1, 1, window).expand(3, 1, 1, window).contiguous()
        self.pad = window // 2
        self._y: torch.Tensor | None = None
        self._ystats: tuple = ()

    def _blur(self, t: torch.Tensor) -> torch.Tensor:
        """Gaussian-window means of every 3-channel group of ``t`` (zero padding, as one 2-d convolution has)."""
        ch, p = t.shape[1], self.pad
        rows = self.rows[:1].to(t).expand(ch, 1, -1, -1)
        cols = self.cols[:1].to(t).expand(ch, 1, -1, -1)
        return F.conv2d(F.conv2d(t, rows, padding=(p, 0), groups=ch), cols, padding=(0, p), groups=ch)

    def heatmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # y (the original) is the same at every iteration: its moments are computed once per image group
        if self._y is not y:
            mu2, yy = self._blur(torch.cat([y, y * y], 1)).chunk(2, 1)
            self._y, self._ystats = y, (mu2, yy - mu2 ** 2)
        mu2, s22 = self._ystats
        mu1, xx, xy = self._blur(torch.cat([x, x * x, x * y], 1)).chunk(3, 1)
        s11, s12 = xx - mu1 ** 2, xy - mu1 * mu2
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        return ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # the map weighs the change; it is held constant in the backward pass (the forward is the official
        # one): differentiating through five windowed moments cost more than the backbone on two cores
        with torch.no_grad():
            m = self.heatmap(x.detach(), y).sum(1, keepdim=True).clamp_min(0)
        return y + (x - y) * m


def psnr_clip(z: torch.Tensor, z0: torch.Tensor, target_psnr: float) -> torch.Tensor:
    """Shrink the change of each image (normalised space) so its PSNR in 8-bit pixels is at least the target."""
    delta = (z - z0) * _STD.to(z) * 255.0
    mse = delta.pow(2).mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-20)
    psnr = 20 * math.log10(255.0) - 10 * torch.log10(mse)
    scale = torch.where(psnr < target_psnr, torch.sqrt(10 ** ((psnr - target_psnr) / 10)), torch.ones_like(psnr))
    return z0 + (z - z0) * scale


class Augmentation:
    """The official marking augmentation: one of none / rotation / crop / resize / blur, then a random flip."""

    KINDS = ("none", "rotation", "crop", "resize", "blur")

    def __init__(self, config: MarkingConfig, rng: np.random.Generator):
        self.c, self.rng = config, rng

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c, rng = self.c, self.rng
        kind = self.KINDS[int(rng.integers(0, len(self.KINDS)))] if c.augment else "none"
        h, w = x.shape[-2:]
        if kind == "rotation":
            x = ops.rotate(x, float(rng.vonmises(0, 1) * c.degrees / np.pi))
        elif kind in ("crop", "resize"):
            area = rng.uniform(*c.crop_scale)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            tw = max(1, min(w, round(math.sqrt(area * h * w * ratio))))
            th = max(1, min(h, round(math.sqrt(area * h * w / ratio))))
            if kind == "crop":
                top, left = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
                x = x[..., top:top + th, left:left + tw]
            else:
                s = math.sqrt(rng.uniform(*c.crop_scale))
                x = F.interpolate(x, size=(max(8, round(h * s)), max(8, round(w * s))), mode="bilinear",
                                  align_corners=False, antialias=True)
        elif kind == "blur":
            k = int(rng.integers(1, c.blur_size + 1))
            x = ops.gaussian_blur(x, k - (1 - k % 2))
        if c.augment and rng.uniform() < 0.5:
            x = x.flip(-1)
        return x


def optimise(images: Sequence[torch.Tensor], features: Callable[[torch.Tensor], torch.Tensor],
             loss_w: Callable[[torch.Tensor, slice], torch.Tensor], lambda_w: float, config: MarkingConfig,
             seed: int = 0, log: list | None = None) -> list[torch.Tensor]:
    """Mark each (3, H, W) image in [0, 1]; ``loss_w(features, rows)`` is the watermark loss of those rows.

    ``rows`` indexes the images of the current group in the caller's order, so
    per-image targets (messages) line up. Returns the marked images, rounded
    to 8-bit levels, in the input order.
    """
    c = config
    rng = np.random.default_rng(seed)
    attenuate = SSIMAttenuation(c.ssim_window)
    out: list[torch.Tensor | None] = [None] * len(images)
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(tuple(im.shape), []).append(i)
    for idx_all in groups.values():
        for start in range(0, len(idx_all), c.batch_size):
            idx = idx_all[start:start + c.batch_size]
            x0 = torch.stack([images[i] for i in idx]).float()
            z0 = normalize(x0)
            z = z0.clone().requires_grad_(True)
            opt = torch.optim.Adam([z], lr=c.lr)
            aug = Augmentation(c, rng)
            for it in range(c.iterations):
                zc = psnr_clip(attenuate(z, z0), z0, c.target_psnr)
                x = unnormalize(zc)
                ft = features(aug(x))
                lw = loss_w(ft, idx)
                li = (z - z0).pow(2).sum()
                loss = lambda_w * lw + c.lambda_i * li
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if log is not None and (it % 10 == 0 or it == c.iterations - 1):
                    log.append({"iteration": it, "loss_w": float(lw.detach()), "loss_i": float(li.detach())})
            with torch.no_grad():
                zc = psnr_clip(attenuate(z, z0), z0, c.target_psnr)
                x = (unnormalize(zc).clamp(0, 1) * 255).round() / 255
            for j, i in enumerate(idx):
                out[i] = x[j].detach()
    return out  # type: ignore[return-value]

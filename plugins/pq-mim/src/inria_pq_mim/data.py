"""Training data: the named splits of the default model, procedural images, and the two stage datasets.

Splits (scikit-image's bundled photographs, no download; see
``inria.data.images.SAMPLE_PHOTOS``). Near-duplicates stay on one side: the
stereo pair ``motorcycle_left`` / ``motorcycle_right`` is all in training,
and ``astronaut`` is a test image whose crops never enter training.

- ``TEST_PHOTOS``: four colour photographs, the RD benchmark's test split;
- ``TRAIN_PHOTOS``: the other bundled photographs;
- procedural images (dead leaves, gradients, gratings) from fixed seeds,
  training only.

Both datasets derive every item from ``(seed, index)`` alone, so an item is
the same in any process and a resumed run sees the same data.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

TEST_PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]
TRAIN_PHOTOS = ["motorcycle_left", "motorcycle_right", "hubble_deep_field", "immunohistochemistry", "retina",
                "camera", "moon", "coins", "clock", "grass", "gravel", "brick"]


def photos(names: list[str]) -> list[torch.Tensor]:
    from inria.data.images import samples

    return samples(names)[0]


def split(name: str, procedural_images: int = 24) -> list[torch.Tensor]:
    """'train' (photos + procedural images) or 'test' (photos only)."""
    if name == "test":
        return photos(TEST_PHOTOS)
    if name == "train":
        return photos(TRAIN_PHOTOS) + [procedural(i) for i in range(procedural_images)]
    raise ValueError(f"unknown split {name!r} (train, test)")


# -- procedural images ------------------------------------------------------------

def procedural(seed: int, size: int = 256) -> torch.Tensor:
    """One synthetic image: dead leaves (natural-image-like statistics), with gradients and gratings mixed in."""
    rng = np.random.default_rng(1_000_003 + seed)
    kind = seed % 3
    if kind == 0:
        img = dead_leaves(rng, size)
    elif kind == 1:
        img = 0.6 * dead_leaves(rng, size) + 0.4 * _gradient(rng, size)
    else:
        img = 0.5 * dead_leaves(rng, size) + 0.5 * _grating(rng, size)
    img = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)
    if rng.random() < 0.5:  # some blur: real photos are rarely sharp at every pixel
        k = int(rng.integers(1, 3)) * 2 + 1
        img = F.avg_pool2d(img[None], k, stride=1, padding=k // 2, count_include_pad=False)[0]
    noise = torch.from_numpy(rng.normal(0, rng.uniform(0, 0.02), img.shape).astype(np.float32))
    return (img + noise).clamp(0, 1)


def dead_leaves(rng: np.random.Generator, size: int, n: int = 1200, rmin: float = 2.0, rmax: float = 80.0) -> np.ndarray:
    """Occluding disks with radii ~ r^-3 (scale invariance), random colours, painted back to front."""
    img = np.tile(rng.random(3), (size, size, 1))
    u = rng.random(n)
    radii = 1 / np.sqrt(u / rmin ** 2 + (1 - u) / rmax ** 2)  # inverse CDF of p(r) ~ r^-3 on [rmin, rmax]
    yy, xx = np.mgrid[0:size, 0:size]
    for r in radii:
        cy, cx = rng.uniform(-r, size + r, 2)
        colour = rng.random(3)
        y0, y1 = max(0, int(cy - r)), min(size, int(cy + r) + 1)
        x0, x1 = max(0, int(cx - r)), min(size, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        inside = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
        img[y0:y1, x0:x1][inside] = colour
    return img


def _gradient(rng, size):
    t = np.linspace(0, 1, size)
    a = rng.uniform(0, 2 * math.pi)
    ramp = np.cos(a) * t[None, :] + np.sin(a) * t[:, None]
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-9)
    c0, c1 = rng.random(3), rng.random(3)
    return c0 + ramp[..., None] * (c1 - c0)


def _grating(rng, size):
    yy, xx = np.mgrid[0:size, 0:size] / size
    f, a = rng.uniform(2, 40), rng.uniform(0, math.pi)
    wave = 0.5 + 0.5 * np.sin(2 * math.pi * f * (np.cos(a) * xx + np.sin(a) * yy))
    return wave[..., None] * rng.random(3) + (1 - wave[..., None]) * rng.random(3)


# -- stage datasets -----------------------------------------------------------------

def _item_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


class RandomCrops(torch.utils.data.Dataset):
    """Stage 1: random ``crop`` x ``crop`` patches (random flip) of the images; item i depends on (seed, i) only.

    An image is picked with probability proportional to its area; images
    smaller than the crop are padded by replication.
    """

    def __init__(self, images: list[torch.Tensor], crop: int, length: int, seed: int = 0):
        self.images = [im.float().clamp(0, 1) for im in images]
        self.crop, self.length, self.seed = crop, length, seed
        area = np.array([im.shape[-1] * im.shape[-2] for im in self.images], dtype=np.float64)
        self.p = area / area.sum()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = _item_rng(self.seed, i)
        im = self.images[int(rng.choice(len(self.images), p=self.p))]
        h, w = im.shape[-2:]
        c = self.crop
        if h < c or w < c:
            im = F.pad(im[None], (0, max(0, c - w), 0, max(0, c - h)), mode="replicate")[0]
            h, w = im.shape[-2:]
        y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        out = im[:, y:y + c, x:x + c]
        return out.flip(-1).contiguous() if rng.random() < 0.5 else out.contiguous()


class IndexCrops(torch.utils.data.Dataset):
    """Stage 2: random ``side`` x ``side`` windows of frozen index grids (M, h, w); item i from (seed, i)."""

    def __init__(self, grids: list[torch.Tensor], side: int, length: int, seed: int = 0):
        self.grids = [g for g in grids if g.shape[-1] >= side and g.shape[-2] >= side]
        if not self.grids:
            raise ValueError(f"no index grid is at least {side}x{side}")
        self.side, self.length, self.seed = side, length, seed
        area = np.array([g.shape[-1] * g.shape[-2] for g in self.grids], dtype=np.float64)
        self.p = area / area.sum()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = _item_rng(self.seed, i)
        g = self.grids[int(rng.choice(len(self.grids), p=self.p))]
        h, w = g.shape[-2:]
        y, x = int(rng.integers(0, h - self.side + 1)), int(rng.integers(0, w - self.side + 1))
        return g[:, y:y + self.side, x:x + self.side].contiguous()

"""Offline training data: scikit-image's bundled photos and procedural images.

Shared by every plugin that trains an image model offline (the Stable
Signature extractor, the SSL-watermarking backbone): one split, one crop
generator, so their held-out figures are on the same photos. Nothing is
downloaded. ``chelsea`` and ``rocket`` are held out of training
(:data:`HELD_OUT`) so tests and benchmarks measure on photos the shipped
model never saw.
"""
from __future__ import annotations

import numpy as np
import torch

TRAIN_PHOTOS = ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "retina", "stereo_motorcycle")
TRAIN_TEXTURES = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock", "cell")  # grayscale, tinted
HELD_OUT = ("chelsea", "rocket")


def _load(name: str) -> list[np.ndarray]:
    import skimage.data as d

    a = getattr(d, name)()
    arrs = list(a) if isinstance(a, tuple) else [a]
    out = []
    for arr in arrs:
        if not isinstance(arr, np.ndarray) or arr.ndim not in (2, 3) or arr.dtype != np.uint8:
            continue  # e.g. stereo_motorcycle's disparity map
        arr = arr.astype(np.float32) / 255.0
        out.append(arr)
    return out


def photo(name: str) -> torch.Tensor:
    """One bundled photo as a (3, H, W) float tensor in [0, 1]."""
    arr = _load(name)[0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(arr[..., :3])).permute(2, 0, 1).float().clamp(0, 1)


def held_out_crops(size: int = 128, n: int = 8, seed: int = 0) -> torch.Tensor:
    """``n`` random ``size``-pixel crops of the held-out photos (N, 3, size, size); photos smaller than ``size``
    are upscaled first."""
    rng = np.random.default_rng(seed)
    pics = [photo(p) for p in HELD_OUT]
    out = []
    for i in range(n):
        im = pics[i % len(pics)]
        h, w = im.shape[-2:]
        scale = max(size / min(h, w), rng.uniform(0.35, 1.0))
        scale = scale if scale > 1.0 else min(1.0, scale)  # > 1: a side larger than the photo's, upscaled
        if scale != 1.0:
            im = torch.nn.functional.interpolate(im[None], scale_factor=scale, mode="bilinear",
                                                 antialias=True, align_corners=False)[0]
        h, w = im.shape[-2:]
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        out.append(im[:, top:top + size, left:left + size])
    return torch.stack(out).clamp(0, 1)


def procedural(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random synthetic image (H, W, 3) in [0, 1]: gradients, shapes, stripes, blobs and noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    for _ in range(int(rng.integers(2, 9))):
        kind = rng.integers(0, 4)
        color = rng.uniform(0, 1, 3)
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.4)
        if kind == 0:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2
        elif kind == 1:
            mask = (np.abs(xx - cx) < r) & (np.abs(yy - cy) < r * rng.uniform(0.3, 1.5))
        elif kind == 2:
            f, ph = rng.uniform(4, 40), rng.uniform(0, 2 * np.pi)
            mask = np.sin(f * (np.cos(angle) * yy - np.sin(angle) * xx) + ph) > 0
            mask &= (xx - cx) ** 2 + (yy - cy) ** 2 < (2 * r) ** 2
        else:
            g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r ** 2))
            img = img * (1 - g[..., None]) + color * g[..., None]
            continue
        alpha = rng.uniform(0.5, 1.0)
        img = np.where(mask[..., None], alpha * color + (1 - alpha) * img, img)
    img = img + rng.uniform(0, 0.06) * rng.standard_normal(img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


class TrainImages(torch.utils.data.Dataset):
    """``length`` random ``size``-pixel crops: bundled photos (rescaled, flipped), tinted textures, procedural images.

    Item ``i`` is a pure function of ``(seed, i)``, so runs are reproducible
    and a resumed run sees the same data.
    """

    def __init__(self, size: int = 64, length: int = 4096, seed: int = 0, procedural_fraction: float = 0.3):
        self.size, self.length, self.seed = size, length, seed
        self.procedural_fraction = procedural_fraction
        self.photos = [a for n in TRAIN_PHOTOS for a in _load(n)]
        self.textures = [a for n in TRAIN_TEXTURES for a in _load(n)]

    def __len__(self) -> int:
        return self.length

    def _crop(self, rng: np.random.Generator, arr: np.ndarray) -> np.ndarray:
        s = self.size
        h, w = arr.shape[:2]
        side = int(rng.integers(s, max(s + 1, min(h, w) // 1)))  # crop side before resizing to s: zoom levels
        side = min(side, h, w)
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = arr[top:top + side, left:left + side]
        if crop.ndim == 2:
            tint = rng.uniform(0.6, 1.0, 3)
            crop = crop[..., None] * tint + rng.uniform(0, 0.2) * (1 - tint)
        return crop

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, int(i)))
        u = rng.uniform()
        if u < self.procedural_fraction:
            return torch.from_numpy(procedural(rng, self.size)).permute(2, 0, 1).contiguous()
        pool = self.photos if u < self.procedural_fraction + (1 - self.procedural_fraction) * 0.75 else self.textures
        arr = pool[int(rng.integers(0, len(pool)))]
        crop = self._crop(rng, arr)
        t = torch.from_numpy(np.ascontiguousarray(crop[..., :3])).permute(2, 0, 1).float()
        if t.shape[-1] != self.size:
            t = torch.nn.functional.interpolate(t[None], size=(self.size, self.size), mode="bilinear",
                                                antialias=True, align_corners=False)[0]
        if rng.uniform() < 0.5:
            t = t.flip(-1)
        return t.clamp(0, 1).contiguous()


class CropDataset(torch.utils.data.Dataset):
    """Random ``size``-pixel crops of the given images (smaller images are upscaled first); item i is seeded by i."""

    def __init__(self, images: list[torch.Tensor], size: int, length: int, seed: int = 0):
        if not images:
            from ..errors import InriaError

            raise InriaError("no training images", where="images")
        self.images, self.size, self.length, self.seed = images, size, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, int(i)))
        im = self.images[int(rng.integers(0, len(self.images)))].float()
        h, w = im.shape[-2:]
        if min(h, w) < self.size:
            s = self.size / min(h, w)
            im = torch.nn.functional.interpolate(im[None], size=(max(self.size, round(h * s)), max(self.size, round(w * s))),
                                                 mode="bilinear", antialias=True, align_corners=False)[0]
            h, w = im.shape[-2:]
        top, left = int(rng.integers(0, h - self.size + 1)), int(rng.integers(0, w - self.size + 1))
        crop = im[:, top:top + self.size, left:left + self.size]
        if rng.uniform() < 0.5:
            crop = crop.flip(-1)
        return crop.clamp(0, 1).contiguous()

"""Fréchet feature distance between real and decoded images, on patches, with any installed Backbone.

The statistical-fidelity measure of generative codecs (HiFiC, MS-ILLM):
FID computed on patches of the images rather than on whole images, so that a
few test photographs give thousands of samples. The Fréchet distance between
two Gaussians fitted to features is

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

(``scipy.linalg.sqrtm`` for the matrix square root). FID proper uses
Inception-v3 features; here the features come from any Backbone by name
(``inria.create("backbone", name, **kwargs).embed``), so the figure is a
"feature FD" of that backbone, comparable between codecs measured with the
same backbone, patch size and images, not with published FIDs.

Patches follow HiFiC's protocol: the non-overlapping ``size`` x ``size``
grid of each image, plus (``shifted=True``) the same grid shifted by
``size // 2`` in both directions.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import InriaError


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (N >= 2 each)."""
    import scipy.linalg

    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    for name, f in (("features_a", a), ("features_b", b)):
        if f.ndim != 2 or f.shape[0] < 2:
            raise InriaError(f"{name} has shape {f.shape}; (N, D) features with N >= 2 are needed", where=name)
        if not np.isfinite(f).all():
            raise InriaError(f"{name} has NaN or infinite values", where=name)
    if a.shape[1] != b.shape[1]:
        raise InriaError(f"feature sizes differ ({a.shape[1]} vs {b.shape[1]})", where="features_b",
                         hint="embed both sets with the same backbone")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # singular product (fewer samples than dimensions): regularise, as pytorch-fid
        offset = np.eye(cov_a.shape[0]) * eps
        root = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    diff = mu_a - mu_b
    return float(max(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root), 0.0))


def patches(images: Sequence, size: int, shifted: bool = True):
    """(P, 3, size, size) patches of a list of (3, H, W) images: the size-grid (+ the grid shifted by size//2)."""
    import torch

    if size < 1:
        raise InriaError(f"patch size {size} must be positive", where="size")
    out = []
    for im in images:
        h, w = im.shape[-2:]
        offsets = [0] + ([size // 2] if shifted and size >= 2 else [])
        for o in offsets:
            for top in range(o, h - size + 1, size):
                for left in range(o, w - size + 1, size):
                    out.append(im[:, top:top + size, left:left + size])
    if not out:
        sides = ", ".join(f"{tuple(im.shape[-2:])}" for im in images[:3])
        raise InriaError(f"no {size}x{size} patch fits in the images ({sides})", where="size",
                         hint="use a smaller patch size")
    return torch.stack(out)


def _backbone(backbone: Any, kwargs: dict):
    if isinstance(backbone, str):
        import inria

        return inria.create("backbone", backbone, **kwargs)
    if not hasattr(backbone, "embed"):
        raise InriaError(f"backbone must be a registered name or a Backbone, not {type(backbone).__name__}",
                         where="backbone")
    return backbone


def patch_features(images: Sequence, backbone: Any, size: int = 64, shifted: bool = True, batch_size: int = 64,
                   backbone_args: dict | None = None) -> np.ndarray:
    """(P, D) float64 features of the images' patches from a Backbone (name or instance)."""
    model = _backbone(backbone, backbone_args or {})
    crops = patches(list(images), size, shifted)
    feats = [np.asarray(model.embed(crops[i:i + batch_size]), np.float64) for i in range(0, len(crops), batch_size)]
    return np.concatenate(feats)


def patch_fd(real: Sequence, decoded: Sequence, backbone: Any, size: int = 64, shifted: bool = True,
             batch_size: int = 64, backbone_args: dict | None = None) -> dict[str, float]:
    """Feature FD between patches of real and decoded images (same sizes, paired): {fd, patches, dim}."""
    real, decoded = list(real), list(decoded)
    if len(real) != len(decoded) or any(a.shape != b.shape for a, b in zip(real, decoded)):
        raise InriaError(f"{len(real)} real and {len(decoded)} decoded images of different sizes", where="decoded",
                         hint="pass each decoded image beside its original")
    model = _backbone(backbone, backbone_args or {})
    fa = patch_features(real, model, size, shifted, batch_size)
    fb = patch_features(decoded, model, size, shifted, batch_size)
    return {"fd": frechet_distance(fa, fb), "patches": float(len(fa)), "dim": float(fa.shape[1])}


__all__ = ["frechet_distance", "patches", "patch_features", "patch_fd"]

"""Metrics, each tested against known reference values (tests/test_metrics.py).

Image fidelity: PSNR (data range 1), SSIM and MS-SSIM from pytorch-msssim
(MS-SSIM needs a short side > 160 px for its five scales; below that
:func:`image_quality` reports SSIM and says so in the key). Rate: bpp from
real bytes, header included. Watermarks: bit accuracy, the binomial tail
p-value (Stable Signature), the incomplete-beta cosine p-value (SSL
watermarking). Search: recall@k.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MS_SSIM_MIN_SIDE = 161  # pytorch-msssim: smaller side must exceed (win_size - 1) * 2**4 = 160


def _pairs(a, b):
    from ..ops.image import as_list

    la, lb = as_list(a), as_list(b)
    if len(la) != len(lb):
        raise ValueError(f"{len(la)} images against {len(lb)}")
    return la, lb


def psnr(a, b) -> np.ndarray:
    """Per-image PSNR in dB for images in [0, 1] (inf when identical)."""
    out = []
    for x, y in zip(*_pairs(a, b)):
        if x.shape != y.shape:
            raise ValueError(f"PSNR of images of different sizes {tuple(x.shape)} and {tuple(y.shape)}")
        mse = float(((x.double() - y.double()) ** 2).mean())
        out.append(float("inf") if mse == 0 else 10 * math.log10(1.0 / mse))
    return np.asarray(out)


def ssim(a, b) -> np.ndarray:
    from pytorch_msssim import ssim as _ssim

    vals = []
    for x, y in zip(*_pairs(a, b)):
        side = min(x.shape[-2:])
        win = 11 if side >= 11 else max(1, side if side % 2 else side - 1)  # odd, <= the image side
        vals.append(float(_ssim(x[None].float(), y[None].float(), data_range=1.0, size_average=True, win_size=win)))
    return np.asarray(vals)


def ms_ssim(a, b) -> np.ndarray:
    from pytorch_msssim import ms_ssim as _ms

    vals = []
    for x, y in zip(*_pairs(a, b)):
        if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
            raise ValueError(f"MS-SSIM needs a short side >= {MS_SSIM_MIN_SIDE} px, got {tuple(x.shape[-2:])}")
        vals.append(float(_ms(x[None].float(), y[None].float(), data_range=1.0, size_average=True)))
    return np.asarray(vals)


def image_quality(original, processed) -> dict[str, float]:
    """Mean PSNR plus MS-SSIM where every image is large enough, SSIM otherwise (named accordingly)."""
    from ..ops.image import as_list

    la, lb = _pairs(original, processed)
    if not la:
        return {}
    out = {"psnr": float(np.mean(psnr(la, lb)))}
    if all(min(x.shape[-2:]) >= MS_SSIM_MIN_SIDE for x in la):
        out["ms_ssim"] = float(np.mean(ms_ssim(la, lb)))
    out["ssim"] = float(np.mean(ssim(la, lb)))
    out["linf"] = float(max(float((x - y).abs().max()) for x, y in zip(la, lb)) * 255)
    return out


def bpp(data: bytes, image) -> float:
    """Bits per pixel of one image's complete bitstream (header included)."""
    h, w = image.shape[-2:] if hasattr(image, "shape") else image
    return len(data) * 8.0 / (int(h) * int(w))


def bit_accuracy(bits: np.ndarray, reference: np.ndarray) -> np.ndarray:
    bits, reference = np.asarray(bits, bool), np.asarray(reference, bool)
    if reference.ndim == 1:
        reference = np.broadcast_to(reference, bits.shape)
    if bits.shape != reference.shape:
        raise ValueError(f"decoded bits {bits.shape} against reference {reference.shape}")
    return (bits == reference).mean(axis=-1)


def binomial_pvalue(matches, k: int) -> np.ndarray:
    """P(M >= m) for M ~ Binomial(k, 1/2): the probability that an unmarked image matches m of k bits.

    Equals the regularised incomplete beta I_{1/2}(m, k - m + 1) of the Stable Signature paper.
    """
    from scipy.stats import binom

    m = np.asarray(matches)
    return binom.sf(m - 1, k, 0.5)


def min_matches(k: int, fpr: float) -> int:
    """The smallest m with P(M >= m) <= fpr (48 bits, 1e-6 -> 41)."""
    for m in range(k + 1):
        if binomial_pvalue(m, k) <= fpr:
            return m
    return k + 1


def cosine_pvalue(cosine, dim: int) -> np.ndarray:
    """P(|cos(x, a)| >= c) for a direction uniform on the sphere of dimension ``dim``.

    The hypercone test of SSL watermarking: I_{1 - c^2}((d - 1) / 2, 1 / 2).
    """
    from scipy.special import betainc

    c = np.clip(np.abs(np.asarray(cosine, dtype=np.float64)), 0, 1)
    return betainc((dim - 1) / 2.0, 0.5, 1.0 - c ** 2)


def cosine_threshold(dim: int, fpr: float) -> float:
    """The cosine c with cosine_pvalue(c, dim) == fpr (root-finding, as the paper does)."""
    from scipy.optimize import brentq

    return float(brentq(lambda c: cosine_pvalue(c, dim) - fpr, 0.0, 1.0))


def recall_at_k(I: np.ndarray, gt: np.ndarray, k: int) -> float:
    """1-recall@k: fraction of queries whose true nearest neighbour gt[:, 0] is in I[:, :k]."""
    I = np.asarray(I)
    gt = np.asarray(gt)
    nn = gt[:, 0] if gt.ndim == 2 else gt
    return float((I[:, :k] == nn[:, None]).any(axis=1).mean())


def intersection_at_k(I: np.ndarray, gt: np.ndarray, k: int) -> float:
    """k-recall@k: mean |I[:, :k] ∩ gt[:, :k]| / k."""
    hits = [len(np.intersect1d(a[:k], b[:k])) for a, b in zip(np.asarray(I), np.asarray(gt))]
    return float(np.mean(hits) / k)


def knn_accuracy(embeddings: np.ndarray, labels: Sequence[int], k: int = 10) -> float:
    """Leave-one-out k-NN accuracy with cosine similarity and majority vote."""
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    k = min(k, len(x) - 1)
    nn = np.argpartition(-sim, kth=k - 1, axis=1)[:, :k]
    votes = y[nn]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return float((pred == y).mean())

"""The statistical test of Stable Signature, and the checks on what goes into it.

Under H0 (an image not marked with this key) each extracted bit matches the
key with probability 1/2, independently (whitening makes that assumption
closer to true), so the number of matching bits ``M ~ Binomial(k, 1/2)``
and the p-value of ``m`` matches is ``P(M >= m) = I_{1/2}(m, k - m + 1)``.
An image is flagged when that p-value is at most the target false-positive
rate: with k = 48 and FPR 1e-6, at least 41 matching bits.

Identification among N keys takes the best-matching key; the chance that
any of N keys reaches m by luck is ``1 - (1 - p)^N`` (about ``N p``), so the
decision uses that corrected p-value and the threshold rises with N.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from inria.errors import InriaError
from inria.eval.metrics import binomial_pvalue, min_matches
from inria.interfaces.types import Detection


def parse_key(key, bits: int, where: str = "key") -> np.ndarray:
    """A key as a bool array (bits,): from a '0101...' string, a list of 0/1 or bools, or an array."""
    if isinstance(key, str):
        text = key.strip()
        if not text or set(text) - {"0", "1"}:
            bad = sorted(set(text) - {"0", "1"})[:3]
            raise InriaError(f"key must be a string of 0 and 1, found {bad or 'nothing'}", where=where)
        arr = np.array([c == "1" for c in text], dtype=bool)
    else:
        raw = np.asarray(key)
        if raw.dtype == bool:
            arr = raw
        elif raw.dtype.kind in "iuf" and raw.size and np.isin(raw, (0, 1)).all():
            arr = raw.astype(bool)
        else:
            raise InriaError("key must hold only 0/1 (or true/false) values", where=where)
    if arr.ndim != 1 or arr.shape[0] != bits:
        raise InriaError(f"key has {arr.size} bits, expected {bits}", where=where,
                         hint="give exactly as many bits as the extractor outputs (bits)")
    return arr


def key_string(key: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in np.asarray(key, bool))


def parse_messages(messages, n: int, bits: int, where: str = "messages") -> np.ndarray:
    """Messages (n, bits) bool; a single key (bits,) is broadcast to every image."""
    arr = np.asarray(messages)
    if arr.ndim == 1 or (isinstance(messages, str)):
        return np.broadcast_to(parse_key(messages, bits, where), (n, bits)).copy()
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or (arr.size and not np.isin(arr, (0, 1)).all()):
            raise InriaError("messages must hold only 0/1 (or true/false) values", where=where)
        arr = arr.astype(bool)
    if arr.ndim != 2 or arr.shape[1] != bits:
        raise InriaError(f"messages have shape {tuple(arr.shape)}, expected ({n}, {bits})", where=where)
    if arr.shape[0] != n:
        raise InriaError(f"{arr.shape[0]} messages for {n} images", where=where)
    return arr


def check_images(images, min_side: int, where: str = "images") -> list[torch.Tensor] | torch.Tensor:
    """RGB float images in [0, 1]: a (N, 3, H, W) tensor or a list of (3, H, W); one-line errors otherwise."""
    if isinstance(images, torch.Tensor):
        if images.dim() == 3:
            images = images[None]
        seq: Sequence[torch.Tensor] = list(images.unbind(0)) if images.dim() == 4 else [images]
    elif isinstance(images, (list, tuple)):
        seq = list(images)
    else:
        raise InriaError(f"expected a tensor or a list of tensors, got {type(images).__name__}", where=where)
    if not seq:
        raise InriaError("no images", where=where)
    for i, im in enumerate(seq):
        if not isinstance(im, torch.Tensor):
            raise InriaError(f"image {i} is a {type(im).__name__}, not a tensor", where=where)
        if im.dim() != 3:
            raise InriaError(f"image {i} has shape {tuple(im.shape)}, expected (3, H, W)", where=where)
        c = im.shape[0]
        if c != 3:
            kind = {1: "grayscale", 2: "grayscale + alpha", 4: "RGBA"}.get(c, f"{c}-channel")
            raise InriaError(f"image {i} is {kind} ({c} channels); RGB (3 channels) is accepted", where=where,
                             hint="convert it to RGB first (PIL: img.convert('RGB'))")
        if not im.is_floating_point():
            raise InriaError(f"image {i} has dtype {im.dtype}; float in [0, 1] is accepted", where=where)
        h, w = im.shape[-2:]
        if min(h, w) < min_side:
            raise InriaError(f"image {i} is {h}x{w} px; the extractor needs at least {min_side}x{min_side}",
                             where=where)
        if not torch.isfinite(im).all():
            raise InriaError(f"image {i} has NaN or infinite values", where=where)
    if isinstance(images, torch.Tensor):
        return images
    return seq


def corrected_pvalue(p: np.ndarray, n_keys: int) -> np.ndarray:
    """P(at least one of n_keys independent keys reaches p by chance) = 1 - (1 - p)^n."""
    p = np.asarray(p, dtype=np.float64)
    if n_keys <= 1:
        return p
    with np.errstate(divide="ignore"):
        return -np.expm1(n_keys * np.log1p(-np.clip(p, 0, 1 - 1e-16)))


def threshold(bits: int, fpr: float, n_keys: int = 1) -> int:
    """Smallest number of matching bits flagged at this FPR among ``n_keys`` keys (k + 1 when none is)."""
    if n_keys <= 1:
        return min_matches(bits, fpr)
    for m in range(bits + 1):
        if corrected_pvalue(binomial_pvalue(m, bits), n_keys) <= fpr:
            return m
    return bits + 1


def binomial_test(bits: np.ndarray, keys: np.ndarray, fpr: float = 1e-6, identify: bool = False,
                  reference: np.ndarray | None = None, logits: np.ndarray | None = None) -> Detection:
    """Detection of N images' extracted ``bits`` (N, k).

    ``identify=False``: ``keys`` is one key (k,) for all images or one per
    image (N, k) (the embedded messages of ``hidden``). ``identify=True``:
    ``keys`` is a table (K, k); each image gets its best-matching key, the
    p-value is corrected for K, and ``identity`` is that key's row (-1 when
    not detected). ``reference``: what bit accuracy is measured against
    (defaults to the tested key).
    """
    bits = np.asarray(bits, bool)
    n, k = bits.shape
    keys = np.asarray(keys, bool)
    extra: dict = {"bits_per_key": k, "threshold": threshold(k, fpr)}
    identity = None
    if not identify:
        if keys.shape not in ((k,), (n, k)):
            raise InriaError(f"keys of shape {tuple(keys.shape)} for {n} images of {k} bits", where="keys",
                             hint=f"expected ({k},) or ({n}, {k})")
        per_image = np.broadcast_to(keys, (n, k))
        matches = (bits == per_image).sum(1)
        p = binomial_pvalue(matches, k)
        ref = per_image if reference is None else reference
    else:
        if keys.ndim != 2 or keys.shape[1] != k or keys.shape[0] < 1:
            raise InriaError(f"identification keys of shape {tuple(keys.shape)}, expected (K, {k})", where="keys")
        K = keys.shape[0]
        scores = (bits[:, None, :] == keys[None]).sum(-1)  # (n, K)
        best = scores.argmax(1)
        matches = scores[np.arange(n), best]
        raw = binomial_pvalue(matches, k)
        p = corrected_pvalue(raw, K)
        extra.update(n_keys=K, threshold=threshold(k, fpr, K), raw_p_value=[float(v) for v in raw])
        ref = keys[best] if reference is None else reference
        identity = np.where(p <= fpr, best, -1).astype(np.int64)
    p = np.asarray(p, dtype=np.float64)
    detected = p <= fpr
    acc = (bits == np.asarray(ref, bool)).mean(1)
    if logits is not None:
        extra["mean_abs_logit"] = float(np.abs(logits).mean())
    return Detection(bits=bits, p_value=p, detected=detected, score=np.asarray(matches, dtype=np.int64),
                     bit_accuracy=acc, fpr=float(fpr), identity=identity, extra=extra)


def log10_pvalue(p: Iterable[float]) -> np.ndarray:
    return np.log10(np.clip(np.asarray(list(p), dtype=np.float64), 1e-300, 1.0))


__all__ = ["parse_key", "key_string", "parse_messages", "check_images", "corrected_pvalue", "threshold",
           "binomial_test", "log10_pvalue"]

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

from typing import Iterable

import numpy as np

from inria.errors import InriaError
from inria.eval.metrics import binomial_pvalue, min_matches
from inria.interfaces.types import Detection
from inria.ops.watermark import check_images, key_string, parse_key, parse_messages  # noqa: F401 (re-exported)


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

"""Bjøntegaard deltas: the average gap between two rate-distortion curves.

- :func:`bd_psnr`: mean quality difference (dB, or any distortion unit) of
  curve B over curve A, integrated over the log-rate range both reach.
- :func:`bd_rate`: mean rate difference (percent) of B against A at equal
  quality, integrated over the quality range both reach; negative means B
  needs fewer bits.

Method (G. Bjøntegaard, VCEG-M33, 2001; the interpolation of VCEG-AL22 /
JVET common test conditions): each curve is interpolated as quality against
``log10(rate)`` (or the reverse for BD-rate), the interpolants are integrated
over the overlap and the difference of the integrals is divided by its
length. ``method="pchip"`` (default) uses a piecewise cubic Hermite
interpolant, which follows the points without overshoot and works from two
points up; ``method="cubic"`` is the original least-squares cubic (needs at
least four points per curve).

Points may come in any order; duplicates of the abscissa are averaged.
Curves that do not overlap raise ``ValueError`` naming both ranges.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _clean(x: Sequence[float], y: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{what}: rates and qualities must be 1-D of one length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    ux = np.unique(x)
    y = np.array([y[x == u].mean() for u in ux])
    if len(ux) < 2:
        raise ValueError(f"{what}: needs at least 2 distinct finite points, got {len(ux)}")
    return ux, y


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(x, y, extrapolate=False).integrate(lo, hi))
    if method == "cubic":
        if len(x) < 4:
            raise ValueError(f"method 'cubic' needs at least 4 points per curve, got {len(x)}")
        p = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(p, hi) - np.polyval(p, lo))
    raise ValueError(f"unknown method {method!r} (accepted: 'pchip', 'cubic')")


def _delta(xa, ya, xb, yb, method: str, what: str) -> tuple[float, float, float]:
    """Mean of (yb - ya) over the overlap of the x ranges; returns (delta, lo, hi)."""
    lo, hi = max(xa.min(), xb.min()), min(xa.max(), xb.max())
    if not hi > lo:
        raise ValueError(f"{what}: the curves do not overlap (A spans {xa.min():.4g}..{xa.max():.4g}, "
                         f"B spans {xb.min():.4g}..{xb.max():.4g})")
    diff = _integral(xb, yb, lo, hi, method) - _integral(xa, ya, lo, hi, method)
    return diff / (hi - lo), lo, hi


def bd_psnr(rate_a, quality_a, rate_b, quality_b, method: str = "pchip") -> float:
    """Mean quality of B minus A (dB for PSNR) over the shared log10-rate range."""
    ra, qa = _log_rates(rate_a, quality_a, "curve A")
    rb, qb = _log_rates(rate_b, quality_b, "curve B")
    return _delta(ra, qa, rb, qb, method, "bd_psnr")[0]


def bd_rate(rate_a, quality_a, rate_b, quality_b, method: str = "pchip") -> float:
    """Mean rate change of B against A (percent) at equal quality over the shared quality range."""
    ra, qa = _log_rates(rate_a, quality_a, "curve A")
    rb, qb = _log_rates(rate_b, quality_b, "curve B")
    qa_, ra_ = _clean(qa, ra, "curve A")
    qb_, rb_ = _clean(qb, rb, "curve B")
    delta = _delta(qa_, ra_, qb_, rb_, method, "bd_rate")[0]
    return float((10.0 ** delta - 1.0) * 100.0)


def overlap(rate_a, rate_b) -> tuple[float, float]:
    """The rate interval both curves reach (lo, hi); lo >= hi when they do not overlap."""
    return float(max(np.min(rate_a), np.min(rate_b))), float(min(np.max(rate_a), np.max(rate_b)))


def _log_rates(rate, quality, what: str) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(rate <= 0):
        raise ValueError(f"{what}: rates must be > 0")
    return _clean(np.log10(rate), quality, what)


__all__ = ["bd_psnr", "bd_rate", "overlap"]

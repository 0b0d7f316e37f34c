"""Rate-distortion evaluation of any Codec (the ``evaluate`` verb).

Each point compresses every image to real bytes, decodes them, and reports
mean bpp (from ``len(bytes)``, header included), PSNR and SSIM (MS-SSIM too
where every image is large enough). A ``sweep`` maps one config field to a
list of values (``{quality: [10, 50, 90]}``); each value is one point
(several fields: every combination, in order).

With several points, ``metrics["rd"]`` holds every point; the top-level
numbers (and the reconstructions returned) are those of ONE point, ``show``
(default 0, the first; -1 the last), and ``metrics["shown_point"]`` says
which (``"quality=10 (point 1 of 3; all points in rd)"``). The runner's
console line prints every point of ``rd``.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from .metrics import bpp, image_quality, psnr


def rd_point(codec, images, ctx=None) -> tuple[dict, list]:
    t0 = time.perf_counter()
    streams = [codec.compress(im) for im in (ctx.progress(images, desc="encode") if ctx else images)]
    t1 = time.perf_counter()
    recon = [codec.decompress(s) for s in streams]
    t2 = time.perf_counter()
    rates = np.array([bpp(s, im) for s, im in zip(streams, images)])
    quality = image_quality(images, recon)
    pixels = sum(int(im.shape[-1]) * int(im.shape[-2]) for im in images)
    point = {
        "bpp": float(rates.mean()), "bytes": float(np.mean([len(s) for s in streams])), **quality,
        "psnr_per_image": [float(v) for v in psnr(images, recon)], "bpp_per_image": [float(v) for v in rates],
        "encode_mpix_s": pixels / 1e6 / max(t1 - t0, 1e-9), "decode_mpix_s": pixels / 1e6 / max(t2 - t1, 1e-9),
    }
    return point, recon


def point_label(params: dict) -> str:
    """``{quality: 10, x: 2}`` -> ``"quality=10 x=2"`` (``"default config"`` when empty)."""
    return " ".join(f"{k}={v}" for k, v in params.items()) or "default config"


def evaluate_codec(codec, images, sweep: dict[str, list], ctx=None, show: int = 0, keep_images: bool = True) -> dict:
    """Returns ``{"images": reconstructions of point ``show``, "metrics": {...}}``.

    ``metrics["rd"]`` is the list of points (each with its ``params``), the
    key the report plots as a rate-distortion curve; the top-level numbers
    are point ``show``'s (index into the points; -1 = the last), named by
    ``metrics["shown_point"]`` when there are several.
    ``keep_images=False`` returns no reconstructions (``images`` is None).
    """
    from ..errors import InriaError

    images = list(images)
    if not images:
        raise InriaError("no images to evaluate the codec on")
    keys = list(sweep)
    for key in keys:
        if not hasattr(codec.config, key):
            raise InriaError(f"cannot sweep unknown config field '{key}' of {codec.name}")
        if isinstance(sweep[key], (str, bytes)) or not hasattr(sweep[key], "__len__") or not len(sweep[key]):
            raise InriaError(f"sweep.{key}: give a non-empty list of values, got {sweep[key]!r}")
    combos = list(itertools.product(*(sweep[k] for k in keys))) or [()]
    if not -len(combos) <= show < len(combos):
        raise InriaError(f"show {show} is not a sweep point index", where="show",
                         hint=f"accepted: 0..{len(combos) - 1} or -1 (the last) for {len(combos)} points")
    shown = show % len(combos)
    points, shown_recon = [], None
    for i, values in enumerate(combos):
        params = dict(zip(keys, values))
        variant = codec.with_overrides(**params) if params else codec
        point, recon = rd_point(variant, images, ctx)
        point["params"] = params
        points.append(point)
        if i == shown and keep_images:
            shown_recon = recon
    summary = {k: v for k, v in points[shown].items() if isinstance(v, float)}
    metrics = {**summary, "codec": codec.name, "rd": points}
    if len(points) > 1:
        metrics["shown_point"] = f"{point_label(points[shown]['params'])} (point {shown + 1} of {len(points)}; all points in rd)"
    return {"images": shown_recon, "metrics": metrics}

"""Rate-distortion evaluation of any Codec (the ``evaluate`` verb).

Each point compresses every image to real bytes, decodes them, and reports
mean bpp (from ``len(bytes)``, header included), PSNR and SSIM (MS-SSIM too
where every image is large enough). A ``sweep`` maps one config field to a
list of values (``{quality: [10, 50, 90]}``); each value is one point.
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


def evaluate_codec(codec, images, sweep: dict[str, list], ctx=None) -> dict:
    """Returns ``{"images": reconstructions of the first point, "metrics": {...}}``.

    ``metrics["rd"]`` is the list of points (each with its ``params``), the
    key the report plots as a rate-distortion curve.
    """
    from ..errors import InriaError

    images = list(images)
    if not images:
        raise InriaError("no images to evaluate the codec on")
    keys = list(sweep)
    for key in keys:
        if not hasattr(codec.config, key):
            raise InriaError(f"cannot sweep unknown config field '{key}' of {codec.name}")
    combos = list(itertools.product(*(sweep[k] for k in keys))) or [()]
    points, first_recon = [], None
    for values in combos:
        params = dict(zip(keys, values))
        variant = codec.with_overrides(**params) if params else codec
        point, recon = rd_point(variant, images, ctx)
        point["params"] = params
        points.append(point)
        if first_recon is None:
            first_recon = recon
    summary = {k: v for k, v in points[0].items() if isinstance(v, float)}
    return {"images": first_recon, "metrics": {**summary, "codec": codec.name, "rd": points}}

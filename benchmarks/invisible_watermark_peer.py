"""invisible-watermark's dwtDct and rivaGan as the Stable Signature benchmarks call them (raw, not through a plugin).

Shared by stable_signature_robustness.py and stable_signature_speed.py; the
library works on BGR uint8 arrays, our images are (3, H, W) floats in [0, 1].
"""
from __future__ import annotations

import numpy as np
import torch


def to_bgr(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1).permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8).copy()


def from_bgr(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a[..., ::-1].astype(np.float32) / 255).permute(2, 0, 1).contiguous()


class Peer:
    def __init__(self, method: str, bits: int = 32, scales=None):
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.method, self.bits, self.scales = method, bits, scales
        self.Enc, self.Dec = WatermarkEncoder, WatermarkDecoder
        if method == "rivaGan":
            WatermarkEncoder.loadModel()
            WatermarkDecoder.loadModel()

    def embed(self, x: torch.Tensor, msg: np.ndarray) -> torch.Tensor:
        enc = self.Enc()
        enc.set_watermark("bits", [int(b) for b in msg])
        kw = {"scales": self.scales} if (self.scales is not None and self.method == "dwtDct") else {}
        return from_bgr(enc.encode(to_bgr(x), self.method, **kw))

    def decode(self, x: torch.Tensor, size: int) -> np.ndarray:
        if min(x.shape[-2:]) < size:  # the peers refuse images under 256x256
            x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear", antialias=True,
                                                align_corners=False)[0].clamp(0, 1)
        dec = self.Dec("bits", self.bits)
        kw = {"scales": self.scales} if (self.scales is not None and self.method == "dwtDct") else {}
        try:
            return np.asarray(dec.decode(to_bgr(x), self.method, **kw), dtype=bool)
        except Exception:
            return np.zeros(self.bits, dtype=bool)


def bisect_strength(fn, target: float, lo: float, hi: float, steps: int = 7) -> float:
    """Strength s in [lo, hi] whose PSNR fn(s) is closest to target (PSNR falls as s grows)."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        if fn(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def peer_rows(x: torch.Tensor, attacks, size: int, target_psnr: float, rng: np.random.Generator) -> dict:
    """dwtDct (strength bisected to ``target_psnr`` on two images) and rivaGan (fixed strength) carry 32 random
    bits each through ``attacks`` on the batch ``x``; per method: PSNR, s/image, bit accuracy per attack (a peer
    that cannot be loaded, e.g. onnxruntime missing, is reported and left out)."""
    import time

    from inria.eval.metrics import psnr as _psnr
    from inria.ops.attacks import apply

    def psnr(a, b) -> float:
        return float(np.mean(_psnr(a, b)))

    rows = {}
    for method in ("dwtDct", "rivaGan"):
        try:
            peer = Peer(method)
        except Exception as e:  # onnxruntime missing, ...
            print(f"{method}: skipped ({type(e).__name__}: {e})")
            continue
        pm = rng.integers(0, 2, (len(x), 32)).astype(bool)
        if method == "dwtDct":
            def dwt_psnr(s):
                peer.scales = [0, s, s]
                return psnr(torch.stack([peer.embed(x[i], pm[i]) for i in range(2)]), x[:2])

            s = bisect_strength(dwt_psnr, target_psnr, 4.0, 200.0)
            peer.scales = [0, s, s]
        t0 = time.time()
        wm = torch.stack([peer.embed(x[i], pm[i]) for i in range(len(x))])
        res = {"psnr": psnr(wm, x), "bits": 32, "s_per_image": (time.time() - t0) / len(x)}
        if method == "dwtDct":
            res["scales"] = peer.scales
        for a in attacks:
            att = apply(a, wm)
            att = list(att.unbind(0)) if isinstance(att, torch.Tensor) else list(att)
            bits = np.stack([peer.decode(im, size) for im in att])
            res[a] = float((bits == pm).mean())
        rows[method] = res
    return rows

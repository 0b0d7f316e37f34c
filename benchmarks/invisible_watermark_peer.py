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

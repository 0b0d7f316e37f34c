"""Codec: lossy image compression to real bytes (CompressAI's contract).

``compress(image) -> bytes`` and ``decompress(bytes) -> image`` on one
(3, H, W) float image in [0, 1]. The bytes are the whole file: bpp is always
counted from ``len(data) * 8 / (H * W)``, header included. Neural codecs
wrap their payload in :mod:`inria.bitstream` so that every codec shares one
container with a parser that never trusts a length it reads.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any

from ..config import doc
from .base import Component, verb


@dataclasses.dataclass
class EvaluateParams:
    sweep: dict[str, list] = doc({}, "config field -> values: one rate-distortion point per value (e.g. {quality: [10, 50, 90]})")
    keep_images: bool = doc(True, "store the reconstructions of the first sweep point")


class Codec(Component):
    interface = "codec"

    def fit(self, images, ctx=None) -> dict[str, float]:
        """Train on images (tensor or list); returns final metrics. Codecs without parameters need not train."""
        return {}

    @abc.abstractmethod
    def compress(self, image) -> bytes:
        """One (3, H, W) float image in [0, 1] -> the complete bitstream."""

    @abc.abstractmethod
    def decompress(self, data: bytes):
        """The bytes of :meth:`compress` -> the (3, H, W) float image."""

    # -- recipe verbs -------------------------------------------------------
    @verb(inputs={"images": "images"}, outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images):
        """Train the codec on the images and save it as a model directory."""
        metrics = self.fit(images, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics}

    @verb(inputs={"images": "images", "model": "model?"}, outputs={"bitstreams": "bitstreams", "metrics": "metrics"})
    def compress_step(self, ctx, images, model=None):
        """Compress each image to its own bitstream."""
        from ..eval.metrics import bpp

        streams = [self.compress(img) for img in ctx.progress(images, desc="compress")]
        rates = [bpp(s, img) for s, img in zip(streams, images)]
        return {"bitstreams": streams, "metrics": {"bpp": sum(rates) / max(len(rates), 1)}}

    @verb(inputs={"bitstreams": "bitstreams", "model": "model?"}, outputs={"images": "images"})
    def decompress_step(self, ctx, bitstreams, model=None):
        """Decode bitstreams back to images."""
        return {"images": [self.decompress(s) for s in ctx.progress(bitstreams, desc="decompress")]}

    @verb(inputs={"images": "images", "model": "model?"}, outputs={"images": "images", "metrics": "metrics"},
          params=EvaluateParams)
    def evaluate_step(self, ctx, images, model=None, sweep=None, keep_images=True):
        """Rate-distortion: bpp (real bytes), PSNR and (MS-)SSIM per image, per sweep point."""
        from ..eval.codec import evaluate_codec

        return evaluate_codec(self, images, sweep or {}, ctx=ctx)

    def with_overrides(self, **changes: Any) -> "Codec":
        """A copy of this codec with some config fields changed (for rate sweeps).

        Trained codecs override this to share their weights.
        """
        from ..config import build, to_dict

        config = build(type(self.config), {**to_dict(self.config), **changes}, where=f"{self.name}.sweep")
        return type(self)(config)

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
    sweep: dict[str, list] = doc({}, "config field -> values: one rate-distortion point per value (e.g. {quality: [10, 50, 90]}); "
                                     "every point goes to metrics `rd` and the console line")
    show: int = doc(0, "which sweep point the top-level metrics and the stored reconstructions are (0 = the first, "
                       "-1 = the last); metrics `shown_point` names it")
    keep_images: bool = doc(True, "store the reconstructions of the shown sweep point")


class Codec(Component):
    """Lossy image compression to real bytes; subclass it and implement ``compress`` / ``decompress``.

    The contract:

    - ``compress(image) -> bytes``: ``image`` is ONE float32 torch tensor
      (3, H, W) with values in [0, 1] (any H, W >= 1). The bytes are the whole
      file: ``decompress`` needs nothing else (no side channel, no shape kept
      on ``self``), and bpp is counted from ``len(data) * 8 / (H * W)``.
    - ``decompress(data) -> image``: the (3, H, W) float tensor in [0, 1] of
      the same H, W. Bytes it cannot parse (truncated, corrupt, another
      codec's) raise :class:`inria.errors.InriaError` with one line saying
      what is wrong, never an IndexError or a huge allocation (use
      :mod:`inria.bitstream`, whose parser checks every length it reads).
    - Bad config values: ``Config.validate`` raises ValueError naming the
      field (the registry turns it into a one-line InriaError).
    - ``fit(images, ctx)`` trains (codecs without parameters keep the default,
      which does nothing) and returns a dict of final metrics; a trained codec
      also extends ``save`` / ``load`` with its weights.
    - ``with_overrides(**fields)`` returns a variant for rate sweeps (the
      ``evaluate`` verb's ``sweep``); a trained codec overrides it to share
      its weights.

    Recipe verbs (already provided): ``fit``, ``compress`` (bitstreams + bpp),
    ``decompress`` (images) and ``evaluate`` (bpp, PSNR, SSIM, MS-SSIM per
    sweep point). The built-in step ``run: quality`` measures a
    ``decompress`` step's output against the original images.
    """

    interface = "codec"

    def fit(self, images, ctx=None) -> dict[str, float]:
        """Train on images (a (N, 3, H, W) tensor or a list of (3, H, W)); returns final metrics.

        Codecs without parameters need not train: the default returns ``{}``.
        """
        return {}

    @abc.abstractmethod
    def compress(self, image) -> bytes:
        """One (3, H, W) float tensor in [0, 1] -> the complete bitstream (``bytes``, header included).

        Raise :class:`inria.errors.InriaError` for an input you cannot code
        (wrong shape, too small), naming the shape and what is accepted.
        """

    @abc.abstractmethod
    def decompress(self, data: bytes):
        """The bytes of :meth:`compress` -> the (3, H, W) float tensor in [0, 1].

        Corrupt or truncated bytes raise :class:`inria.errors.InriaError`
        (one line), never another exception.
        """

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
    def evaluate_step(self, ctx, images, model=None, sweep=None, show=0, keep_images=True):
        """Rate-distortion: bpp (real bytes), PSNR and (MS-)SSIM per image, per sweep point.

        Sweep: every point is in metrics `rd` and on the console line; the top-level metrics are point `show` (named by `shown_point`).
        """
        from ..eval.codec import evaluate_codec

        return evaluate_codec(self, images, sweep or {}, ctx=ctx, show=show, keep_images=keep_images)

    def with_overrides(self, **changes: Any) -> "Codec":
        """A copy of this codec with some config fields changed (for rate sweeps).

        Trained codecs override this to share their weights.
        """
        from ..config import build, to_dict

        config = build(type(self.config), {**to_dict(self.config), **changes}, where=f"{self.name}.sweep")
        return type(self)(config)

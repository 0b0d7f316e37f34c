"""Watermarker: hide a message in images, detect it with a statistical test.

``embed(images, messages) -> (images, messages)`` with messages bool (N, k).
A watermarker whose key lives in its weights (Stable Signature) ignores the
messages argument and returns its key for every image. ``detect(images,
reference)`` returns a :class:`~inria.interfaces.types.Detection` whose
p-values come from the paper's test (binomial tail for bits, incomplete beta
for cosines), never from a threshold picked by eye.
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from ..config import doc
from .base import Component, verb
from .types import Detection


@dataclasses.dataclass
class EmbedParams:
    message_seed: int = doc(0, "seed of the random messages drawn when no messages are wired")


class Watermarker(Component):
    """Hide a message in images and detect it with a statistical test; implement ``embed`` and ``detect``.

    The contract:

    - ``bits``: the message length, an int >= 1. Set it in ``__init__`` from
      your config (``self.bits = self.config.bits``); :meth:`random_messages`
      (what the ``embed`` verb draws when no messages are wired) reads it, and
      raises a one-line InriaError while it is 0.
    - ``embed(images, messages) -> (marked, messages)``: ``images`` is a float
      tensor (N, 3, H, W) in [0, 1] (or a list of (3, H, W) tensors when sizes
      differ); ``messages`` a bool numpy array (N, bits). ``marked`` has the
      same shape(s) and range. A wrong message shape raises
      :class:`inria.errors.InriaError`; missing messages (None) are drawn with
      :meth:`random_messages` or raise InriaError (never a TypeError). When
      the key lives in the weights (Stable Signature) ``messages`` is ignored
      and the key is returned for every image.
    - ``detect(images, reference=None) -> Detection``
      (:class:`inria.interfaces.types.Detection`): decoded ``bits`` (N, bits)
      bool; ``p_value`` (N,) from the method's test (a binomial tail over
      matching bits, an incomplete beta for cosines), never a threshold picked
      by eye; ``detected = p_value < fpr``; ``bit_accuracy`` (N,) against
      ``reference`` (NaN without one). Images may have been attacked: other
      sizes than at embedding time must not crash.
    - ``fit(images, ctx)`` trains (the default does nothing) and returns
      final metrics.

    Recipe verbs (already provided): ``fit``, ``embed`` (marked images,
    messages, PSNR/SSIM of the marks) and ``detect`` (detections and their
    summary: detected rate, median log10 p, bit accuracy).
    """

    interface = "watermarker"
    #: the message length in bits (implementations set it from their config)
    bits: int = 0

    def fit(self, images, ctx=None) -> dict[str, float]:
        """Train on images; returns final metrics. The default (no training) returns ``{}``."""
        return {}

    @abc.abstractmethod
    def embed(self, images, messages: np.ndarray | None = None) -> tuple[object, np.ndarray]:
        """Images (N, 3, H, W) float in [0, 1] and messages bool (N, bits) -> (marked images, messages).

        The marked images keep the input's shape(s) and [0, 1] range. Raise
        :class:`inria.errors.InriaError` when the messages' shape is not
        (N, bits); None means draw them (:meth:`random_messages`), raise
        InriaError, or, when the key lives in the weights, return the key.
        """

    @abc.abstractmethod
    def detect(self, images, reference: np.ndarray | None = None) -> Detection:
        """Images (N, 3, H, W) float in [0, 1] -> a :class:`Detection` of N rows.

        ``reference`` (bool (N, bits)), when given, fills ``bit_accuracy``;
        p-values come from the method's statistical test.
        """

    def random_messages(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` random messages, bool (n, self.bits), from ``seed``; needs ``self.bits >= 1``."""
        if not isinstance(self.bits, (int, np.integer)) or self.bits < 1:
            from ..errors import InriaError

            raise InriaError(f"{self.name or type(self).__name__}: bits is {self.bits!r}; messages need bits >= 1",
                             hint="set self.bits from the config in __init__")
        return np.random.default_rng(seed).integers(0, 2, size=(n, self.bits)).astype(bool)

    @verb(inputs={"images": "images"}, outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images):
        """Train the watermarker and save it."""
        metrics = self.fit(images, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics}

    @verb(inputs={"images": "images", "messages": "messages?", "model": "model?"},
          outputs={"images": "images", "messages": "messages", "metrics": "metrics"}, params=EmbedParams)
    def embed_step(self, ctx, images, messages=None, model=None, message_seed=0):
        """Watermark the images; outputs the marked images and the embedded messages."""
        from ..eval.metrics import image_quality

        if messages is None:
            messages = self.random_messages(len(images), seed=message_seed)
        marked, messages = self.embed(images, messages)
        return {"images": marked, "messages": messages, "metrics": image_quality(images, marked)}

    @verb(inputs={"images": "images", "messages": "messages?", "model": "model?"},
          outputs={"detections": "detections", "metrics": "metrics"})
    def detect_step(self, ctx, images, messages=None, model=None):
        """Decode and test each image; bit accuracy is against the wired messages."""
        det = self.detect(images, messages)
        return {"detections": det, "metrics": det.summary()}

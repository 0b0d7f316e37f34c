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
    interface = "watermarker"
    #: the message length in bits (implementations set it from their config)
    bits: int = 0

    def fit(self, images, ctx=None) -> dict[str, float]:
        return {}

    @abc.abstractmethod
    def embed(self, images, messages: np.ndarray | None = None) -> tuple[object, np.ndarray]: ...

    @abc.abstractmethod
    def detect(self, images, reference: np.ndarray | None = None) -> Detection: ...

    def random_messages(self, n: int, seed: int = 0) -> np.ndarray:
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

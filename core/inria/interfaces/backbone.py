"""Backbone: an image model to train, embed with and classify with.

``module`` is the ``torch.nn.Module``; ``embed(images) -> (N, D)`` float32
numpy features; ``classify(images) -> (N, C)`` logits tensor. ``fit`` goes
through the core training engine (:mod:`inria.train`).
"""
from __future__ import annotations

import abc
import dataclasses

import numpy as np

from ..config import doc
from .base import Component, verb


@dataclasses.dataclass
class EvaluateParams:
    knn_k: int = doc(10, "k of the k-NN accuracy on embeddings (0 to skip)")


class Backbone(Component):
    """An image model to train, embed with and classify with; implement ``module``, ``embed``, ``classify``.

    The contract:

    - ``module``: the ``torch.nn.Module`` (what training updates and what
      ``save`` writes as safetensors).
    - ``embed(images) -> features``: ``images`` a float tensor (N, 3, H, W) in
      [0, 1] (the backbone normalises and resizes itself); returns float32
      numpy (N, D), without gradients.
    - ``classify(images) -> logits``: a float torch tensor (N, num_classes).
    - ``features(images) -> tensor`` (optional): the same features as
      ``embed`` as a torch tensor (N, D) *with gradients* with respect to the
      pixels of a float batch (N, 3, H, W) in [0, 1]. Methods that optimise
      pixels in a latent space (SSL watermarking) need it; the default raises
      a one-line InriaError naming the backbone.
    - ``fit(images, labels, ctx=None) -> metrics``: train through the core
      engine (:mod:`inria.train`); the default raises NotImplementedError for
      a backbone that cannot be trained. ``labels`` are int64 (N,).
    - Wrong input shapes raise :class:`inria.errors.InriaError` naming the
      shape and what is accepted.

    Recipe verbs (already provided): ``fit``, ``embed``, ``classify`` and
    ``evaluate`` (top-1 and k-NN accuracy).
    """

    interface = "backbone"

    @classmethod
    def load(cls, path, **overrides):
        """Build from a model directory: the card's config, then the directory's weights.

        A Backbone with ``load_checkpoint(source)`` (reading weights from a directory or file into the built
        module) is built with ``checkpoint: None`` (so the constructor reads nothing) and then given the
        directory; one without it is built from the card alone, as any Component.
        """
        if not callable(getattr(cls, "load_checkpoint", None)):
            return super().load(path, **overrides)
        from ..config import build
        from ..modeldir import read_card

        card = read_card(path, expect=cls)
        obj = cls(build(cls.Config, {**card["config"], **overrides, "checkpoint": None},
                        where=f"{path}/card.yaml:config"))
        obj.load_checkpoint(path)
        return obj

    @property
    @abc.abstractmethod
    def module(self):
        """The ``torch.nn.Module`` (trained by ``fit``, saved by ``save``)."""

    @abc.abstractmethod
    def embed(self, images) -> np.ndarray:
        """Float (N, 3, H, W) images in [0, 1] -> float32 numpy features (N, D), no gradients."""

    @abc.abstractmethod
    def classify(self, images):
        """Float (N, 3, H, W) images in [0, 1] -> logits, a float torch tensor (N, num_classes)."""

    def features(self, images):
        """Differentiable features: float batch (N, 3, H, W) in [0, 1] -> torch tensor (N, D) with gradients.

        Override it where the network allows (resize and normalise with torch
        ops, no ``no_grad``, no numpy). The default refuses in one line.
        """
        from ..errors import InriaError

        raise InriaError(f"backbone '{self.name or type(self).__name__}' gives no differentiable features",
                         where="backbone", hint="pick a Backbone that implements features(), e.g. ssl_resnet_cpu, "
                                                "deit3_small, patchconvnet_s60")

    def fit(self, images, labels, ctx=None) -> dict[str, float]:
        """Train on images and int64 labels (N,) through :mod:`inria.train`; returns final metrics."""
        raise NotImplementedError(f"{self.name} cannot be trained")

    @verb(inputs={"images": "images", "labels": "labels"}, outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images, labels):
        """Train on labelled images and save the model directory."""
        metrics = self.fit(images, labels, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics or {}}

    @verb(inputs={"images": "images", "model": "model?"}, outputs={"vectors": "vectors"})
    def embed_step(self, ctx, images, model=None):
        """Features (N, D) float32."""
        return {"vectors": np.asarray(self.embed(images), dtype=np.float32)}

    @verb(inputs={"images": "images", "model": "model?"}, outputs={"labels": "labels"})
    def classify_step(self, ctx, images, model=None):
        """Predicted class per image."""
        logits = self.classify(images)
        return {"labels": np.asarray(logits.argmax(-1).cpu().numpy(), dtype=np.int64)}

    @verb(inputs={"images": "images", "labels": "labels", "model": "model?"}, outputs={"metrics": "metrics"},
          params=EvaluateParams)
    def evaluate_step(self, ctx, images, labels, model=None, knn_k=10):
        """Top-1 accuracy and leave-one-out k-NN accuracy on embeddings."""
        from ..eval.metrics import knn_accuracy

        logits = self.classify(images)
        pred = logits.argmax(-1).cpu().numpy()
        out = {"top1": float((pred == np.asarray(labels)).mean())}
        if knn_k:
            out[f"knn{knn_k}"] = knn_accuracy(self.embed(images), np.asarray(labels), k=knn_k)
        return {"metrics": out}

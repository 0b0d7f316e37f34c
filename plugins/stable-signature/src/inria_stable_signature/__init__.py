"""inria-plugin-stable-signature: watermarks rooted in a latent decoder (Fernandez et al., ICCV 2023).

Watermarkers (entry points in ``inria.watermarker``):

- ``stable_signature`` — :class:`~.watermarkers.StableSignature`: a latent
  autoencoder whose decoder was tuned so that every decoded image carries
  one key, plus the extractor that reads it back and a binomial test.
- ``hidden`` — :class:`~.watermarkers.Hidden`: the HiDDeN encoder and
  extractor applied post hoc, one message per image.

Objectives (``inria.objectives``): ``hidden_message`` and
``stable_signature_decoder``, trained by the core engine ``inria.train``.

Modules: :mod:`.hidden` (networks), :mod:`.extractor` (normalisation,
whitening, TorchScript), :mod:`.attack_layer`, :mod:`.autoencoder`,
:mod:`.objectives`, :mod:`.detection` (the statistical test),
:mod:`.official` (the paper's files), :mod:`.modelfiles` (model
directories), :mod:`.pipeline` (diffusers), :mod:`.data` (offline images),
:mod:`.train_default` (the recipe of the shipped model).
"""
from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("StableSignature", "Hidden", "StableSignatureConfig", "HiddenConfig"):
        from . import watermarkers

        return getattr(watermarkers, name)
    raise AttributeError(name)


__all__ = ["StableSignature", "Hidden", "StableSignatureConfig", "HiddenConfig", "__version__"]

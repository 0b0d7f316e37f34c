"""Putting the watermarked decoder into a diffusers pipeline, and checking that it is there.

The paper's users who loaded the tuned decoder but kept the pipeline's
original VAE got images without the watermark and 50 % bit accuracy. So
:func:`install` copies the decoder weights into ``pipe.vae`` itself (no
``decode`` monkey-patching to forget), then :func:`verify` auto-encodes
probe images through ``pipe.vae`` and runs the detector: a pipeline whose
VAE does not carry the key is an error naming the bit accuracy it got.
"""
from __future__ import annotations

import numpy as np
import torch

from inria.errors import InriaError

from .autoencoder import Autoencoder, is_diffusers_vae


def _probe_images(n: int = 4, size: int = 64) -> torch.Tensor:
    from .data import held_out_crops

    return held_out_crops(size, n, seed=123)


def verify(pipe_or_vae, watermarker, images: torch.Tensor | None = None, min_accuracy: float = 0.9) -> float:
    """Mean bit accuracy of images auto-encoded by ``pipe.vae`` (or a VAE); an InriaError below ``min_accuracy``."""
    vae = getattr(pipe_or_vae, "vae", pipe_or_vae)
    ae = Autoencoder(vae)
    x = _probe_images() if images is None else images
    with torch.no_grad():
        dev = next(vae.parameters()).device
        y = ae.roundtrip(x.to(dev)).cpu()
    bits, _ = watermarker.extract(list(y.unbind(0)))
    acc = float((bits == np.asarray(watermarker.key, bool)).mean())
    if acc < min_accuracy:
        raise InriaError(f"the pipeline's VAE does not carry the watermark: bit accuracy {acc:.2f} on {len(x)} probe "
                         f"images (about 0.5 means the original decoder is still in place)", where="pipeline",
                         hint="call StableSignature.install(pipe) to swap in the watermarked decoder")
    return acc


def install(pipe, watermarker, check: bool = True, images: torch.Tensor | None = None):
    """Copy the watermarked decoder side (``post_quant_conv`` + ``decoder``) into ``pipe.vae``; returns ``pipe``.

    With ``check`` (default) the pipeline is then verified on ``images``
    (default: held-out photo crops) and an InriaError raised if the key does
    not come out.
    """
    vae = getattr(pipe, "vae", None)
    if vae is None or not is_diffusers_vae(vae):
        raise InriaError(f"{type(pipe).__name__} has no diffusers AutoencoderKL as .vae", where="pipeline")
    source = watermarker.watermarked.module
    if not is_diffusers_vae(source):
        raise InriaError(f"the watermarked decoder is a {type(source).__name__}, not a diffusers AutoencoderKL; "
                         f"tune the pipeline's own VAE (vae=<folder>) first", where="pipeline")
    state = watermarker.watermarked.decoder_state()
    own = {k: v for k, v in vae.state_dict().items() if not k.startswith(("encoder", "quant_conv"))}
    if set(own) != set(state) or any(tuple(own[k].shape) != tuple(state[k].shape) for k in own):
        raise InriaError("the watermarked decoder does not fit this pipeline's VAE (different architecture)",
                         where="pipeline", hint="tune the decoder of this very VAE")
    ref = next(iter(own.values()))
    vae.load_state_dict({k: v.to(ref.device, ref.dtype) for k, v in state.items()}, strict=False)
    vae.inria_stable_signature_key = "".join("1" if b else "0" for b in watermarker.key)
    if check:
        verify(pipe, watermarker, images=images)
    return pipe

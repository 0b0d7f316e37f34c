"""NeuralCompression ``msillm_quality_*`` / ``noganms_quality_*`` state dicts from a local path.

The official zoo (``neuralcompression/zoo/_msillm.py``) builds
``HiFiCAutoencoder()`` with its defaults and calls ``load_state_dict`` on the
downloaded ``msillm_target_<rate>bpp.ckpt``: a flat state dict whose names
are that module's (``encoder.blocks.<i>.<j>``, ``decoder.block_0``,
``decoder.resid_blocks.<k>.sequence.<j>``, ``decoder.blocks.<i>``,
``hyper_analysis``, ``hyper_synthesis_mean``, ``hyper_synthesis_scale``,
``hyper_bottleneck`` and ``latent_bottleneck`` with CompressAI's buffers).
:class:`.hific.HiFiCAutoencoder` uses the same names, so the file loads as it
is; the architecture is read from the tensor shapes (latent and hyper
channels, widths, residual blocks), so a No-GAN or a custom-width file loads
too. Nothing is downloaded: give the path of a file fetched by hand.
"""
from __future__ import annotations

import re

import torch

from inria.errors import InriaError

HINT = "a NeuralCompression msillm_quality_*/noganms_quality_* state dict (.ckpt/.pth) or a model directory"


def architecture(state: dict[str, torch.Tensor], where: str) -> dict:
    """The config fields (widths, latent_channels, hyper_channels, residual_blocks) the tensors' shapes imply."""
    try:
        widths = [int(state[f"encoder.blocks.{i}.0.weight"].shape[0]) for i in range(5)]
        latent = int(state["encoder.blocks.5.weight"].shape[0])
        hyper = int(state["hyper_analysis.0.weight"].shape[0])
    except KeyError as e:
        raise InriaError(f"not a HiFiC autoencoder state dict (no {e.args[0]})", where=where, hint=HINT) from None
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"decoder\.resid_blocks\.(\d+)\.", k))}
    return dict(widths=widths, latent_channels=latent, hyper_channels=hyper, residual_blocks=len(blocks),
                centered=False)


def read_official(path: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, architecture fields) of an official checkpoint; one-line errors naming the file."""
    from inria.modeldir import read_state_dict

    state = read_state_dict(path, hint=HINT)
    return state, architecture(state, str(path))

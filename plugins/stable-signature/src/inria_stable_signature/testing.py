"""Helpers for tests (and for trying the plugin without a Stable Diffusion download)."""
from __future__ import annotations

import torch


def tiny_vae(latent_channels: int = 4, seed: int = 0):
    """A diffusers AutoencoderKL small enough for tests: factor 2, 8/16 channels, one block per level."""
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                         up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16),
                         layers_per_block=1, latent_channels=latent_channels, norm_num_groups=4,
                         sample_size=32).eval()

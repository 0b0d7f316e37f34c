"""Latent autoencoders: a small one for the shipped model, and the adapter every decoder goes through.

Stable Signature roots the watermark in the *decoder* of a latent
autoencoder. :class:`Autoencoder` wraps whatever holds it so the rest of the
plugin sees one interface, images in [0, 1]:

- a diffusers ``AutoencoderKL`` (Stable Diffusion's VAE): inputs in [-1, 1],
  ``encode(x).latent_dist.mode()``, ``decode(z).sample``; the decoder side
  is ``post_quant_conv`` + ``decoder``;
- any module with ``encode(x)`` and ``decode(z)`` working in [-1, 1] (LDM
  convention); its decoder side is every parameter outside ``encoder`` /
  ``quant_conv``;
- :class:`SmallAutoencoder`, the shipped default (factor 4, 4 latent
  channels, ~0.3 M parameters), trained on the bundled images.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from inria.errors import InriaError

ENCODER_SIDE = ("encoder", "quant_conv")


class _Res(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GELU(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class SmallAutoencoder(nn.Module):
    """A small deterministic conv autoencoder in the LDM convention (images in [-1, 1]).

    ``encode``: (N, 3, H, W) -> (N, latent, H/4, W/4); ``decode`` inverts it.
    H and W must be multiples of 4 (the adapter pads).
    """

    factor = 4

    def __init__(self, latent_channels: int = 4, channels: tuple[int, int] = (32, 64)):
        super().__init__()
        c0, c1 = channels
        self.latent_channels = latent_channels
        self.channels = (c0, c1)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c0, 3, padding=1), nn.GELU(),
            nn.Conv2d(c0, c1, 4, stride=2, padding=1), nn.GELU(), _Res(c1),
            nn.Conv2d(c1, c1, 4, stride=2, padding=1), nn.GELU(), _Res(c1),
            nn.Conv2d(c1, latent_channels, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, c1, 3, padding=1), nn.GELU(), _Res(c1),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, c1, 3, padding=1), nn.GELU(), _Res(c1),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, c0, 3, padding=1), nn.GELU(),
            nn.Conv2d(c0, c0, 3, padding=1), nn.GELU(), nn.Conv2d(c0, 3, 3, padding=1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def is_diffusers_vae(module) -> bool:
    return type(module).__name__ in ("AutoencoderKL", "AsymmetricAutoencoderKL") and hasattr(module, "config")


class Autoencoder(nn.Module):
    """Images in [0, 1] <-> latents, over a diffusers VAE or any ``encode``/``decode`` module."""

    def __init__(self, module: nn.Module, where: str = "vae"):
        super().__init__()
        if not callable(getattr(module, "decode", None)):
            raise InriaError(f"{type(module).__name__} has no decode(z) method", where=where)
        self.module = module
        self.diffusers = is_diffusers_vae(module)
        self.factor = self._factor()

    def _factor(self) -> int:
        if self.diffusers:
            return 2 ** (len(self.module.config.block_out_channels) - 1)
        return int(getattr(self.module, "factor", 8))

    # -- maths ------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if not callable(getattr(self.module, "encode", None)):
            raise InriaError(f"{type(self.module).__name__} has no encode(x); give latents instead", where="vae")
        out = self.module.encode(2 * x - 1)
        if hasattr(out, "latent_dist"):
            out = out.latent_dist
        if not isinstance(out, torch.Tensor) and callable(getattr(out, "mode", None)):
            out = out.mode()  # a diagonal Gaussian: its mode, as the paper encodes
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> images in [0, 1] (not clamped: training needs the gradient at the edges)."""
        out = self.module.decode(z)
        if hasattr(out, "sample"):
            out = out.sample
        elif isinstance(out, (tuple, list)):
            out = out[0]
        return (out + 1) / 2

    def pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        from inria.ops.image import pad_to_multiple

        return pad_to_multiple(x, self.factor)

    def roundtrip(self, x: torch.Tensor, decoder: "Autoencoder | None" = None) -> torch.Tensor:
        """Encode with this autoencoder, decode with ``decoder`` (default: this one); same size as ``x``, clamped."""
        h, w = x.shape[-2:]
        xp, _ = self.pad(x)
        z = self.encode(xp)
        out = (decoder or self).decode(z)
        return out[..., :h, :w].clamp(0, 1)

    # -- parameters --------------------------------------------------------------------------
    def decoder_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.module.named_parameters() if not n.startswith(ENCODER_SIDE)]

    def decoder_state(self) -> dict[str, torch.Tensor]:
        return {n: t for n, t in self.module.state_dict().items() if not n.startswith(ENCODER_SIDE)}

    def tunable_copy(self) -> "Autoencoder":
        """A deep copy whose decoder side trains and whose encoder side is frozen."""
        twin = Autoencoder(copy.deepcopy(self.module))
        for n, p in twin.module.named_parameters():
            p.requires_grad_(not n.startswith(ENCODER_SIDE))
        return twin

    @torch.no_grad()
    def check_latents(self, probe_side: int = 64, where: str = "vae") -> tuple[int, ...]:
        """Encode a probe and decode its latent; a mismatch between the two halves is a one-line error."""
        side = max(probe_side, self.factor * 2)
        x = torch.full((1, 3, side, side), 0.5)
        try:
            z = self.encode(x)
        except InriaError:
            raise
        except Exception as e:
            raise InriaError(f"the encoder fails on a {side}x{side} probe ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:120]})", where=where) from None
        try:
            y = self.decode(z)
        except Exception as e:
            raise InriaError(f"the decoder cannot decode the encoder's latents of shape {tuple(z.shape)} "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:120]})", where=where,
                             hint="the encoder and decoder come from different autoencoders") from None
        if y.shape[-3] != 3:
            raise InriaError(f"the decoder outputs {y.shape[-3]} channels, expected 3 (RGB)", where=where)
        return tuple(z.shape[1:])

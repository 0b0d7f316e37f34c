"""The two training objectives of PQ-MIM, registered under ``inria.objectives`` for the core engine.

``pq_mim_autoencoder`` (stage 1): batches of (B, 3, H, W) crops;
``MSE(recon, x) + quantizer loss (commitment [+ codebook]) + perceptual_weight
* perceptual(recon, x)``. Each image draws its number of active
sub-quantizers (all M with probability ``full_rate_prob``, else uniform in
1..M): nested dropout, so one model serves every rate.

``pq_mim_decoder`` (stage 3, optional): the same crops and loss with the
encoder and codebooks frozen (:class:`FrozenCodes`): the indices, and so the
MIM model and every rate, stay exactly as they were; only the decoder learns
to reconstruct from the codes it will really get. In stage 1 it chased an
encoder and codebooks that moved under it.

``pq_mim_mim`` (stage 2): batches of frozen (B, M, h, w) index grids;
masked-token cross-entropy under the cosine masking-ratio schedule (see
:mod:`.mim`), with the same draw of active sub-quantizers.

Keyword arguments come from ``TrainConfig.objective_args``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mim import mim_loss


def draw_active(b: int, m: int, full_rate_prob: float, device) -> torch.Tensor:
    """(B,) active sub-quantizer counts: M with probability full_rate_prob, else uniform in 1..M."""
    prefix = torch.randint(1, m + 1, (b,), device=device)
    full = torch.rand(b, device=device) < full_rate_prob
    return torch.where(full, torch.full_like(prefix, m), prefix)


class AutoencoderObjective(nn.Module):
    def __init__(self, full_rate_prob: float = 0.5, perceptual: str = "watson-dft", perceptual_weight: float = 0.0,
                 **perceptual_kw):
        super().__init__()
        if not 0.0 <= full_rate_prob <= 1.0:
            from inria.errors import InriaError

            raise InriaError(f"full_rate_prob={full_rate_prob} is outside [0, 1]", where="objective_args")
        self.full_rate_prob = float(full_rate_prob)
        self.perceptual_weight = float(perceptual_weight)
        self.perceptual = None
        if self.perceptual_weight > 0:
            from inria.losses import perceptual_loss

            self.perceptual = perceptual_loss(perceptual, **perceptual_kw)

    def forward(self, model, batch, ctx):
        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        m = ctx.module.quantizer.m
        active = draw_active(x.shape[0], m, self.full_rate_prob, x.device)
        out = model(x, active)
        mse = F.mse_loss(out["recon"], x)
        loss = mse + out["loss"]
        metrics = {"mse": mse.detach(), "psnr": -10 * torch.log10(mse.detach().clamp(min=1e-10)),
                   "perplexity": out["perplexity"], "restarted": float(out["restarted"])}
        if self.perceptual is not None:
            p = self.perceptual(out["recon"].clamp(0, 1), x)
            loss = loss + self.perceptual_weight * p
            metrics["perceptual"] = p.detach()
        return loss, metrics


class MIMObjective:
    def __init__(self, full_rate_prob: float = 0.5):
        self.full_rate_prob = float(full_rate_prob)

    def __call__(self, model, batch, ctx):
        idx = batch if isinstance(batch, torch.Tensor) else batch[0]
        active = draw_active(idx.shape[0], ctx.module.m, self.full_rate_prob, idx.device)
        out = mim_loss(model, idx.long(), active)
        return out["loss"], {"bits_per_index": out["bits_per_index"],
                             "index_bits_saved": math.log2(ctx.module.k) - out["bits_per_index"]}


class FrozenCodes(nn.Module):
    """A PQAutoencoder whose encoder and quantizer are frozen (eval mode kept: no EMA codebook updates)."""

    def __init__(self, autoencoder: nn.Module):
        super().__init__()
        self.autoencoder = autoencoder
        self.quantizer = autoencoder.quantizer
        for part in (autoencoder.encoder, autoencoder.quantizer):
            part.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.autoencoder.encoder.eval()
        self.autoencoder.quantizer.eval()
        return self

    def forward(self, x: torch.Tensor, active: int | torch.Tensor | None = None) -> dict:
        ae = self.autoencoder
        with torch.no_grad():
            z = ae.encoder(x)
            latent = ae.quantizer.decode(ae.quantizer.encode(z), active)
        return {"recon": ae.decoder(latent), "loss": x.new_zeros(()), "perplexity": x.new_zeros(()),
                "restarted": 0}


class DecoderObjective(AutoencoderObjective):
    """Stage 3: stage 1's loss on a :class:`FrozenCodes` model (the decoder alone learns)."""

    def forward(self, model, batch, ctx):
        if not isinstance(ctx.module, FrozenCodes):
            from inria.errors import InriaError

            raise InriaError("pq_mim_decoder trains a FrozenCodes model (the fit's stage 3)", where="objective")
        loss, metrics = super().forward(model, batch, ctx)
        metrics.pop("perplexity"), metrics.pop("restarted")
        return loss, metrics

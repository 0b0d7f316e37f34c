"""The training objectives of MS-ILLM, registered under ``inria.objectives`` for the core engine.

``ms_illm_rate_distortion`` (stage 1, No-GAN): ``distortion_weight * MSE +
perceptual_weight * perceptual + rate``, where the rate is HiFiC's target-rate
rule as NeuralCompression's ``TargetRateConfig``: per image, the noisy bpp
times ``lam_levels[1]`` (scaled by the ``lam2_factors`` schedule) if the
*rounded* bpp is above the (scheduled) target, else ``lam_levels[0]``. The
hyper-bottleneck quantile loss trains the quantiles with their own Adam
(``quantile_lr``), as the official quantile optimizer: it is not added to
the model loss, so it neither enters its gradient clipping nor its logs'
loss.

``ms_illm_adversarial`` (stage 2): the encoder and the bottleneck frozen
(they run without gradients; param_groups ``ms_illm_generator`` trains the
generator only), ``distortion + perceptual + adversarial_weight *
OASIS-generator(D(x_hat, y_hat), labels)``. The discriminator and its own
AdamW (lr 4e-4, betas (0.5, 0.9)) live in the objective: each call first
takes one discriminator step on ``1/2 [CE(D(x, y_hat), labels + 1) +
CE(D(x_hat.detach(), y_hat), 0)]``; labels are the frozen VQ tokenizer's codes
of the real image. Both the discriminator and its optimizer state are
checkpointed with the run (``state_dict``).

``ms_illm_vqvae``: the tokenizer's VQ-VAE loss.
"""
from __future__ import annotations

import bisect

import torch
import torch.nn.functional as F

from inria.errors import InriaError


def scheduled(value: float, factors, steps, step: int) -> float:
    """value x factors[k], k = how many of ``steps`` are <= step (NeuralCompression's _get_scheduled_rate_param)."""
    return float(value) * float(factors[bisect.bisect_right(list(steps), step)])


def bits_per_pixel(likelihoods, pixels: int) -> torch.Tensor:
    """(B,) bits per pixel of a batch from the entropy models' likelihood tensors."""
    return sum(-torch.log2(p).flatten(1).sum(1) for p in likelihoods) / pixels


class _Distortion:
    def __init__(self, distortion_weight: float, perceptual: str, perceptual_weight: float, perceptual_weights: str,
                 perceptual_backbone_weights: str):
        self.distortion_weight, self.perceptual_weight = float(distortion_weight), float(perceptual_weight)
        self.perceptual = None
        if self.perceptual_weight > 0:
            from inria.losses import perceptual_loss

            self.perceptual = perceptual_loss(perceptual, weights=perceptual_weights or None,
                                              backbone_weights=perceptual_backbone_weights or None)

    def __call__(self, recon: torch.Tensor, x: torch.Tensor, metrics: dict) -> torch.Tensor:
        mse = F.mse_loss(recon, x)
        metrics["psnr"] = -10 * torch.log10(mse.detach().clamp(min=1e-10))
        loss = self.distortion_weight * mse
        if self.perceptual is not None:
            if self.perceptual is not None and next(self.perceptual.parameters(), x).device != x.device:
                self.perceptual.to(x.device)
            p = self.perceptual(recon.clamp(0, 1), x)
            metrics["perceptual"] = p.detach()
            loss = loss + self.perceptual_weight * p
        return loss


class RateDistortion:
    def __init__(self, target_bpp: float = 0.14, target_factors=(1.429, 1.0), target_steps=(50000,),
                 lam_levels=(0.0625, 2.0), lam2_factors=(0.5, 1.0), lam2_steps=(50000,),
                 distortion_weight: float = 150.0, perceptual: str = "ssim", perceptual_weight: float = 1.0,
                 perceptual_weights: str = "", perceptual_backbone_weights: str = "", quantile_lr: float = 1e-3):
        if len(target_steps) + 1 != len(target_factors) or len(lam2_steps) + 1 != len(lam2_factors):
            raise InriaError("each *_steps list needs one entry fewer than its *_factors list", where="objective_args")
        self.target = (target_bpp, list(target_factors), list(target_steps))
        self.lam_low, self.lam2 = float(lam_levels[0]), (lam_levels[1], list(lam2_factors), list(lam2_steps))
        self.distortion = _Distortion(distortion_weight, perceptual, perceptual_weight, perceptual_weights,
                                      perceptual_backbone_weights)
        self.quantile_lr = float(quantile_lr)
        self._qopt: torch.optim.Optimizer | None = None
        self._qstate: dict | None = None

    def _quantile_step(self, module) -> torch.Tensor:
        quantiles = module.hyper_bottleneck.quantiles
        if self._qopt is None:
            self._qopt = torch.optim.Adam([quantiles], lr=self.quantile_lr)
            if self._qstate is not None:
                self._qopt.load_state_dict(self._qstate)
        aux = module.aux_loss()
        self._qopt.zero_grad(set_to_none=True)
        aux.backward()
        self._qopt.step()
        quantiles.grad = None  # the engine's optimizer must not step them again
        return aux.detach()

    def state_dict(self) -> dict:
        return {"quantile_opt": self._qopt.state_dict() if self._qopt is not None else self._qstate}

    def load_state_dict(self, state: dict) -> None:
        self._qstate, self._qopt = state.get("quantile_opt"), None

    def __call__(self, model, batch, ctx):
        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        if ctx.micro_step == 0:
            quantile_loss = self._quantile_step(ctx.module)
        else:
            quantile_loss = None
        out = model(x)
        pixels = x.shape[-2] * x.shape[-1]
        bpp = bits_per_pixel(out["likelihoods"], pixels)
        bpp_q = bits_per_pixel(out["likelihoods_quantized"], pixels)
        target = scheduled(*self.target, ctx.step)
        lam2 = scheduled(*self.lam2, ctx.step)
        lams = torch.where(bpp_q > target, torch.full_like(bpp, lam2), torch.full_like(bpp, self.lam_low))
        metrics = {"bpp": bpp_q.mean().detach(), "target": target}
        loss = self.distortion(out["recon"], x, metrics) + (lams * bpp).mean()
        if quantile_loss is not None:
            metrics["quantile_loss"] = quantile_loss
        return loss, metrics


class Adversarial:
    def __init__(self, tokenizer: str = "", codebook_size: int = 1024, tokenizer_channels=(32, 64, 64),
                 latent_channels: int = 220, disc_channels=(128, 128, 256, 256, 512, 512), disc_context: int = 16,
                 disc_lr: float = 4e-4, disc_betas=(0.5, 0.9), adversarial_weight: float = 0.008,
                 distortion_weight: float = 150.0, perceptual: str = "ssim", perceptual_weight: float = 1.0,
                 perceptual_weights: str = "", perceptual_backbone_weights: str = ""):
        from .discriminator import ConditionalUnetDiscriminator
        from .tokenizer import VQTokenizer

        if not tokenizer:
            raise InriaError("ms_illm_adversarial needs tokenizer= the path of a trained VQ tokenizer (safetensors)",
                             where="objective_args")
        from inria.modeldir import load_weights

        self.tokenizer = VQTokenizer(tokenizer_channels, codebook_size).eval()
        self.tokenizer.load_state_dict(load_weights(tokenizer))
        self.tokenizer.requires_grad_(False)
        self.disc = ConditionalUnetDiscriminator(codebook_size + 1, latent_channels, disc_context, disc_channels)
        self.disc_opt = torch.optim.AdamW(self.disc.parameters(), lr=disc_lr, betas=tuple(disc_betas), weight_decay=0)
        self.adversarial_weight = float(adversarial_weight)
        self.distortion = _Distortion(distortion_weight, perceptual, perceptual_weight, perceptual_weights,
                                      perceptual_backbone_weights)
        self._device = torch.device("cpu")

    def _to(self, device) -> None:
        if device != self._device:
            self.tokenizer.to(device)
            self.disc.to(device)
            for state in self.disc_opt.state.values():
                for k, v in state.items():
                    if isinstance(v, torch.Tensor):
                        state[k] = v.to(device)
            self._device = device

    def __call__(self, model, batch, ctx):
        from .discriminator import oasis_discriminator_loss, oasis_generator_loss

        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        self._to(x.device)
        labels = self.tokenizer.indices(x)
        out = model(x, frozen_encoder=True)
        recon, latent = out["recon"], out["latent"].detach()
        # discriminator step (its own optimizer)
        self.disc.train()
        self.disc_opt.zero_grad(set_to_none=True)
        d_loss = oasis_discriminator_loss(self.disc(x, latent), self.disc(recon.detach(), latent), labels)
        d_loss.backward()
        self.disc_opt.step()
        # generator loss (the engine's optimizer steps the generator)
        metrics = {"disc_loss": d_loss.detach()}
        self.disc.requires_grad_(False)
        fake_logits = self.disc(recon, latent)
        self.disc.requires_grad_(True)
        g_adv = oasis_generator_loss(fake_logits, labels)
        metrics["gen_adv_loss"] = g_adv.detach()
        metrics["disc_fake_acc"] = (fake_logits.detach().argmax(1) == 0).float().mean()
        loss = self.distortion(recon, x, metrics) + self.adversarial_weight * g_adv
        return loss, metrics

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "disc_opt": self.disc_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.disc_opt.load_state_dict(state["disc_opt"])


class VQVAEObjective:
    def __call__(self, model, batch, ctx):
        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        out = model(x)
        return out["loss"], {"mse": out["mse"], "perplexity": out["perplexity"]}


def generator_parameters(model, weight_decay: float, **_) -> list[dict]:
    """Stage 2's param groups: the generator (``decoder``) only; the encoder and the bottleneck stay frozen."""
    decoder = getattr(model, "decoder", None)
    if decoder is None:
        raise InriaError(f"param_groups ms_illm_generator needs a model with a .decoder, not {type(model).__name__}",
                         where="param_groups")
    return [{"params": [p for p in decoder.parameters()], "weight_decay": weight_decay}]

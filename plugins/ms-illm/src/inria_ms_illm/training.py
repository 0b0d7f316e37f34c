"""``fit``: MS-ILLM's stages, each one run of the core engine (:mod:`inria.train`).

1. Stage 1 (No-GAN, ``config.stage1``): the whole network on random crops,
   objective ``ms_illm_rate_distortion`` with the config's target-rate
   schedule. ``noganms`` stops here.
2. The VQ tokenizer (``config.tokenizer``, objective ``ms_illm_vqvae``) on
   the same crops; saved to ``<checkpoint dir>/tokenizer.safetensors``.
3. Stage 2 (``config.stage2``): the generator only (param_groups
   ``ms_illm_generator``), objective ``ms_illm_adversarial`` with the
   discriminator and its own optimizer.

``stages`` picks the stages: ``ms_illm`` trained from a ``noganms`` model
(``checkpoint=<its directory>``) runs only 2-3, as the paper fine-tunes the
No-GAN model; the rate is then exactly the No-GAN model's (the encoder and
the entropy models do not move). Checkpoints go to ``ctx.checkpoint_dir /
<stage>``; with ``ctx.resume`` an interrupted stage continues.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import torch

from inria.errors import InriaError
from inria.train import Trainer

from .data import RandomCrops

LOSS_FIELDS = ("distortion_weight", "perceptual", "perceptual_weight", "perceptual_weights",
               "perceptual_backbone_weights")


def _images(images, label: str) -> list[torch.Tensor]:
    from .codec import as_rgb

    if isinstance(images, torch.Tensor) and images.dim() == 3:
        images = [images]
    out = [as_rgb(im, label) for im in images]
    if not out:
        raise InriaError(f"{label} fit needs at least one image")
    return out


def _half(steps: list[int], total: int) -> list[int]:
    return [total // 2 if s == 0 else s for s in steps]


def _with_args(cfg, args: dict):
    return dataclasses.replace(cfg, objective_args={**args, **cfg.objective_args})


def stage1_config(codec):
    c = codec.config
    total = c.stage1.steps or 1
    args = dict(target_bpp=c.target_bpp, target_factors=c.target_factors,
                target_steps=_half(c.target_steps, total), lam_levels=c.lam_levels, lam2_factors=c.lam2_factors,
                lam2_steps=_half(c.lam2_steps, total), **{k: getattr(c, k) for k in LOSS_FIELDS})
    return _with_args(c.stage1, args)


def stage2_config(codec, tokenizer_path: Path):
    c = codec.config
    args = dict(tokenizer=str(tokenizer_path), codebook_size=c.codebook_size, tokenizer_channels=c.tokenizer_channels,
                latent_channels=c.latent_channels, disc_channels=c.disc_channels, disc_context=c.disc_context,
                disc_lr=c.disc_lr, adversarial_weight=c.adversarial_weight,
                **{k: getattr(c, k) for k in LOSS_FIELDS})
    return _with_args(c.stage2, args)


def fit_codec(codec, images, ctx=None, adversarial: bool = True) -> dict[str, float]:
    from inria.modeldir import save_weights

    from .tokenizer import VQTokenizer

    c = codec.config
    label = codec.name or codec.kind
    images = _images(images, label)
    stages = c.stages if adversarial else "stage1"
    ck = Path(ctx.checkpoint_dir) if ctx is not None else Path(tempfile.mkdtemp(prefix="ms_illm_"))
    metrics: dict[str, float] = {}
    model = codec.model
    if stages in ("all", "stage1"):
        cfg = stage1_config(codec)
        crops = RandomCrops(images, c.crop, length=max(cfg.steps, 1) * cfg.batch_size * cfg.accum, seed=cfg.seed)
        model.train()
        out = Trainer(model, crops, cfg, ctx=ctx, name="stage1", checkpoint_dir=ck / "stage1").fit()
        metrics.update({f"stage1/{k}": v for k, v in out.items()})
    if stages in ("all", "stage2"):
        cfg = c.tokenizer
        tok = VQTokenizer(c.tokenizer_channels, c.codebook_size)
        crops = RandomCrops(images, c.crop, length=max(cfg.steps, 1) * cfg.batch_size * cfg.accum, seed=cfg.seed + 7)
        out = Trainer(tok, crops, cfg, ctx=ctx, name="tokenizer", checkpoint_dir=ck / "tokenizer").fit()
        metrics.update({f"tokenizer/{k}": v for k, v in out.items()})
        (ck / "tokenizer").mkdir(parents=True, exist_ok=True)
        tok_path = save_weights(ck / "tokenizer", tok.cpu().state_dict(), name="tokenizer.safetensors")
        cfg = stage2_config(codec, tok_path)
        crops = RandomCrops(images, c.crop, length=max(cfg.steps, 1) * cfg.batch_size * cfg.accum, seed=cfg.seed + 13)
        model.train()  # the objective runs the encoder and the bottleneck without gradients, rounding (no noise)
        out = Trainer(model, crops, cfg, ctx=ctx, name="stage2", checkpoint_dir=ck / "stage2").fit()
        metrics.update({f"stage2/{k}": v for k, v in out.items()})
    model.cpu().eval()
    model.update()
    codec.weights_changed()
    return metrics

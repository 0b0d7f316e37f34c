"""The typed config shared by ``ms_illm`` and ``noganms`` (validated before anything heavy runs).

Architecture fields define the weights (written to ``card.yaml``; a
checkpoint must match them). The defaults are the small CPU network of the
shipped models; :data:`PAPER` holds the paper-scale settings (the official
network and the official training schedule, a GPU preset:
``inria.create("codec", "ms_illm", **PAPER)``).
"""
from __future__ import annotations

import dataclasses
from typing import Literal

from inria.config import doc
from inria.train import TrainConfig, train_config_field

ARCHITECTURE_FIELDS = ("widths", "latent_channels", "hyper_channels", "residual_blocks", "centered")
SHIPPED = ("low", "mid")


@dataclasses.dataclass
class MSILLMConfig:
    # -- where the weights come from -----------------------------------------------------------
    checkpoint: str = doc("low", "a shipped model ('low' or 'mid' rate), a model directory written by save(), or "
                                 "'' for random weights (to train with fit)")
    official: str = doc("", "path to a NeuralCompression msillm_quality_* / noganms_quality_* state dict "
                            "(.ckpt/.pth/.safetensors); sets the official architecture and replaces checkpoint")

    # -- architecture ----------------------------------------------------------------------------
    widths: list[int] = doc([16, 32, 64, 96, 128], "encoder widths of the 5 stages (7x7 conv, then four stride-2 "
                                                   "convs: 16x); the generator mirrors them. Paper: 60..960")
    latent_channels: int = doc(64, "channels of the coded latent (paper: 220)")
    hyper_channels: int = doc(64, "channels of the hyper-latent (paper: 320)")
    residual_blocks: int = doc(2, "residual blocks at the generator's input (paper: 9)")
    centered: bool = doc(True, "the encoder sees 2x - 1 and the generator's output o means (o + 1) / 2 (not in the "
                               "paper, whose weights expect [0, 1] pixels: official= sets it false; see hific.py)")

    # -- coding ------------------------------------------------------------------------------------
    max_pixels: int = doc(2 ** 25, "largest image (H x W, before padding to 64) compress and decompress accept: "
                                   "bounds the memory a header can make the decoder allocate")

    # -- training (fit) ------------------------------------------------------------------------------
    stages: Literal["all", "stage1", "stage2"] = doc(
        "all", "ms_illm fit: all (No-GAN stage 1, tokenizer, GAN stage 2) or stage2 (tokenizer + GAN from the loaded "
               "weights, as the paper fine-tunes a No-GAN model); noganms always runs stage 1 only")
    crop: int = doc(128, "training crop side in pixels (a multiple of 64)")
    target_bpp: float = doc(0.14, "stage 1 target rate (NeuralCompression TargetRateConfig.target_bpp)")
    target_factors: list[float] = doc([1.429, 1.0], "target multipliers, switching at target_steps")
    target_steps: list[int] = doc([0], "steps at which target_factors switch (one fewer than the factors; 0 = "
                                       "half of stage 1, the paper's 50k of 100k)")
    lam_levels: list[float] = doc([0.0625, 2.0], "rate weight below / above the target (per image)")
    lam2_factors: list[float] = doc([0.5, 1.0], "multipliers of the upper rate weight, switching at lam2_steps")
    lam2_steps: list[int] = doc([0], "steps at which lam2_factors switch (0 = half of stage 1)")
    distortion_weight: float = doc(150.0, "weight of the MSE (images in [0, 1]); paper: 150")
    perceptual: str = doc("ssim", "perceptual term of stage 1: 'lpips' (paper; needs perceptual_weights and "
                                  "perceptual_backbone_weights as local paths) or a core loss (inria.losses)")
    perceptual_weight: float = doc(1.0, "weight of the perceptual term")
    perceptual_weights: str = doc("", "LPIPS linear-layer weights (vgg.pth of the lpips package)")
    perceptual_backbone_weights: str = doc("", "torchvision VGG-16 state dict for LPIPS")
    adversarial_weight: float = doc(0.008, "stage 2 weight of the OASIS generator loss (paper: 0.008)")
    disc_lr: float = doc(4e-4, "discriminator AdamW learning rate, betas (0.5, 0.9) (paper: 4e-4)")
    disc_channels: list[int] = doc([32, 32, 64, 64], "conditional U-Net widths below its input (OASIS/paper: "
                                                     "128, 128, 256, 256, 512, 512)")
    disc_context: int = doc(16, "channels the latent context is projected to before entering the U-Net (paper: 16)")
    codebook_size: int = doc(1024, "VQ-VAE tokenizer codes = discriminator classes - 1 (paper: 1024)")
    tokenizer_channels: list[int] = doc([32, 64, 64], "VQ-VAE tokenizer encoder widths (8x downsampling)")
    stage1: TrainConfig = train_config_field(
        "stage 1, No-GAN: rate + 150 MSE + perceptual (objective ms_illm_rate_distortion)",
        steps=2000, batch_size=8, lr=3e-4, weight_decay=0.0, warmup_steps=50, min_lr=3e-5, clip_grad=1.0,
        objective="ms_illm_rate_distortion", log_every=50)
    tokenizer: TrainConfig = train_config_field(
        "the VQ-VAE tokenizer that labels the discriminator's classes (objective ms_illm_vqvae)",
        steps=600, batch_size=16, lr=1e-3, weight_decay=0.0, warmup_steps=20, objective="ms_illm_vqvae",
        log_every=50)
    stage2: TrainConfig = train_config_field(
        "stage 2, the generator against the discriminator (objective ms_illm_adversarial; encoder and "
        "bottleneck frozen: param_groups ms_illm_generator)",
        steps=1000, batch_size=8, lr=1e-4, weight_decay=0.0, optimizer_args={"betas": [0.5, 0.9]},
        param_groups="ms_illm_generator", clip_grad=1.0, objective="ms_illm_adversarial", log_every=50)

    def validate(self) -> None:
        if len(self.widths) != 5 or any(w < 2 for w in self.widths):
            raise ValueError(f"widths={self.widths}: HiFiC has 5 encoder stages, each of at least 2 channels")
        for name in ("latent_channels", "hyper_channels"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 2")
        if self.residual_blocks < 0:
            raise ValueError(f"residual_blocks={self.residual_blocks} must be >= 0")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels={self.max_pixels} must be positive")
        if self.crop < 64 or self.crop % 64:
            raise ValueError(f"crop={self.crop} is not a positive multiple of 64 (the padding unit)")
        if self.target_bpp <= 0:
            raise ValueError(f"target_bpp={self.target_bpp} must be positive")
        if len(self.target_steps) + 1 != len(self.target_factors):
            raise ValueError("target_steps must have one entry fewer than target_factors")
        if len(self.lam2_steps) + 1 != len(self.lam2_factors):
            raise ValueError("lam2_steps must have one entry fewer than lam2_factors")
        if len(self.lam_levels) != 2 or not 0 <= self.lam_levels[0] <= self.lam_levels[1]:
            raise ValueError(f"lam_levels={self.lam_levels} must be [low, high] with 0 <= low <= high")
        if not 2 <= self.codebook_size <= 65535:
            raise ValueError(f"codebook_size={self.codebook_size} is outside 2..65535")
        if len(self.tokenizer_channels) != 3:
            raise ValueError("tokenizer_channels needs 3 entries (8x downsampling)")
        if len(self.disc_channels) < 3:
            raise ValueError("disc_channels needs at least 3 entries (the U-Net outputs at 1/8 resolution)")


#: paper-scale settings (a GPU preset): the official network and NeuralCompression's schedule for 0.14 bpp
PAPER = dict(
    checkpoint="", widths=[60, 120, 240, 480, 960], latent_channels=220, hyper_channels=320, residual_blocks=9,
    centered=False,
    crop=256, target_bpp=0.14, target_factors=[1.429, 1.0], target_steps=[50000], lam_levels=[0.0625, 2.0],
    lam2_factors=[0.5, 1.0], lam2_steps=[50000], perceptual="lpips", disc_channels=[128, 128, 256, 256, 512, 512],
    tokenizer_channels=[64, 128, 256],
    stage1=dict(steps=1_000_000, batch_size=8, lr=3e-4, weight_decay=0.0, objective="ms_illm_rate_distortion"),
    stage2=dict(steps=100_000, batch_size=16, lr=1e-4, weight_decay=0.0, optimizer_args={"betas": [0.5, 0.9]},
                param_groups="ms_illm_generator", objective="ms_illm_adversarial"),
)

"""The ILLM discriminator: a conditional U-Net with K+1 classes per 8x8 cell (Muckley et al. 2023, OASIS-style).

As NeuralCompression's ``ConditionalUnetDiscriminator``: the coded latent
(the context) goes through a 3x3 conv (reflect padding, ``latent -> 16``
channels) and LeakyReLU, is upsampled (nearest) to the image size and
concatenated to the RGB image; a U-Net of residual levels (two 3x3 convs with
LeakyReLU(0.2) and a 1x1 shortcut, average-pooled on the way down,
nearest-upsampled on the way up) goes down to its bottom and back up to 1/8
resolution only (the upsampling path is clipped there), where a 1x1 conv gives
``K + 1`` logits per cell: class 0 is "fake", classes 1..K are the VQ codes of
the real image at that cell (:mod:`.tokenizer`). No normalisation layers
(``norm_type: identity`` in the paper's config).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Down(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool = False):
        super().__init__()
        self.block = nn.Sequential(nn.Identity() if first else _act(), nn.Conv2d(cin, cout, 3, padding=1), _act(),
                                   nn.Conv2d(cout, cout, 3, padding=1), nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity(), nn.AvgPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.shortcut(x)


class Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.block = nn.Sequential(_act(), nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1), _act(),
                                   nn.Conv2d(cout, cout, 3, padding=1))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity(),
                                      nn.Upsample(scale_factor=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.shortcut(x)


class ConditionalUnetDiscriminator(nn.Module):
    def __init__(self, num_classes: int = 1025, context_in: int = 220, context_out: int = 16,
                 channels=(128, 128, 256, 256, 512, 512), output_factor: int = 8, head_channels: int = 64):
        super().__init__()
        levels = len(channels)
        up_to = output_factor.bit_length() - 1  # 8 -> come back up to level 3
        if 2 ** up_to != output_factor or levels < up_to:
            raise ValueError(f"{levels} U-Net levels cannot output at 1/{output_factor} resolution")
        self.output_factor = output_factor
        self.context = nn.Sequential(nn.Conv2d(context_in, context_out, 3, padding=1, padding_mode="reflect"), _act())
        widths = [3 + context_out, *channels]
        self.down = nn.ModuleList(Down(widths[i], widths[i + 1], first=i == 0) for i in range(levels))
        ups = []
        for level in range(levels, up_to, -1):  # from the bottom (1/2^levels) back to 1/2^up_to
            ups.append(Up(widths[level], head_channels if level - 1 == up_to else widths[level - 1]))
        self.up = nn.ModuleList(ups)
        top = head_channels if ups else widths[up_to]
        self.head = nn.Sequential(_act(), nn.Conv2d(top, num_classes, 1))

    def forward(self, image: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        ctx = F.interpolate(self.context(context), size=image.shape[-2:], mode="nearest")
        x = torch.cat([image, ctx], 1)
        for block in self.down:
            x = block(x)
        for block in self.up:
            x = block(x)
        return self.head(x)


def oasis_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, labels: torch.Tensor):
    """1/2 [CE(real, label + 1) + CE(fake, 0)] over every cell (OASIS; NeuralCompression OASISDiscriminatorLoss)."""
    return 0.5 * (F.cross_entropy(real_logits, labels + 1) + F.cross_entropy(fake_logits, torch.zeros_like(labels)))


def oasis_generator_loss(fake_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CE(fake, label + 1): the generator wants each cell read as the real image's code there."""
    return F.cross_entropy(fake_logits, labels + 1)

"""ChannelNorm (HiFiC, Mentzer et al. 2020): normalise each pixel over its channels.

As NeuralCompression's ``ChannelNorm2D``: unbiased variance over the channel
axis, epsilon 1e-3, per-channel ``gamma`` / ``beta`` of shape (1, C, 1, 1)
(the official state-dict names and shapes). timm's ``LayerNorm2d`` normalises
the same axis but with the biased variance, eps 1e-6 and (C,) parameters, so
official weights would not reproduce through it.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class ChannelNorm2d(nn.Module):
    def __init__(self, channels: int, eps: float = 1e-3, affine: bool = True):
        super().__init__()
        if channels <= 1:
            raise ValueError("ChannelNorm needs more than one channel")
        self.eps = eps
        self.affine = affine
        if affine:
            self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
            self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return self.gamma * x + self.beta if self.affine else x

"""The hierarchical MLP (hMLP) patch stem of "Three things everyone should know about ViTs" (sec. 4).

Each 16x16 patch goes through conv 4x4/4 -> norm -> GELU -> conv 2x2/2 ->
norm -> GELU -> conv 2x2/2 -> norm, channels d/4, d/4, d (the official
``hMLP_stem`` in deit's ``models_v2.py``, BatchNorm there). Every kernel
equals its stride, so the stem is an MLP applied to each patch on its own:
no pixel of one patch reaches another patch's token. That is what makes it
compatible with masked-image modelling (BeiT, SimMIM): masking the patches
before the stem or their tokens after it gives the same tokens, which a
convolutional stem with overlapping kernels does not.

For another patch size p (a multiple of 4) the first kernel is p/4, so the
hierarchy stays 3 levels of sub-patches (p/4, then 2, then 2).

The module is timm's ``PatchEmbed`` with ``proj`` replaced by the stack, so
the state-dict keys are the official ones (``patch_embed.proj.0.weight``,
``proj.1.running_mean``, ...) and timm's VisionTransformer takes it as its
``embed_layer``.
"""
from __future__ import annotations

from typing import Literal

from torch import nn
from timm.layers import LayerNorm2d, PatchEmbed

StemNorm = Literal["batch", "layer"]


def _norm(kind: StemNorm, channels: int) -> nn.Module:
    # batch: the paper's (SyncBatchNorm under DDP there); layer: per position over channels, so even
    # training-mode statistics never mix patches
    return nn.BatchNorm2d(channels) if kind == "batch" else LayerNorm2d(channels)


class HMLPStem(PatchEmbed):
    """hMLP stem: 3 non-overlapping conv levels (p/4, 2, 2) with norms and GELUs; one token per patch."""

    def __init__(self, img_size=224, patch_size=16, in_chans: int = 3, embed_dim: int = 768,
                 stem_norm: StemNorm = "batch", **kw):
        kw.pop("bias", None)  # timm passes bias=not pre_norm; every conv here has its bias, as the official stem
        super().__init__(img_size=img_size, patch_size=patch_size, in_chans=in_chans, embed_dim=embed_dim, **kw)
        p = self.patch_size[0]
        if self.patch_size[0] != self.patch_size[1] or p % 4:
            raise ValueError(f"the hMLP stem needs a square patch whose side is a multiple of 4, got {self.patch_size}")
        hidden = embed_dim // 4
        self.proj = nn.Sequential(
            nn.Conv2d(in_chans, hidden, kernel_size=p // 4, stride=p // 4), _norm(stem_norm, hidden), nn.GELU(),
            nn.Conv2d(hidden, hidden, kernel_size=2, stride=2), _norm(stem_norm, hidden), nn.GELU(),
            nn.Conv2d(hidden, embed_dim, kernel_size=2, stride=2), _norm(stem_norm, embed_dim),
        )

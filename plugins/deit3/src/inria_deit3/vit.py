"""The DeiT III Vision Transformer, built on timm's ``VisionTransformer``.

DeiT III (Touvron, Cord, Jégou 2022) keeps the plain ViT and changes the
recipe. What distinguishes its architecture from timm's default ViT:

- LayerScale on both residual branches, initialised to 1e-4 (timm's own
  ``deit3_*`` constructors use 1e-6; the official ``models_v2.py`` uses 1e-4);
- qkv bias, LayerNorm eps 1e-6;
- the position embedding covers the patches only and is added *before* the
  class token is prepended (timm's ``no_embed_class=True``);
- stochastic depth with the *same* rate in every block (timm ramps it
  linearly from 0): the core's ``set_drop_path(model, rate, "uniform")``.

The module takes images in [0, 1] and normalises them with the ImageNet
mean/std the official checkpoints were trained with, so every caller (the
backbone verbs, the training engine, the augmentations) works in [0, 1].
Everything else is timm's code, so speed and outputs equal timm's.
"""
from __future__ import annotations

import dataclasses
from functools import partial

import torch
from torch import nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import LayerNorm, trunc_normal_
from timm.models.vision_transformer import VisionTransformer

from inria.train.schedule import set_drop_path


@dataclasses.dataclass(frozen=True)
class Arch:
    """One named size (timm's ``pretrained_cfg`` spirit: metadata next to the model)."""

    embed_dim: int
    depth: int
    num_heads: int
    patch_size: int = 16
    #: the paper's IN-1k pre-training resolution and drop-path rate
    train_size: int = 224
    drop_path: float = 0.0
    #: the official checkpoint file names this size loads (deit_3_{size}_{res}_{1k,21k}.pth)
    official: str = ""
    timm_name: str = ""


#: the official models_v2.py sizes (``deit_{size}_patch16_LS``, huge is patch 14)
SIZES: dict[str, Arch] = {
    "tiny": Arch(192, 12, 3, drop_path=0.0, official="", timm_name=""),
    "small": Arch(384, 12, 6, drop_path=0.05, official="deit_3_small_224_1k.pth",
                  timm_name="deit3_small_patch16_224"),
    "medium": Arch(512, 12, 8, drop_path=0.1, official="deit_3_medium_224_1k.pth",
                   timm_name="deit3_medium_patch16_224"),
    "base": Arch(768, 12, 12, train_size=192, drop_path=0.2, official="deit_3_base_224_1k.pth",
                 timm_name="deit3_base_patch16_224"),
    "large": Arch(1024, 24, 16, train_size=192, drop_path=0.45, official="deit_3_large_224_1k.pth",
                  timm_name="deit3_large_patch16_224"),
    "huge": Arch(1280, 32, 16, patch_size=14, train_size=154, drop_path=0.6,  # paper: 160 (11x11 patches)
                 official="deit_3_huge_224_1k_v1.pth", timm_name="deit3_huge_patch14_224"),
}


class DeiT3ViT(VisionTransformer):
    """timm's VisionTransformer set up as DeiT III, fed with images in [0, 1]."""

    def __init__(self, *, img_size: int = 224, patch_size: int = 16, embed_dim: int = 384, depth: int = 12,
                 num_heads: int = 6, mlp_ratio: float = 4.0, num_classes: int = 1000,
                 layer_scale_init: float = 1e-4, drop_path: float = 0.0, head_dropout: float = 0.0,
                 mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD):
        super().__init__(
            img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
            mlp_ratio=mlp_ratio, num_classes=num_classes, qkv_bias=True, init_values=layer_scale_init,
            no_embed_class=True, class_token=True, global_pool="token", drop_rate=head_dropout,
            norm_layer=partial(LayerNorm, eps=1e-6),
        )
        # the official init: truncated normal (std .02) for the class token too (timm uses N(0, 1e-6))
        trunc_normal_(self.cls_token, std=0.02)
        set_drop_path(self, drop_path, mode="uniform")
        # not persistent: state dicts stay exactly timm's / the official keys
        self.register_buffer("input_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward_features(self, x: torch.Tensor, *args, **kw) -> torch.Tensor:
        return super().forward_features((x - self.input_mean) / self.input_std, *args, **kw)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Class-token features after the final norm: (N, embed_dim)."""
        return self.forward_head(self.forward_features(x), pre_logits=True)

"""Parallel Vision Transformers (Touvron et al., "Three things everyone should know about ViTs", sec. 2).

A block of a parallel ViT runs ``k`` attention branches side by side, then
``k`` MLP branches::

    x = x + sum_i gamma_1_i * Attn_i(LN_1_i(x))
    x = x + sum_i gamma_2_i * MLP_i(LN_2_i(x))

so an 18x2 model has the parameters and FLOPs of a 36-block one with half
the sequential depth. The blocks are timm's ``ParallelThingsBlock``
(``k >= 2``) and ``Block`` (``k = 1``, the sequential peer), inside timm's
``VisionTransformer`` set up as the official ``models_v2.py``
``vit_models``: LayerScale (init 1e-4; 0 = none, the ``*_18x2`` models
without ``_LS``), qkv bias, LayerNorm eps 1e-6, a position embedding over
the patches only (added before the class token is prepended), the same
stochastic-depth rate in every block. The patch stem is timm's linear
``PatchEmbed`` or the hMLP stem (:mod:`inria_three_things.hmlp`).

The module takes images in [0, 1] and normalises them with the ImageNet
mean/std the official checkpoints expect. :meth:`ThreeThingsViT.patch_tokens`
and :meth:`ThreeThingsViT.encode` split the forward pass at the stem's
output, where masked-image modelling replaces tokens.
"""
from __future__ import annotations

import dataclasses
from functools import partial

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import LayerNorm, PatchEmbed, trunc_normal_
from timm.models.vision_transformer import Block, ParallelThingsBlock, VisionTransformer

from inria.train.schedule import set_drop_path

from .hmlp import HMLPStem


@dataclasses.dataclass(frozen=True)
class Arch:
    """One named architecture (timm's ``pretrained_cfg`` spirit: metadata next to the model)."""

    embed_dim: int
    depth: int
    num_heads: int
    parallel: int
    patch_size: int = 16
    img_size: int = 224
    drop_path: float = 0.0
    #: the official models_v2.py constructor and timm's model of the same architecture
    official: str = ""
    timm_name: str = ""


#: the paper's models (models_v2.py) and the laptop-sized pair the digits benchmark compares
SIZES: dict[str, Arch] = {
    "small_18x2": Arch(384, 18, 6, 2, drop_path=0.05, official="deit_small_patch16_18x2_LS",
                       timm_name="vit_small_patch16_18x2_224"),
    "base_18x2": Arch(768, 18, 12, 2, drop_path=0.2, official="deit_base_patch16_18x2_LS",
                      timm_name="vit_base_patch16_18x2_224"),
    "huge_26x2": Arch(1280, 26, 16, 2, patch_size=14, drop_path=0.6, official="deit_huge_patch14_26x2_LS"),
    "small_36x1": Arch(384, 36, 6, 1, drop_path=0.05, official="deit_small_patch16_36_LS",
                       timm_name="vit_small_patch16_36x1_224"),
    "base_36x1": Arch(768, 36, 12, 1, drop_path=0.2, official="deit_base_patch16_36x1_LS",
                      timm_name="vit_base_patch16_36x1_224"),
    # digits (32x32, patch 8: 16 tokens): 6 blocks of 2 branches vs 12 sequential blocks, same parameters
    "digits_6x2": Arch(96, 6, 3, 2, patch_size=8, img_size=32, drop_path=0.05),
    "digits_12x1": Arch(96, 12, 3, 1, patch_size=8, img_size=32, drop_path=0.05),
}


class ThreeThingsViT(VisionTransformer):
    """timm's VisionTransformer with ``parallel`` branches per block and a linear or hMLP stem, fed [0, 1] images."""

    def __init__(self, *, img_size: int = 224, patch_size: int = 16, embed_dim: int = 384, depth: int = 18,
                 num_heads: int = 6, parallel: int = 2, mlp_ratio: float = 4.0, num_classes: int = 1000,
                 layer_scale_init: float = 1e-4, drop_path: float = 0.0, head_dropout: float = 0.0,
                 stem: str = "linear", stem_norm: str = "batch", mean=IMAGENET_DEFAULT_MEAN,
                 std=IMAGENET_DEFAULT_STD):
        block_fn = partial(ParallelThingsBlock, num_parallel=parallel) if parallel > 1 else Block
        embed_layer = partial(HMLPStem, stem_norm=stem_norm) if stem == "hmlp" else PatchEmbed
        super().__init__(
            img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
            mlp_ratio=mlp_ratio, num_classes=num_classes, qkv_bias=True, init_values=layer_scale_init or None,
            no_embed_class=True, class_token=True, global_pool="token", drop_rate=head_dropout,
            norm_layer=partial(LayerNorm, eps=1e-6), block_fn=block_fn, embed_layer=embed_layer,
        )
        self.parallel, self.stem = parallel, stem
        trunc_normal_(self.cls_token, std=0.02)  # the official init (timm: N(0, 1e-6))
        set_drop_path(self, drop_path, mode="uniform")  # the official constant rate (models_v2: dpr_constant)
        self.register_buffer("input_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def patch_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> the stem's tokens (N, patches, embed_dim), row-major over the patch grid."""
        return self.patch_embed((x - self.input_mean) / self.input_std)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens -> position embedding, class token, blocks, final norm: (N, 1 + patches, embed_dim)."""
        x = self.norm_pre(self.patch_drop(self._pos_embed(tokens)))
        return self.norm(self.blocks(x))

    def forward_features(self, x: torch.Tensor, *args, **kw) -> torch.Tensor:
        return self.encode(self.patch_tokens(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Class-token features after the final norm: (N, embed_dim)."""
        return self.forward_head(self.forward_features(x), pre_logits=True)

"""PatchConvNet (Touvron et al., "Augmenting Convolutional networks with attention-based aggregation", 2021).

One architecture, timm style: :class:`PatchConvNet` and the :data:`SIZES`
table of the official models (``S60``, ``S120``, ``B60``, ``B120``, ``L60``,
``L120`` of the deit repo's ``patchconvnet_models.py``) plus the CPU-sized
``digits`` one. The parts:

- **stem** (:class:`ConvStem`): stride-2 3x3 convolutions without bias, GELU
  between them, channels doubling up to the width (``d/8, d/4, d/2, d`` for
  patch 16; one convolution per factor 2 of ``patch_size``);
- **columns** (:class:`ColumnBlock`, ``depth`` of them, all at the stem's
  resolution, no position embedding): ``x + gamma * mix(LN(x))`` with
  ``mix`` = 1x1 conv, GELU, 3x3 depthwise conv, GELU, squeeze-excitation
  (ratio 1/4, timm's ``SqueezeExcite``), 1x1 conv; LayerScale ``gamma``;
- **attention pooling** (:class:`AttentionPoolBlock`): a learned class token
  is the only query of a single-head attention over ``[class token, patches]``,
  then an MLP (ratio 3) on the class token, both with LayerScale;
- final LayerNorm on the class token and a linear classifier.

Parameter names follow the official file, so its state dicts load as they
are (``patch_embed.proj.{0,2,4,6}.0``, ``blocks.i.{norm1, attn.qkv_pos.*,
gamma_1}``, ``blocks_token_only.0.{norm1, attn.{q,k,v,proj}, gamma_1, norm2,
mlp.{fc1,fc2}, gamma_2}``, ``cls_token``, ``norm``, ``head``).
"""
from __future__ import annotations

import dataclasses
import math
from functools import partial

import torch
import torch.nn as nn
from timm.layers import DropPath, Mlp, trunc_normal_
from timm.models._efficientnet_blocks import SqueezeExcite


@dataclasses.dataclass(frozen=True)
class Arch:
    embed_dim: int
    depth: int
    layer_scale_init: float
    patch_size: int = 16
    mlp_ratio_pool: float = 3.0
    img_size: int = 224


#: the official constructors (``patchconvnet_models.py``): width, depth, LayerScale init
SIZES: dict[str, Arch] = {
    "s60": Arch(384, 60, 1e-4),
    "s120": Arch(384, 120, 1e-6),
    "b60": Arch(768, 60, 1e-6),
    "b120": Arch(768, 120, 1e-6),
    "l60": Arch(1024, 60, 1e-6),
    "l120": Arch(1024, 120, 1e-6),
    #: digit scale: 32x32 input, patch 4 (an 8x8 grid, as deit3_digits), width 128, 10 columns (0.68M parameters, deit3_digits: 0.68M)
    "digits": Arch(128, 10, 1e-4, patch_size=4, img_size=32),
}

LayerNorm = partial(nn.LayerNorm, eps=1e-6)


def stem_widths(embed_dim: int, patch_size: int) -> list[int]:
    """Output channels of the stem's stride-2 convolutions: ``[d/8, d/4, d/2, d]`` for patch 16."""
    n = int(round(math.log2(patch_size)))
    if patch_size < 2 or 2 ** n != patch_size:
        raise ValueError(f"patch_size must be a power of two >= 2 (the stem halves the resolution per "
                         f"convolution), got {patch_size}; accepted: 2, 4, 8, 16, 32")
    if embed_dim % 2 ** (n - 1):
        raise ValueError(f"embed_dim {embed_dim} must be a multiple of {2 ** (n - 1)} for patch_size {patch_size}")
    return [embed_dim // 2 ** (n - 1 - i) for i in range(n)]


class ConvStem(nn.Module):
    """Stride-2 3x3 convolutions (no bias) with GELU between them: (B, 3, H, W) -> (B, d, H/p, W/p)."""

    def __init__(self, in_chans: int = 3, embed_dim: int = 768, patch_size: int = 16):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_chans
        for i, width in enumerate(stem_widths(embed_dim, patch_size)):
            if i:
                layers.append(nn.GELU())
            # each convolution sits in its own Sequential: the official key is patch_embed.proj.<j>.0.weight
            layers.append(nn.Sequential(nn.Conv2d(prev, width, kernel_size=3, stride=2, padding=1, bias=False)))
            prev = width
        self.proj = nn.Sequential(*layers)
        self.patch_size = patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class ColumnMixer(nn.Module):
    """1x1 conv, GELU, 3x3 depthwise conv, GELU, squeeze-excitation (1/4), 1x1 conv, on a (B, d, H, W) map."""

    def __init__(self, dim: int):
        super().__init__()
        self.qkv_pos = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=1),
            nn.GELU(),
            nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim),
            nn.GELU(),
            SqueezeExcite(dim, rd_ratio=0.25),
            nn.Conv2d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        y = self.qkv_pos(x.transpose(1, 2).reshape(b, c, *grid))
        return y.flatten(2).transpose(1, 2)


class ColumnBlock(nn.Module):
    """``x + drop_path(gamma * mixer(LN(x)))`` on tokens (B, N, d) of an (H, W) grid."""

    def __init__(self, dim: int, layer_scale_init: float = 1e-4, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = ColumnMixer(dim)
        self.gamma_1 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        return x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x), grid))


class ClassAttention(nn.Module):
    """Multi-head attention whose only query is the first token (the class token).

    ``forward(x)`` returns the updated class token (B, 1, d) and the attention
    weights (B, heads, 1 + N): over the class token itself, then the patches.
    """

    def __init__(self, dim: int, num_heads: int = 1, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not a multiple of num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, c = x.shape
        h = self.num_heads
        q = self.q(x[:, :1]).reshape(b, 1, h, c // h).transpose(1, 2) * self.scale  # (B, h, 1, c/h)
        k = self.k(x).reshape(b, n, h, c // h).transpose(1, 2)  # (B, h, N, c/h)
        v = self.v(x).reshape(b, n, h, c // h).transpose(1, 2)
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)  # (B, h, 1, N)
        out = (attn @ v).transpose(1, 2).reshape(b, 1, c)
        return self.proj(out), attn[:, :, 0]


class AttentionPoolBlock(nn.Module):
    """The class-token block: attention of the class token over [class, patches], then an MLP, both LayerScaled."""

    def __init__(self, dim: int, num_heads: int = 1, mlp_ratio: float = 3.0, layer_scale_init: float = 1e-4):
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = ClassAttention(dim, num_heads=num_heads)
        self.gamma_1 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU)
        self.gamma_2 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled, attn = self.attn(self.norm1(torch.cat((cls, x), dim=1)))
        cls = cls + self.gamma_1 * pooled
        cls = cls + self.gamma_2 * self.mlp(self.norm2(cls))
        return cls, attn


class PatchConvNet(nn.Module):
    """Convolutional stem + ``depth`` SE column blocks + class-token attention pooling + LayerNorm + linear head."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 384, depth: int = 60, num_heads: int = 1, mlp_ratio_pool: float = 3.0,
                 layer_scale_init: float = 1e-4, drop_path: float = 0.0, head_dropout: float = 0.0):
        super().__init__()
        self.img_size, self.patch_size, self.num_classes = img_size, patch_size, num_classes
        self.num_features = self.embed_dim = embed_dim
        self.patch_embed = ConvStem(in_chans, embed_dim, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # the official rule: the same drop-path rate in every column (dpr_constant), none in the pooling block
        self.blocks = nn.ModuleList([ColumnBlock(embed_dim, layer_scale_init, drop_path) for _ in range(depth)])
        self.blocks_token_only = nn.ModuleList([AttentionPoolBlock(embed_dim, num_heads, mlp_ratio_pool,
                                                                   layer_scale_init)])
        self.norm = LayerNorm(embed_dim)
        self.head_drop = nn.Dropout(head_dropout)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {"cls_token"}

    def forward_tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Patch tokens (B, N, d) after the columns, and their (H, W) grid."""
        x = self.patch_embed(x)
        grid = (x.shape[-2], x.shape[-1])
        x = x.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x, grid)
        return x, grid

    def pool(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class-token features (B, d) after the final norm, and the pooling attention (B, heads, 1 + N)."""
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        for blk in self.blocks_token_only:
            cls, attn = blk(tokens, cls)
        return self.norm(cls[:, 0]), attn

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, d): the class token after attention pooling and the final LayerNorm."""
        return self.pool(self.forward_tokens(x)[0])[0]

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, classes) and the pooling attention over the patches, (B, heads, H, W).

        The class query also attends to itself: the weight of that slot is
        ``1 - map.sum((-2, -1))``; class slot + patches sum to 1 per head.
        """
        tokens, grid = self.forward_tokens(x)
        feats, attn = self.pool(tokens)
        return self.head(feats), attn[..., 1:].reshape(attn.shape[0], attn.shape[1], *grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_drop(self.features(x)))

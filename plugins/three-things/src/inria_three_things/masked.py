"""Masked-patch pre-training (SimMIM, Xie et al. 2022) for the ViTs here, linear or hMLP stem.

The paper (sec. 4) shows the hMLP stem keeps masked-image modelling valid:
each patch is processed on its own, so hiding a patch before the stem or
replacing its token after the stem is the same thing. :class:`MaskedImageModel`
does both: the hidden patches' pixels are zeroed before the stem (so they
reach nothing, not even the BatchNorm batch statistics of a training-mode
stem) and their tokens are replaced by a learned mask token after it. A
linear decoder predicts each token's patch pixels (SimMIM's one-layer
head); the objective ``simmim`` (entry point ``inria.objectives``) draws a
random mask per image (``mask_ratio`` of the patches, exactly) and takes the
L1 loss on the hidden patches of the normalised image.
"""
from __future__ import annotations

import torch
from torch import nn
from timm.layers import trunc_normal_


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, patches, patch*patch*C), patches row-major as the stem's tokens."""
    n, c, h, w = images.shape
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // patch) * (w // patch), patch * patch * c)


def pixel_mask(mask: torch.Tensor, grid: tuple[int, int], patch: int) -> torch.Tensor:
    """(N, patches) bool -> (N, 1, H, W) bool: True on the pixels of hidden patches."""
    m = mask.view(-1, 1, *grid)
    return m.repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)


def random_mask(n: int, patches: int, ratio: float, device=None, generator=None) -> torch.Tensor:
    """(n, patches) bool with exactly round(ratio * patches) hidden (at least 1) per row, at random."""
    hidden = min(patches, max(1, round(ratio * patches)))
    order = torch.rand(n, patches, device=device, generator=generator).argsort(dim=1)
    return order < hidden


class MaskedImageModel(nn.Module):
    """A ThreeThingsViT + mask token + linear pixel decoder; ``forward(images, mask)`` -> predicted patches."""

    def __init__(self, vit: nn.Module):
        super().__init__()
        self.vit = vit
        dim, patch = vit.embed_dim, vit.patch_embed.patch_size[0]
        self.patch = patch
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        trunc_normal_(self.mask_token, std=0.02)
        self.decoder = nn.Linear(dim, patch * patch * 3)

    def tokens(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Stem tokens with the hidden patches masked before the stem (zeroed) and after it (mask token)."""
        grid = tuple(self.vit.patch_embed.grid_size)
        images = images.masked_fill(pixel_mask(mask, grid, self.patch), 0.0)
        tok = self.vit.patch_tokens(images)
        return torch.where(mask.unsqueeze(-1), self.mask_token.to(tok.dtype), tok)

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.vit.encode(self.tokens(images, mask))[:, self.vit.num_prefix_tokens:]
        return self.decoder(out)

    def target(self, images: torch.Tensor) -> torch.Tensor:
        """The reconstruction target: the patches of the normalised image (what the stem sees)."""
        return patchify((images - self.vit.input_mean) / self.vit.input_std, self.patch)


class SimMIM:
    """Objective ``simmim``: random patch masks, L1 on the hidden patches (model: a MaskedImageModel)."""

    def __init__(self, mask_ratio: float = 0.5):
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio}")
        self.mask_ratio = float(mask_ratio)

    def __call__(self, model, batch, ctx):
        images = batch[0] if isinstance(batch, (tuple, list)) else batch["images"] if isinstance(batch, dict) else batch
        module = ctx.module
        mask = random_mask(images.shape[0], module.vit.patch_embed.num_patches, self.mask_ratio, device=images.device)
        pred = model(images, mask)
        err = (pred.float() - module.target(images)).abs().mean(-1)  # (N, patches)
        loss = err[mask].mean()
        return loss, {"visible_l1": err[~mask].mean().detach()}

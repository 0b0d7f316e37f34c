"""The MIM entropy model: a bidirectional transformer over the grid of PQ indices.

Input at each grid position: the sum of one embedding per *sent*
sub-quantizer (``tok[j, index_j]``), a learned ``absent[j]`` for the
sub-quantizers beyond the active prefix, or a single ``mask`` embedding where
the position is not known yet; plus a learned position embedding (one
``tile`` x ``tile`` table: larger grids are coded tile by tile) and an
embedding of the number of active sub-quantizers. Output at each position:
M independent K-way distributions, one per sub-quantizer (the M sub-indices
of one position are predicted jointly from the context but factorised among
themselves, as the paper's parallel prediction heads). The head is
factorised (dim -> M x head_dim -> M x K) so it costs M*K*head_dim instead of
M*K*dim per position, and it runs only where a prediction is needed
(``query``): the masked positions in training, one group when coding.

Training (stage 2, on the frozen indices of stage 1): a masking ratio ``r``
drawn from the cosine schedule ``r = cos(pi/2 * u)``, ``u ~ U(0, 1)``
(MaskGIT), ``ceil(r * N)`` random positions masked, cross-entropy on the
masked positions' active sub-indices. The same random-order masking is what
the coder sees: group ``s`` is predicted from the groups before it.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import TransformerBlock


class MIMTransformer(nn.Module):
    def __init__(self, num_subquantizers: int, codebook_size: int, dim: int = 128, depth: int = 3, heads: int = 4,
                 mlp_ratio: float = 3.0, tile: int = 8, head_dim: int = 32):
        super().__init__()
        self.m, self.k, self.tile = num_subquantizers, codebook_size, tile
        self.tok = nn.Embedding(num_subquantizers * codebook_size, dim)
        self.absent = nn.Parameter(torch.zeros(num_subquantizers, dim))
        self.mask = nn.Parameter(torch.zeros(dim))
        self.rate = nn.Embedding(num_subquantizers + 1, dim)
        self.pos = nn.Parameter(torch.zeros(tile * tile, dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head_proj = nn.Linear(dim, num_subquantizers * head_dim)
        self.head_out = nn.Parameter(torch.zeros(num_subquantizers, head_dim, codebook_size))
        self.head_bias = nn.Parameter(torch.zeros(num_subquantizers, codebook_size))
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        nn.init.normal_(self.mask, std=0.02)
        nn.init.normal_(self.rate.weight, std=0.02)
        nn.init.normal_(self.head_out, std=head_dim ** -0.5 * 0.1)
        self.register_buffer("offsets", torch.arange(num_subquantizers) * codebook_size, persistent=False)

    def forward(self, indices: torch.Tensor, visible: torch.Tensor, active: torch.Tensor | int,
                query: torch.Tensor | None = None) -> torch.Tensor:
        """indices (B, M, h, w), visible (B, h, w) bool, active int or (B,) -> logits (B, h*w, M, K).

        With ``query`` (B, h*w) bool: only the logits of the queried positions,
        (number queried, M, K), batch-major then in ascending position order.

        The values of ``indices`` where a position is not visible, or a
        sub-quantizer is not active, are never read (the coder relies on it:
        the encoder holds the true values there, the decoder zeros).
        """
        b, m, h, w = indices.shape
        if h > self.tile or w > self.tile:
            raise ValueError(f"grid {h}x{w} is larger than the transformer tile {self.tile}")
        if not torch.is_tensor(active):
            active = torch.full((b,), int(active), device=indices.device)
        keep = torch.arange(m, device=indices.device).view(1, m) < active.view(b, 1)  # (B, M)
        idx = indices.flatten(2).transpose(1, 2).clamp(0, self.k - 1)  # (B, N, M)
        emb = self.tok(idx + self.offsets)  # (B, N, M, dim)
        emb = torch.where(keep.view(b, 1, m, 1), emb, self.absent.to(emb.dtype)).sum(2)
        vis = visible.reshape(b, h * w, 1)
        x = torch.where(vis, emb, self.mask.to(emb.dtype))
        pos = self.pos.view(self.tile, self.tile, -1)[:h, :w].reshape(h * w, -1)
        x = x + pos + self.rate(active).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        if query is not None:
            x = x[query]
        v = self.head_proj(x).unflatten(-1, (m, -1))  # (..., M, head_dim)
        return torch.einsum("...me,mek->...mk", v, self.head_out) + self.head_bias


def masking_ratio(u: torch.Tensor) -> torch.Tensor:
    """MaskGIT's cosine schedule: u ~ U(0, 1) -> the fraction of positions masked."""
    return torch.cos(math.pi / 2 * u)


def random_visibility(b: int, h: int, w: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """(B, h, w) bool: each image hides ceil(r * N) random positions, r from :func:`masking_ratio`."""
    n = h * w
    u = torch.rand(b, generator=generator, device=device)
    hidden = torch.ceil(masking_ratio(u) * n).clamp(1, n)
    rank = torch.rand(b, n, generator=generator, device=device).argsort(1).argsort(1)
    return (rank >= hidden.view(b, 1)).view(b, h, w)


def mim_loss(model: MIMTransformer, indices: torch.Tensor, active: torch.Tensor,
             generator: torch.Generator | None = None) -> dict:
    """Masked-token cross-entropy (in bits per sent sub-index) on the masked positions."""
    b, m, h, w = indices.shape
    visible = random_visibility(b, h, w, generator, indices.device)
    hidden = ~visible.view(b, -1)
    logits = model(indices, visible, active, query=hidden)  # (masked positions, M, K)
    target = indices.flatten(2).transpose(1, 2)[hidden]  # (masked positions, M)
    sent = torch.arange(m, device=indices.device).view(1, m) < active.view(b, 1).expand(b, h * w)[hidden].view(-1, 1)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none").view(-1, m)
    loss = (ce * sent).sum() / sent.sum().clamp(min=1)
    return {"loss": loss, "bits_per_index": loss.detach() / math.log(2)}


def mim_transformer(config) -> MIMTransformer:
    """The named constructor the codec uses."""
    return MIMTransformer(config.num_subquantizers, config.codebook_size, config.mim_dim, config.mim_depth,
                          config.mim_heads, config.mim_mlp_ratio, config.mim_tile, config.mim_head_dim)

"""The product quantizer: M sub-vectors, each snapped to its own codebook of K codewords.

A latent vector of ``D`` channels is split into ``M`` sub-vectors of ``D / M``
channels; sub-vector ``j`` is replaced by its nearest codeword in codebook
``j``. The index of one grid position is the tuple of M sub-indices, so the
effective codebook has K**M entries while storing only M*K codewords (the
paper's point: a high-rate vector quantizer without an intractable codebook).

**Variable rate from one model (nested sub-quantizers).** Only the first
``active`` sub-quantizers are sent; the decoder sees the learned ``absent``
vector of each sub-quantizer in place of the others. Training draws
``active`` per image (all M with probability ``full_rate_prob``, else a
uniform prefix length), so the first sub-quantizers learn to carry the coarse
content and every prefix length is a rate-distortion point of the same
weights: ``active_subquantizers`` is the rate knob of ``with_overrides``.

Codebooks learn either by EMA (k-means) updates or by a codebook loss; in both
cases codewords whose EMA usage falls under ``dead_threshold`` are restarted
on random encoder outputs of the current batch (rank 0's choice is broadcast
under torch.distributed so that every replica keeps the same codebooks).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


class ProductQuantizer(nn.Module):
    def __init__(self, dim: int, num_subquantizers: int, codebook_size: int, *, update: str = "ema",
                 decay: float = 0.97, commitment: float = 0.25, dead_threshold: float = 0.03):
        super().__init__()
        if dim % num_subquantizers:
            raise ValueError(f"dim {dim} is not divisible by {num_subquantizers} sub-quantizers")
        self.dim, self.m, self.k = dim, num_subquantizers, codebook_size
        self.sub = dim // num_subquantizers
        self.update, self.decay, self.commitment, self.dead_threshold = update, decay, commitment, dead_threshold
        codebook = torch.randn(self.m, self.k, self.sub) * 0.1
        if update == "ema":
            self.register_buffer("codebook", codebook)
        else:
            self.codebook = nn.Parameter(codebook)
        self.absent = nn.Parameter(torch.zeros(self.m, self.sub))
        self.register_buffer("ema_count", torch.ones(self.m, self.k))
        self.register_buffer("ema_sum", codebook.clone())
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    # -- shapes: latents (B, D, h, w) <-> sub-vectors (M, N, sub) ----------------------------
    def _split(self, z: torch.Tensor) -> torch.Tensor:
        b, d, h, w = z.shape
        return z.permute(1, 0, 2, 3).reshape(self.m, self.sub, b * h * w).transpose(1, 2)

    def _merge(self, s: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
        return s.transpose(1, 2).reshape(self.dim, b, h, w).permute(1, 0, 2, 3)

    def _assign(self, subs: torch.Tensor) -> torch.Tensor:
        cb = self.codebook.to(subs.dtype)
        dist2 = (subs.pow(2).sum(-1, keepdim=True) - 2 * torch.bmm(subs, cb.transpose(1, 2))
                 + cb.pow(2).sum(-1).unsqueeze(1))
        return dist2.argmin(-1)  # (M, N)

    # -- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, D, h, w) -> indices (B, M, h, w) int64."""
        b, _, h, w = z.shape
        idx = self._assign(self._split(z.float()))
        return idx.view(self.m, b, h, w).permute(1, 0, 2, 3).contiguous()

    def decode(self, indices: torch.Tensor, active: int | torch.Tensor | None = None) -> torch.Tensor:
        """Indices (B, M, h, w) -> latents (B, D, h, w); sub-quantizers >= ``active`` take ``absent``.

        ``active`` is an int or a (B,) tensor; entries of inactive sub-quantizers are ignored.
        """
        b, m, h, w = indices.shape
        flat = indices.permute(1, 0, 2, 3).reshape(m, -1).clamp(0, self.k - 1)
        q = torch.gather(self.codebook, 1, flat.unsqueeze(-1).expand(-1, -1, self.sub))  # (M, N, sub)
        q = self._apply_active(q, active, b, h * w)
        return self._merge(q, b, h, w)

    def expected(self, probs: torch.Tensor) -> torch.Tensor:
        """probs (m, ..., K) over the codewords of the first m sub-quantizers -> (m, ..., sub) expected codewords."""
        m = probs.shape[0]
        flat = probs.reshape(m, -1, self.k).to(self.codebook.dtype)
        return torch.bmm(flat, self.codebook[:m]).view(*probs.shape[:-1], self.sub)

    def _apply_active(self, q: torch.Tensor, active, b: int, per_image: int) -> torch.Tensor:
        if active is None:
            return q
        keep = self.active_mask(active, b, q.device)  # (B, M)
        keep = keep.t().repeat_interleave(per_image, dim=1).unsqueeze(-1)  # (M, N, 1)
        return torch.where(keep, q, self.absent.unsqueeze(1).to(q.dtype))

    def active_mask(self, active, b: int, device) -> torch.Tensor:
        """(B, M) bool: which sub-quantizers each image sends."""
        if not torch.is_tensor(active):
            active = torch.full((b,), int(active), device=device)
        return torch.arange(self.m, device=device).unsqueeze(0) < active.to(device).view(-1, 1)

    # -- training ------------------------------------------------------------------------------
    def forward(self, z: torch.Tensor, active: int | torch.Tensor | None = None) -> dict:
        """Quantize with a straight-through gradient; returns latents, indices, loss and codebook stats."""
        b, _, h, w = z.shape
        subs = self._split(z)
        if self.training and not bool(self.initialized):
            self._init_from(subs.detach())
        idx = self._assign(subs.detach())
        q = torch.gather(self.codebook, 1, idx.unsqueeze(-1).expand(-1, -1, self.sub))
        loss = self.commitment * F.mse_loss(subs, q.detach())
        if self.update == "loss":
            loss = loss + F.mse_loss(q, subs.detach())
        restarted = 0
        if self.training:
            restarted = self._update_codebooks(subs.detach(), idx)
        q_st = subs + (q - subs).detach()
        q_st = self._apply_active(q_st, active, b, h * w)
        usage = F.one_hot(idx, self.k).float().mean(1)  # (M, K)
        perplexity = torch.exp(-(usage * (usage + 1e-10).log()).sum(-1)).mean()
        return {
            "latent": self._merge(q_st, b, h, w),
            "indices": idx.view(self.m, b, h, w).permute(1, 0, 2, 3),
            "loss": loss,
            "perplexity": perplexity.detach(),
            "restarted": restarted,
        }

    @torch.no_grad()
    def _init_from(self, subs: torch.Tensor) -> None:
        """Data-dependent init: codewords start on random encoder outputs (no dead codebook at step 0)."""
        n = subs.shape[1]
        pick = torch.randint(0, n, (self.m, self.k), device=subs.device)
        init = torch.gather(subs, 1, pick.unsqueeze(-1).expand(-1, -1, self.sub))
        init = init + 1e-3 * torch.randn_like(init)
        self._broadcast(init)
        self.codebook.data.copy_(init)
        self.ema_sum.copy_(init)
        self.ema_count.fill_(1.0)
        self.initialized.fill_(True)

    @torch.no_grad()
    def _update_codebooks(self, subs: torch.Tensor, idx: torch.Tensor) -> int:
        counts = torch.zeros(self.m, self.k, device=subs.device, dtype=subs.dtype)
        counts.scatter_add_(1, idx, torch.ones_like(idx, dtype=subs.dtype))
        sums = torch.zeros(self.m, self.k, self.sub, device=subs.device, dtype=subs.dtype)
        sums.scatter_add_(1, idx.unsqueeze(-1).expand(-1, -1, self.sub), subs)
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        if self.update == "ema":
            total = self.ema_count.sum(-1, keepdim=True)
            smoothed = (self.ema_count + 1e-5) / (total + self.k * 1e-5) * total  # Laplace smoothing
            self.codebook.data.copy_(self.ema_sum / smoothed.unsqueeze(-1))
        dead = self.ema_count < self.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            pick = torch.randint(0, subs.shape[1], (n_dead,), device=subs.device)
            rows = dead.nonzero()[:, 0]
            fresh = subs[rows, pick] + 1e-3 * torch.randn(n_dead, self.sub, device=subs.device)
            new = self.codebook.data.clone()
            new[dead] = fresh
            self._broadcast(new)
            self.codebook.data.copy_(new)
            self.ema_sum[dead] = new[dead]
            self.ema_count[dead] = 1.0
        return n_dead

    @staticmethod
    def _broadcast(t: torch.Tensor) -> None:
        if _distributed():
            dist.broadcast(t, 0)

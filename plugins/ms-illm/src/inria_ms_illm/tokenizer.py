"""The VQ-VAE tokenizer whose codes label the discriminator's classes (trained here; 1024 codes).

Paper: ``VqVaeXCiTAutoencoder`` (conv stem ch 64, ch_mult [1, 2, 2, 4], XCiT
blocks, 256-d embedding projected to 8-d and L2-normalised, 1024 codes, 1/8
resolution). Here a convolutional VQ-VAE with the same quantiser: three
stride-2 conv stages (8x downsampling, widths ``channels``), a 1x1
projection to ``code_dim`` = 8, L2 normalisation, the nearest of
``codebook_size`` L2-normalised codes (cosine), a mirrored decoder. Loss:
MSE + codebook + 0.25 commitment (straight-through gradients); codes unused
for ``restart_after`` steps are restarted on encoder outputs of the batch.
The XCiT blocks are left out (CPU budget); the labels keep the paper's
definition: the code index of each 8x8 cell of the real image.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class VQTokenizer(nn.Module):
    def __init__(self, channels=(32, 64, 64), codebook_size: int = 1024, code_dim: int = 8, commitment: float = 0.25,
                 restart_after: int = 10):
        super().__init__()
        c1, c2, c3 = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, stride=2, padding=1), nn.GELU(), nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(c2, c3, 4, stride=2, padding=1), nn.GELU(), nn.Conv2d(c3, c3, 3, padding=1), nn.GELU(),
            nn.Conv2d(c3, code_dim, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, c3, 3, padding=1), nn.GELU(), nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1),
            nn.GELU(), nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.GELU(),
            nn.ConvTranspose2d(c1, 3, 4, stride=2, padding=1))
        self.codebook = nn.Parameter(F.normalize(torch.randn(codebook_size, code_dim), dim=1))
        self.commitment, self.restart_after = commitment, restart_after
        self.register_buffer("idle", torch.zeros(codebook_size, dtype=torch.long))

    @property
    def codebook_size(self) -> int:
        return self.codebook.shape[0]

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder(x * 2 - 1), dim=1)

    def _nearest(self, z: torch.Tensor) -> torch.Tensor:
        codes = F.normalize(self.codebook, dim=1)
        return torch.einsum("bchw,kc->bkhw", z, codes).argmax(1)

    @torch.no_grad()
    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, H/8, W/8) int64 code indices (the discriminator's labels - 1)."""
        return self._nearest(self._project(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self._project(x)
        idx = self._nearest(z.detach())
        codes = F.normalize(self.codebook, dim=1)
        q = codes[idx].permute(0, 3, 1, 2)
        recon = (self.decoder(z + (q - z).detach()) + 1) / 2
        mse = F.mse_loss(recon, x)
        loss = mse + F.mse_loss(q, z.detach()) + self.commitment * F.mse_loss(z, q.detach())
        if self.training:
            self._restart(z.detach(), idx)
        used = torch.bincount(idx.flatten(), minlength=self.codebook_size)
        p = used.float() / used.sum()
        perplexity = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        return {"recon": recon, "loss": loss, "mse": mse.detach(), "perplexity": perplexity, "indices": idx}

    @torch.no_grad()
    def _restart(self, z: torch.Tensor, idx: torch.Tensor) -> None:
        used = torch.bincount(idx.flatten(), minlength=self.codebook_size) > 0
        self.idle.add_(1).masked_fill_(used, 0)
        dead = (self.idle > self.restart_after).nonzero().flatten()
        if dead.numel():
            flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
            pick = torch.randint(0, flat.shape[0], (dead.numel(),), device=z.device)
            self.codebook.data[dead] = flat[pick] + 0.01 * torch.randn_like(flat[pick])
            self.idle[dead] = 0

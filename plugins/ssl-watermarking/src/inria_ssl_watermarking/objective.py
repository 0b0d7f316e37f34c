"""SimCLR (Chen et al., 2020): the self-supervised objective that trains the marking space here.

The paper marks in DINO's latent space because it is invariant to the
augmentations it was trained with; any objective with that property works
for the method. On two CPU cores a contrastive loss learns that invariance in
minutes where DINO needs long schedules, so the shipped backbone is trained
with NT-Xent between two augmented views of each image. The views use the
attacks a watermark must survive (crop, resize, rotation, blur, colour, JPEG),
drawn from the core's image ops.

Registered as the objective ``simclr`` (entry point ``inria.objectives``);
the model it trains is :class:`ContrastiveModel` (a feature net + projector).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inria.errors import InriaError


class ContrastiveModel(nn.Module):
    """Feature net + SimCLR projector (dropped after training); ``forward`` returns unit projections."""

    def __init__(self, net: nn.Module, dim: int, proj_dim: int = 128):
        super().__init__()
        self.net = net
        self.projector = nn.Sequential(nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
                                       nn.Linear(dim, proj_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projector(self.net(x)), dim=-1)


def nt_xent(z: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """NT-Xent over 2N unit vectors where rows i and i + N are the two views of one image.

    Returns (loss, top-1 accuracy of finding the other view among the 2N - 1 others).
    """
    n2 = z.shape[0]
    if n2 % 2 or n2 < 4:
        raise InriaError(f"simclr needs an even batch of at least 4 views, got {n2}", where="objective simclr")
    n = n2 // 2
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(n2, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, n2), torch.arange(0, n)]).to(z.device)
    loss = F.cross_entropy(logits, target)
    acc = (logits.detach().argmax(-1) == target).float().mean()
    return loss, acc


class Views:
    """Two random views of each image: resized crop, flip, colour jitter, grayscale, blur, rotation, JPEG."""

    def __init__(self, size: int = 64, scale: tuple[float, float] = (0.25, 1.0), jitter: float = 0.4,
                 grayscale: float = 0.2, blur: float = 0.3, rotate: float = 0.3, degrees: float = 30.0,
                 jpeg: float = 0.3, jpeg_quality: tuple[int, int] = (30, 90)):
        for name, p in (("grayscale", grayscale), ("blur", blur), ("rotate", rotate), ("jpeg", jpeg)):
            if not 0.0 <= p <= 1.0:
                raise InriaError(f"probability {p} outside [0, 1]", where=f"objective_args.views.{name}")
        if not (isinstance(size, int) and size >= 8):
            raise InriaError(f"view size {size!r} must be an int >= 8", where="objective_args.views.size")
        self.size, self.scale, self.jitter = size, tuple(scale), jitter
        self.p = {"grayscale": grayscale, "blur": blur, "rotate": rotate, "jpeg": jpeg}
        self.degrees, self.jpeg_quality = degrees, tuple(jpeg_quality)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        from inria.ops import image as ops

        g = generator
        v = ops.random_resized_crop(x, (self.size, self.size), scale=self.scale, generator=g)
        u = torch.rand(len(v), 6, generator=g)
        out = []
        for i, im in enumerate(v):
            im = im.unsqueeze(0)
            if u[i, 0] < 0.5:
                im = im.flip(-1)
            im = ops.color_jitter(im, self.jitter, generator=g)
            if u[i, 1] < self.p["grayscale"]:
                im = ops.grayscale(im)
            if u[i, 2] < self.p["blur"]:
                im = ops.gaussian_blur(im, int(torch.randint(1, 4, (1,), generator=g)) * 2 + 1)
            if u[i, 3] < self.p["rotate"]:
                im = ops.rotate(im, float((2 * u[i, 4] - 1) * self.degrees))
            if u[i, 5] < self.p["jpeg"]:
                q = int(torch.randint(self.jpeg_quality[0], self.jpeg_quality[1] + 1, (1,), generator=g))
                im = ops.jpeg(im, q)
            out.append(im)
        return torch.cat(out).clamp(0, 1)


class SimCLR:
    """The objective: two views per image of the batch, NT-Xent at ``temperature``.

    Batches are image tensors (N, 3, H, W) in [0, 1] (or (images, labels)
    pairs, labels ignored). Metrics: ``loss`` and ``view_acc`` (how often an
    image's other view is its nearest neighbour among the 2N - 1 others).
    """

    def __init__(self, temperature: float = 0.2, views: dict | None = None):
        if not (isinstance(temperature, (int, float)) and 0 < temperature <= 10 and math.isfinite(temperature)):
            raise InriaError(f"temperature {temperature!r} must be in (0, 10]", where="objective_args.temperature")
        self.temperature = float(temperature)
        self.views = Views(**(views or {}))

    def __call__(self, model, batch, ctx) -> tuple[torch.Tensor, dict]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if not (isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[1] == 3):
            raise InriaError(f"simclr expects image batches (N, 3, H, W), got {tuple(getattr(x, 'shape', ()))}",
                             where="objective simclr")
        device = x.device
        cpu = x.detach().float().cpu()
        views = torch.cat([self.views(cpu), self.views(cpu)]).to(device)
        loss, acc = nt_xent(model(views), self.temperature)
        return loss, {"view_acc": acc}

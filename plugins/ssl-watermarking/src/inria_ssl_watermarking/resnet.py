"""ResNet feature extractors for watermarking in a latent space (timm style: named constructors).

``resnet50`` is the paper's marking network (torchvision's ResNet-50 with the
classifier removed, 2048-d pooled features: the DINO checkpoint's format).
``resnet_cpu`` is the narrow ResNet layout this plugin trains on two CPU
cores (one BasicBlock per stage, channels 32-64-128-512, 512-d features,
3.1 M parameters, 12 MB): narrow early, where the pixels are, so marking stays
cheap; wide at the end because the hypercone test is easier in more
dimensions (the cosine threshold at FPR 1e-6 is 0.30 at 256-d, 0.21 at
512-d, 0.11 at 2048-d).
"""
from __future__ import annotations

import torch
from torch import nn

# ImageNet statistics: the official marking network and DINO take normalised inputs
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class FeatureNet(nn.Module):
    """Normalise [0, 1] pixels, then a trunk that ends in global pooling: (N, 3, H, W) -> (N, dim)."""

    def __init__(self, trunk: nn.Module, dim: int):
        super().__init__()
        self.trunk = trunk
        self.dim = dim
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk((x - self.mean) / self.std)


def resnet_cpu(channels: tuple[int, ...] = (32, 64, 128, 512), layers: tuple[int, ...] = (1, 1, 1, 1)) -> FeatureNet:
    """The CPU-sized ResNet (timm's ResNet with BasicBlocks, no classifier)."""
    from timm.models.resnet import BasicBlock, ResNet

    trunk = ResNet(BasicBlock, list(layers), num_classes=0, channels=tuple(channels), stem_width=channels[0])
    return FeatureNet(trunk, dim=channels[-1])


def resnet50() -> FeatureNet:
    """torchvision's ResNet-50 without ``fc``: the layout of ``dino_r50_plus.pth`` (keys ``conv1.weight``, ``layer1.0...``)."""
    from torchvision.models import resnet50 as tv_resnet50

    trunk = tv_resnet50(weights=None)
    trunk.fc = nn.Identity()
    return FeatureNet(trunk, dim=2048)


ARCHS = {"resnet_cpu": resnet_cpu, "resnet50": resnet50}

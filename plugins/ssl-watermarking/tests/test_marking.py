"""The pixel optimisation's parts: PSNR clip, SSIM attenuation, augmentations, groups of sizes."""

import numpy as np
import torch

from inria.eval.metrics import psnr
from inria_ssl_watermarking.marking import (Augmentation, MarkingConfig, SSIMAttenuation, normalize, optimise,
                                            psnr_clip, unnormalize)


def test_psnr_clip_reaches_the_target_and_leaves_small_changes_alone():
    x = torch.rand(2, 3, 64, 64)
    z0 = normalize(x)
    z = z0 + torch.randn_like(z0) * 0.5
    clipped = unnormalize(psnr_clip(z, z0, 40.0))
    assert np.allclose(psnr(x, clipped), 40.0, atol=0.05)
    small = z0 + (z - z0) * 1e-4
    assert torch.equal(psnr_clip(small, z0, 40.0), small)


def test_ssim_attenuation_keeps_textured_changes_and_damps_flat_ones():
    att = SSIMAttenuation()
    flat = torch.zeros(1, 3, 64, 64)
    textured = torch.rand(1, 3, 64, 64) * 4 - 2
    for y in (flat, textured):
        assert torch.allclose(att.heatmap(y, y), torch.ones_like(y), atol=1e-5)  # SSIM of an image with itself
    delta = 0.05 * torch.randn(1, 3, 64, 64)
    gain_flat = ((att(flat + delta, flat) - flat).abs().mean() / delta.abs().mean()).item()
    att2 = SSIMAttenuation()
    gain_tex = ((att2(textured + delta, textured) - textured).abs().mean() / delta.abs().mean()).item()
    assert gain_tex > 2 * gain_flat


def test_augmentations_cover_the_official_kinds():
    cfg = MarkingConfig()
    aug = Augmentation(cfg, np.random.default_rng(0))
    x = torch.rand(2, 3, 64, 48, requires_grad=True)
    shapes = set()
    for _ in range(40):
        y = aug(x)
        y.sum().backward()  # every kind is differentiable
        shapes.add(tuple(y.shape[-2:]))
    assert x.grad is not None and len(shapes) > 5  # crops and resizes change the size


def test_optimise_moves_features_and_handles_mixed_sizes():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten())
    for p in net.parameters():
        p.requires_grad_(False)
    target = torch.randn(8)
    images = [torch.rand(3, 40, 40), torch.rand(3, 32, 48), torch.rand(3, 40, 40)]
    seen = []

    def loss_w(ft, rows):
        seen.append(tuple(rows))
        return -(ft @ target).sum()

    cfg = MarkingConfig(iterations=30, lr=0.05, target_psnr=30.0, augment=False)
    out = optimise(images, net, loss_w, 1e3, cfg)  # the features are tiny: weigh them over the image term
    assert [o.shape for o in out] == [im.shape for im in images]
    assert {(0, 2), (1,)} == set(seen)  # one group per size, rows in the caller's order
    for im, o in zip(images, out):
        assert float(psnr(im[None], o[None])[0]) >= 30.0 - 0.3
        assert torch.equal(o, (o * 255).round() / 255)  # 8-bit levels
        assert float(net(o[None]) @ target) > float(net(im[None]) @ target)

"""Image losses shared by every plugin (watermarkers, codecs, backbones).

One factory, one convention: ``loss(input, target)`` takes float
(N, 3, H, W) tensors in [0, 1] — ``input`` the image being optimised,
``target`` the reference — and returns the mean over the batch of a
per-image distance (a scalar tensor, differentiable in ``input``).

======================  ===============================================================
name                    what it is / what it needs
======================  ===============================================================
``watson-dft``          Watson's perceptual model on 8x8 block DFTs (Czolbe et al. 2020),
                        with the model's *initial* parameters: no downloaded weights.
                        The default perceptual loss of Stable Signature's decoder tuning.
``mse``                 mean squared error per image
``ssim``                1 - SSIM (pytorch-msssim), window shrunk for small images
``watson-vgg``          Watson's model on VGG-16 features; needs ``weights=`` a local
                        state dict in the PerceptualSimilarity layout
                        (``rgb_watson_vgg_trial0.pth``: VGG slices + Watson parameters)
``lpips``               LPIPS-VGG (Zhang et al. 2018); needs ``weights=`` the linear
                        layers (``vgg.pth`` of the lpips package) and
                        ``backbone_weights=`` a torchvision VGG-16 state dict
======================  ===============================================================

Nothing is downloaded: a loss whose weights are not given as a local path is
an :class:`~inria.errors.InriaError`. State dicts are read with
``torch.load(weights_only=True)`` or safetensors.

The scales differ (Watson distances are sums over blocks or features, MSE is
a mean), so a loss weight tuned for one does not carry over to another.
"""
from __future__ import annotations

from .perceptual import LOSSES, LPIPS, MSE, SSIM, WatsonDFT, WatsonVGG, perceptual_loss

__all__ = ["LOSSES", "LPIPS", "MSE", "SSIM", "WatsonDFT", "WatsonVGG", "perceptual_loss"]

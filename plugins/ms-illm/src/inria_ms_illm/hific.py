"""The HiFiC autoencoder with a mean-scale hyperprior (Mentzer et al. 2020; MS-ILLM's codec network).

One architecture, module names as NeuralCompression's ``HiFiCAutoencoder`` so
its state dicts load as they are (:mod:`.official`):

- ``encoder``: a 7x7 conv then four stride-2 3x3 convs (16x downsampling),
  each followed by ChannelNorm and ReLU, then a 3x3 conv to ``latent``
  channels.
- ``decoder`` (the generator): ChannelNorm, 3x3 conv to ``widths[-1]``,
  ChannelNorm; ``residual_blocks`` residual blocks (conv-norm-ReLU-conv-norm)
  with an outer skip; four stride-2 transposed convs back to full resolution;
  a 7x7 conv to RGB.
- the hyperprior: ``hyper_analysis`` (3x3 conv, two stride-2 5x5 convs: /4),
  two synthesis branches ``hyper_synthesis_mean`` and
  ``hyper_synthesis_scale`` (two stride-2 5x5 transposed convs, 3x3 conv), a
  CompressAI ``EntropyBottleneck`` on the hyper-latent and a
  ``GaussianConditional`` on the latent. Images are padded to 64 = 16 x 4.

Training forward: noisy likelihoods for the rate, the likelihoods of the
rounded values (no gradient) to steer the target-rate schedule, and the
decoder sees straight-through latents rounded around the predicted means.

``centered`` (not in the official network, whose weights expect raw [0, 1]
pixels): the encoder sees ``2x - 1`` and the generator's output ``o`` is read
as ``(o + 1) / 2``. Without it a freshly initialised network spends its first
thousands of steps learning the image mean through ChannelNorm'ed features
(measured here: 13.5 dB after 200 Adam steps overfitting four crops, against
21.8 dB after 100 with it), which a CPU budget cannot afford.

Named constructors: :func:`hific_official` (the paper's 60..960 widths, 220
latent channels, 320 hyper channels, 9 residual blocks) and
:func:`hific_small` (the CPU models shipped with the plugin).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .layers import ChannelNorm2d

PAD_UNIT = 64  # 16x encoder downsampling x 4x hyper-analysis downsampling
SCALE_MIN, SCALE_MAX, SCALE_LEVELS = 0.11, 256.0, 64  # CompressAI's default scale table


def scale_table() -> torch.Tensor:
    return torch.exp(torch.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS))


class HiFiCEncoder(nn.Module):
    def __init__(self, in_channels: int = 3, latent: int = 220, widths=(60, 120, 240, 480, 960)):
        super().__init__()
        blocks: list[nn.Module] = []
        for i, out in enumerate(widths):
            conv = (nn.Conv2d(in_channels, out, 7, padding=3) if i == 0
                    else nn.Conv2d(in_channels, out, 3, stride=2, padding=1))
            blocks.append(nn.Sequential(conv, ChannelNorm2d(out), nn.ReLU()))
            in_channels = out
        blocks.append(nn.Conv2d(in_channels, latent, 3, padding=1))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.sequence = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), ChannelNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), ChannelNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sequence(x)


class HiFiCGenerator(nn.Module):
    def __init__(self, out_channels: int = 3, latent: int = 220, widths=(60, 120, 240, 480, 960),
                 residual_blocks: int = 9):
        super().__init__()
        filters = list(reversed(widths))
        self.block_0 = nn.Sequential(ChannelNorm2d(latent), nn.Conv2d(latent, filters[0], 3, padding=1),
                                     ChannelNorm2d(filters[0]))
        self.resid_blocks = nn.Sequential(*[ResidualBlock(filters[0]) for _ in range(residual_blocks)])
        blocks: list[nn.Module] = []
        for cin, cout in zip(filters[:-1], filters[1:]):
            blocks.append(nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
                                        ChannelNorm2d(cout), nn.ReLU()))
        blocks.append(nn.Conv2d(filters[-1], out_channels, 7, padding=3))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = self.block_0(y)
        x = x + self.resid_blocks(x)
        return self.blocks(x)


def _conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2, output_padding=1)


def _synthesis(hyper: int, latent: int) -> nn.Sequential:
    return nn.Sequential(_deconv(hyper, hyper), nn.ReLU(inplace=True), _deconv(hyper, hyper), nn.ReLU(inplace=True),
                         _conv(hyper, latent, k=3, stride=1))


class HiFiCAutoencoder(nn.Module):
    """Encoder, generator and mean-scale hyperprior; see the module docstring."""

    def __init__(self, widths=(60, 120, 240, 480, 960), latent: int = 220, hyper: int = 320,
                 residual_blocks: int = 9, centered: bool = False):
        super().__init__()
        from compressai.entropy_models import EntropyBottleneck, GaussianConditional

        if len(widths) != 5:
            raise ValueError(f"widths has {len(widths)} entries; HiFiC has 5 encoder stages (16x downsampling)")
        self.widths, self.latent, self.hyper = tuple(widths), latent, hyper
        self.centered = centered
        self.encoder = HiFiCEncoder(3, latent, widths)
        self.decoder = HiFiCGenerator(3, latent, widths, residual_blocks)
        self.hyper_analysis = nn.Sequential(_conv(latent, hyper, k=3, stride=1), nn.ReLU(inplace=True),
                                            _conv(hyper, hyper), nn.ReLU(inplace=True), _conv(hyper, hyper))
        self.hyper_synthesis_mean = _synthesis(hyper, latent)
        self.hyper_synthesis_scale = _synthesis(hyper, latent)
        self.hyper_bottleneck = EntropyBottleneck(hyper)
        self.latent_bottleneck = GaussianConditional(None)

    # -- parts ---------------------------------------------------------------------------------
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """Image in [0, 1] -> latent (``centered``: the encoder sees 2x - 1)."""
        return self.encoder(x * 2 - 1 if self.centered else x)

    def synthesis(self, y: torch.Tensor) -> torch.Tensor:
        """Latent -> image (``centered``: the generator's output o is read as (o + 1) / 2)."""
        out = self.decoder(y)
        return (out + 1) / 2 if self.centered else out

    def bottleneck_modules(self) -> list[nn.Module]:
        """What stage 2 freezes besides the encoder (NeuralCompression's ``freeze_bottleneck``)."""
        return [self.hyper_analysis, self.hyper_synthesis_mean, self.hyper_synthesis_scale, self.hyper_bottleneck,
                self.latent_bottleneck]

    def aux_loss(self) -> torch.Tensor:
        """The hyper-bottleneck quantile loss (trains only its ``quantiles``)."""
        return self.hyper_bottleneck.loss()

    def update(self) -> None:
        """Integer CDF tables of both entropy models (CompressAI ``update``), needed before coding."""
        self.hyper_bottleneck.update(force=True)
        self.latent_bottleneck.update_scale_table(scale_table(), force=True)

    # -- training forward ----------------------------------------------------------------------
    def forward(self, x: torch.Tensor, decode: bool = True, frozen_encoder: bool = False) -> dict[str, torch.Tensor]:
        """Training forward; ``frozen_encoder`` (stage 2): everything but the generator without gradients."""
        from compressai.ops import quantize_ste

        if frozen_encoder:
            with torch.no_grad():
                y = self.analysis(x)
                z_hat = self.hyper_bottleneck(self.hyper_analysis(y), training=False)[0]
                means = self.hyper_synthesis_mean(z_hat)
                y_hat = torch.round(y - means) + means
            return {"latent": y_hat, "recon": self.synthesis(y_hat)}
        y = self.analysis(x)
        z = self.hyper_analysis(y)
        z_tilde, z_likelihoods = self.hyper_bottleneck(z)
        with torch.no_grad():
            _, z_likelihoods_q = self.hyper_bottleneck(z, training=False)
        means = self.hyper_synthesis_mean(z_tilde)
        scales = self.hyper_synthesis_scale(z_tilde)
        _, y_likelihoods = self.latent_bottleneck(y, scales, means=means)
        with torch.no_grad():
            _, y_likelihoods_q = self.latent_bottleneck(y, scales, means=means, training=False)
        y_hat = quantize_ste(y - means) + means
        out = {"latent": y_hat, "likelihoods": (y_likelihoods, z_likelihoods),
               "likelihoods_quantized": (y_likelihoods_q, z_likelihoods_q)}
        if decode:
            out["recon"] = self.synthesis(y_hat)
        return out


def hific_official() -> HiFiCAutoencoder:
    """The paper's network (NeuralCompression ``HiFiCAutoencoder()``: ~180 M parameters)."""
    return HiFiCAutoencoder((60, 120, 240, 480, 960), 220, 320, 9)


def hific_small() -> HiFiCAutoencoder:
    """The CPU network of the shipped models: same structure, narrower, centred input/output (see the README)."""
    return HiFiCAutoencoder((16, 32, 64, 96, 128), 64, 64, 2, centered=True)

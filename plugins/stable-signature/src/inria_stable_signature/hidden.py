"""HiDDeN networks (Zhu et al. 2018) as Stable Signature pre-trains them.

Encoder: ``depth`` Conv-BN-GELU blocks on the image, the message (in ±1)
broadcast over the pixels and concatenated with those features and the
image, one more block, a 1x1 conv to 3 channels, tanh. It outputs the
watermark *residual* in ImageNet-normalised units; :class:`HiddenEmbedder`
scales and adds it.

Extractor ("decoder" in HiDDeN): ``depth`` Conv-BN-GELU blocks, one block to
``bits`` channels, global average pooling, Linear(bits, bits). Average
pooling makes it size-agnostic and crop-tolerant.

Submodule names follow the official checkpoints (``conv_bns``,
``after_concat_layer``, ``final_layer``; ``layers``, ``linear``; each block's
``layers.0`` conv and ``layers.1`` BatchNorm) so their state dicts load as
they are. Named constructors below, timm style.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ConvBNGELU(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout, eps=1e-3), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class HiddenEncoder(nn.Module):
    """(normalised image, message in ±1) -> residual in [-1, 1] (tanh)."""

    def __init__(self, bits: int = 48, depth: int = 4, channels: int = 64, tanh: bool = True):
        super().__init__()
        self.bits = bits
        self.conv_bns = nn.Sequential(ConvBNGELU(3, channels), *[ConvBNGELU(channels, channels) for _ in range(depth - 1)])
        self.after_concat_layer = ConvBNGELU(channels + 3 + bits, channels)
        self.final_layer = nn.Conv2d(channels, 3, kernel_size=1)
        self.tanh = tanh

    def forward(self, x: torch.Tensor, msgs: torch.Tensor) -> torch.Tensor:
        m = msgs[:, :, None, None].expand(-1, -1, x.shape[-2], x.shape[-1])
        h = self.after_concat_layer(torch.cat([m, self.conv_bns(x), x], dim=1))
        out = self.final_layer(h)
        return torch.tanh(out) if self.tanh else out


class CarrierEncoder(nn.Module):
    """(normalised image, message in ±1) -> residual in [-1, 1]: one image-dependent carrier per bit, signed by it.

    ``depth`` Conv-BN-GELU blocks on the image, then a 3x3 conv (on the features and the image) to ``bits`` x 3
    channels: the carriers ``c_k(x)``; the residual is ``tanh(sum_k m_k c_k(x) / sqrt(bits))``. HiDDeN's
    broadcast encoder concatenates the spatially constant message with the features, so a 3x3 conv sees the
    message as one constant per channel and the residual can carry it only through the GELU gates of one block
    (``channels`` of them, fewer than 48 bits in the ``cpu`` widths). Here the residual is linear in the message
    with a spatial pattern per bit that the extractor and the encoder shape together; in our one-thread probes
    its code emerges several times sooner (see the README).
    """

    def __init__(self, bits: int = 48, depth: int = 4, channels: int = 32):
        super().__init__()
        self.bits = bits
        self.conv_bns = nn.Sequential(ConvBNGELU(3, channels), *[ConvBNGELU(channels, channels) for _ in range(depth - 1)])
        self.carriers = nn.Conv2d(channels + 3, 3 * bits, 3, padding=1)

    def forward(self, x: torch.Tensor, msgs: torch.Tensor) -> torch.Tensor:
        c = self.carriers(torch.cat([self.conv_bns(x), x], dim=1)).unflatten(1, (self.bits, 3))
        return torch.tanh(torch.einsum("nkchw,nk->nchw", c, msgs) / self.bits ** 0.5)


class HiddenDecoder(nn.Module):
    """Normalised image -> ``bits`` logits (bit = logit > 0)."""

    def __init__(self, bits: int = 48, depth: int = 8, channels: int = 64):
        super().__init__()
        self.bits = bits
        blocks = [ConvBNGELU(3, channels), *[ConvBNGELU(channels, channels) for _ in range(depth - 1)],
                  ConvBNGELU(channels, bits), nn.AdaptiveAvgPool2d((1, 1))]
        self.layers = nn.Sequential(*blocks)
        self.linear = nn.Linear(bits, bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.layers(x).flatten(1))


@dataclasses.dataclass(frozen=True)
class HiddenArch:
    """What a pair of HiDDeN networks is built from (stored in model cards)."""

    bits: int = 48
    encoder_depth: int = 4
    encoder_channels: int = 64
    decoder_depth: int = 8
    decoder_channels: int = 64
    message: str = "broadcast"  # encoder: 'broadcast' (HiDDeN's, the paper's) or 'carriers' (CarrierEncoder)
    # conv padding of both networks: 'zeros' (the paper's) or 'circular'. Zero padding marks the border, and on
    # small training crops the pair builds its code on that position cue, which larger images do not have
    padding: str = "zeros"


#: named architectures; ``paper`` is the released 48-bit extractor's
ARCHS: dict[str, HiddenArch] = {
    "paper": HiddenArch(),
    # the paper's depths, a third of the width
    "small": HiddenArch(encoder_channels=32, decoder_channels=24),
    # the shipped default: a 3-block extractor (on one CPU core its code emerges several times sooner than
    # through 8 blocks) and a half-width encoder
    "cpu": HiddenArch(encoder_channels=32, decoder_depth=3, decoder_channels=32),
    # the CPU preset's (train_default --preset cpu): the 'cpu' widths with one carrier per bit (CarrierEncoder)
    "cpu_carriers": HiddenArch(encoder_channels=32, decoder_depth=3, decoder_channels=32, message="carriers"),
    # the CPU preset's: cpu_carriers with circular padding (no border cue on the 16-px training crops)
    "cpu_circular": HiddenArch(encoder_channels=32, decoder_depth=3, decoder_channels=32, message="carriers",
                               padding="circular"),
}


PADDINGS = ("zeros", "circular")


def set_padding(module: nn.Module, mode: str) -> nn.Module:
    """Every padded conv of ``module`` pads with ``mode`` (a runtime attribute of nn.Conv2d; weights unchanged)."""
    if mode not in PADDINGS:
        from inria.errors import InriaError

        raise InriaError(f"arch padding '{mode}' is not accepted", where="arch.padding", hint="accepted: " + ", ".join(PADDINGS))
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and any(p > 0 for p in m.padding):
            m.padding_mode = mode
    return module


def hidden_encoder(arch: HiddenArch) -> nn.Module:
    return set_padding(_hidden_encoder(arch), arch.padding)


def _hidden_encoder(arch: HiddenArch) -> nn.Module:
    if arch.message == "carriers":
        return CarrierEncoder(arch.bits, arch.encoder_depth, arch.encoder_channels)
    if arch.message != "broadcast":
        from inria.errors import InriaError

        raise InriaError(f"arch message '{arch.message}' is not accepted", where="arch.message",
                         hint="accepted: broadcast, carriers")
    return HiddenEncoder(arch.bits, arch.encoder_depth, arch.encoder_channels)


def hidden_decoder(arch: HiddenArch) -> HiddenDecoder:
    return set_padding(HiddenDecoder(arch.bits, arch.decoder_depth, arch.decoder_channels), arch.padding)


def set_bn_momentum(module: nn.Module, momentum: float) -> None:
    """The official recipe trains with BatchNorm momentum 0.01."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = momentum


def normalize(x: torch.Tensor) -> torch.Tensor:
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


class HiddenEmbedder(nn.Module):
    """Images in [0, 1] and bool/0-1 messages -> watermarked images in [0, 1].

    As in the official code the residual lives in ImageNet-normalised units:
    ``x_w = x + scaling_w * std * a_c * enc(normalize(x), 2m - 1)``, with
    per-channel factors ``a_c`` that put more of it in blue when
    ``scale_channels`` (the code's default; the paper's extractor was trained
    without it, as here by default).
    """

    def __init__(self, encoder: HiddenEncoder, scaling_w: float = 0.3, scale_channels: bool = False):
        super().__init__()
        self.encoder = encoder
        self.scaling_w = scaling_w
        a = torch.tensor([1 / 0.299, 1 / 0.587, 1 / 0.114]) / 4.6 if scale_channels else torch.ones(3)
        self.register_buffer("gain", (a * torch.tensor(IMAGENET_STD)).view(1, 3, 1, 1), persistent=False)

    def residual(self, x: torch.Tensor, msgs: torch.Tensor) -> torch.Tensor:
        return self.gain * self.encoder(normalize(x), 2 * msgs.float() - 1)

    def forward(self, x: torch.Tensor, msgs: torch.Tensor, scaling_w: float | None = None) -> torch.Tensor:
        s = self.scaling_w if scaling_w is None else scaling_w
        return (x + s * self.residual(x, msgs)).clamp(0, 1)


@torch.no_grad()
def looks_linear_init_(decoder: HiddenDecoder, scale_rest: float = 0.1) -> HiddenDecoder:
    """Initialise the extractor so the image passes through its blocks intact ("looks-linear" init).

    ``GELU(x) - GELU(-x) = x`` exactly, so if each block carries the image as
    channel pairs ``(x, -x)`` (BatchNorm keeps the pair structure), the next
    block can rebuild ``x`` with weights ``+1, -1`` on the centre tap. The
    first 6 channels do that, the others start small and random, and the
    last block (to ``bits`` channels) starts random: at initialisation the
    deep extractor is a one-layer bank of 3x3 filters followed by GELU and
    average pooling — local band energies — which training refines. Deep
    nets so initialised train like shallow ones (Balduzzi et al., 2017); a
    random initialisation scrambles the faint watermark residual through
    eight blocks and HiDDeN then needs far more steps.
    """
    blocks = [b for b in decoder.layers if isinstance(b, ConvBNGELU)]
    body, head = blocks[:-1], blocks[-1]
    for i, block in enumerate(body):
        conv = block.layers[0]
        cout, cin = conv.out_channels, conv.in_channels
        if cout < 6:
            return decoder
        conv.weight.mul_(scale_rest)
        conv.weight[:6].zero_()
        conv.bias.zero_()
        for c in range(3):
            if i == 0:
                conv.weight[c, c, 1, 1], conv.weight[c + 3, c, 1, 1] = 1.0, -1.0
            else:  # x = GELU(x) - GELU(-x), from the pair of the previous block
                conv.weight[c, c, 1, 1], conv.weight[c, c + 3, 1, 1] = 1.0, -1.0
                conv.weight[c + 3, c, 1, 1], conv.weight[c + 3, c + 3, 1, 1] = -1.0, 1.0
        del cin
    del head
    return decoder

"""Perceptual and pixel losses on images in [0, 1] (see :mod:`inria.losses`).

Watson's perceptual model (Watson 1993, made differentiable by Czolbe et al.,
NeurIPS 2020) compares two images in a transformed domain where each
coefficient has a *sensitivity* ``t``, raised by luminance masking (brighter
blocks hide more) and contrast masking (busy blocks hide more); differences
are divided by that slack and pooled with a Minkowski norm. The DFT variant
compares amplitudes and phases of 8x8 block Fourier transforms, which makes
it tolerant to small shifts; the block grid is shifted at random in training
mode so that no grid artifact can hide in the block boundaries.

This module is written from the papers' equations; the parameter names of
:class:`WatsonVGG` and :class:`LPIPS` follow the released state dicts so
those files load from a local path (never downloaded here).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InriaError

EPS = 1e-10


# -- helpers -----------------------------------------------------------------------

def _check_pair(input: torch.Tensor, target: torch.Tensor, where: str) -> None:
    if input.shape != target.shape or input.dim() != 4 or input.shape[1] != 3:
        raise InriaError(f"expects two (N, 3, H, W) tensors of one shape, got {tuple(input.shape)} and "
                         f"{tuple(target.shape)}", where=where)


def _smooth_max(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A differentiable max: each term weighted by its softmax share."""
    wa = torch.sigmoid(a - b)
    return a * wa + b * (1 - wa)


def _rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 0.5 + (b - y) * 0.564
    cr = 0.5 + (r - y) * 0.713
    return torch.stack([y, cb, cr], dim=1)


def load_state_dict(path: str | Path, where: str) -> dict[str, torch.Tensor]:
    """A tensor state dict from a local ``.pth``/``.pt`` (weights only) or ``.safetensors`` file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InriaError(f"weights file not found: {p}", where=where, hint="give a local path; nothing is downloaded")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle with code, wrong format
        raise InriaError(f"cannot read {p.name} as a weights-only state dict ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:120] if str(e) else 'corrupt'})", where=where) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InriaError(f"{p.name} is not a state dict of tensors", where=where)
    return state


def _load_into(module: nn.Module, state: dict[str, torch.Tensor], where: str, path: str | Path) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise InriaError(f"{Path(path).name} does not fit: {len(missing)} missing keys "
                         f"({', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}), {len(unexpected)} unexpected "
                         f"({', '.join(unexpected[:3])}{'...' if len(unexpected) > 3 else ''})", where=where)
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise InriaError(f"{Path(path).name}: '{k}' has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}",
                             where=where)
    module.load_state_dict(state)


# -- pixel losses ---------------------------------------------------------------------

class MSE(nn.Module):
    """Mean squared error per image, averaged over the batch."""

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(input, target, "mse")
        return ((input - target) ** 2).flatten(1).mean(1).mean()


class SSIM(nn.Module):
    """1 - SSIM per image (pytorch-msssim, data range 1); the window shrinks to fit small images."""

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from pytorch_msssim import ssim

        _check_pair(input, target, "ssim")
        side = min(input.shape[-2:])
        win = 11 if side >= 11 else max(1, side if side % 2 else side - 1)
        vals = ssim(input.float(), target.float(), data_range=1.0, size_average=False, win_size=win)
        return (1 - vals).mean()


# -- Watson-DFT ------------------------------------------------------------------------

class WatsonDFT(nn.Module):
    """Watson's distance on 8x8 block DFTs of the Y, Cb, Cr channels; no learned weights needed.

    Parameters are the model's initial values in Czolbe et al.: uniform
    sensitivity ``t = 1``, luminance-masking exponent ``alpha = 0.1``,
    contrast-masking exponent ``w = 0.2``, Minkowski pooling ``beta = 1``,
    phase weight ``exp(-2)`` (zero on the real-valued DC/Nyquist bins).
    Per image: the pooled amplitude term plus the weighted angular phase
    differences, summed over blocks and channels; the batch mean is returned.

    ``phase_masking`` (our addition, on by default): each coefficient's phase
    difference is weighted by its visibility ``a / (a + s)`` (``a`` its
    amplitude in the reference, ``s`` its masked threshold). Czolbe et al.
    *learn* per-frequency phase weights; with the untrained uniform weight
    the phases of near-zero coefficients (flat areas, where any change turns
    them at random) would dominate the distance. ``phase_masking=False``
    gives the unmodified initial model.
    """

    def __init__(self, block: int = 8, alpha: float = 0.1, w: float = 0.2, beta: float = 1.0,
                 phase_weight: float = math.exp(-2), channel_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
                 random_shift: bool = True, phase_masking: bool = True):
        super().__init__()
        if block < 2 or block % 2:
            raise InriaError(f"block {block} must be an even size >= 2", where="watson-dft.block")
        self.block = block
        self.alpha, self.w, self.beta = float(alpha), float(w), float(beta)
        self.random_shift = random_shift
        self.phase_masking = phase_masking
        fw = block // 2 + 1
        self.register_buffer("t", torch.ones(block, fw), persistent=False)
        phase = torch.full((block, fw), float(phase_weight))
        for i, j in ((0, 0), (0, fw - 1), (block // 2, 0), (block // 2, fw - 1)):
            phase[i, j] = 0.0  # these bins of a real signal's DFT are real: no phase
        self.register_buffer("phase_w", phase, persistent=False)
        self.register_buffer("channel_w", torch.tensor(channel_weights, dtype=torch.float32), persistent=False)

    def _blocks(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        b = self.block
        ph, pw = (-h) % b, (-w) % b
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
            h, w = h + ph, w + pw
        x = x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 2, 4, 3, 5)
        return torch.fft.rfft2(x.float(), norm="forward")  # (N, C, nh, nw, b, b//2+1), coefficient ~ pixel scale

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(input, target, "watson-dft")
        x, y = _rgb_to_ycbcr(input), _rgb_to_ycbcr(target)
        if self.random_shift and self.training:
            dy, dx = (int(v) for v in torch.randint(0, self.block, (2,)))
            x, y = torch.roll(x, (dy, dx), (2, 3)), torch.roll(y, (dy, dx), (2, 3))
        c1, c0 = self._blocks(x), self._blocks(y)
        a0 = torch.sqrt(c0.real ** 2 + c0.imag ** 2 + EPS)
        a1 = torch.sqrt(c1.real ** 2 + c1.imag ** 2 + EPS)
        # luminance masking: sensitivity grows with the block's DC relative to the image's mean DC
        dc = a0[..., 0, 0]
        mean_dc = dc.mean(dim=(2, 3), keepdim=True)
        t_l = self.t * ((dc + EPS) / (mean_dc + EPS)).pow(self.alpha)[..., None, None]
        # contrast masking: a coefficient's own amplitude raises its threshold
        s = _smooth_max(t_l, (a0 + EPS).pow(self.w) * t_l.pow(1 - self.w))
        amp = ((a0 - a1).abs() / s + EPS).pow(self.beta).sum(dim=(2, 3, 4, 5)).pow(1 / self.beta)  # (N, C)
        # phase: angle between the two coefficients, from their normalised inner product
        # (+EPS: two vanishing coefficients count as in phase, not as orthogonal)
        inner = ((c0 * c1.conj()).real + EPS) / (a0 * a1)
        angle = torch.acos(inner.clamp(-1 + 1e-6, 1 - 1e-6)) - math.acos(1 - 1e-6)  # 0 for equal phases
        if self.phase_masking:
            angle = angle * (a0 / (a0 + s))
        phase = (angle * self.phase_w).sum(dim=(2, 3, 4, 5))  # (N, C)
        per_image = ((amp + phase) * self.channel_w).sum(1)
        return per_image.mean()


# -- feature-based losses (weights from a local path) ----------------------------------------

_VGG_SLICES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))  # ends after relu1_2, 2_2, 3_3, 4_3, 5_3


def _vgg_slices() -> nn.ModuleList:
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["D"], batch_norm=False)  # VGG-16's trunk, without building its 120M-weight head
    slices = nn.ModuleList()
    for lo, hi in _VGG_SLICES:
        seq = nn.Sequential()
        for i in range(lo, hi):
            seq.add_module(str(i), features[i])
        slices.append(seq)
    for p in slices.parameters():
        p.requires_grad_(False)
    return slices


def _unit(t: torch.Tensor) -> torch.Tensor:
    return t / (t.pow(2).sum(1, keepdim=True).sqrt() + EPS)


class _VggFeatures(nn.Module):
    """VGG-16 features at five depths; submodules named ``slice1`` ... ``slice5`` with torchvision's indices."""

    def __init__(self):
        super().__init__()
        for i, s in enumerate(_vgg_slices(), 1):
            self.add_module(f"slice{i}", s)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i in range(1, 6):
            x = getattr(self, f"slice{i}")(x)
            out.append(x)
        return out


class WatsonVGG(nn.Module):
    """Watson's model on unit-normalised VGG-16 features (Czolbe et al.); weights from ``path``.

    ``path``: a state dict with keys ``vgg.slice1.0.weight`` ..., ``shift``,
    ``scale``, ``t0_tild`` ... ``t4_tild``, ``w0_tild`` ... ``w4_tild``,
    ``beta`` — the layout of PerceptualSimilarity's ``rgb_watson_vgg_trial0.pth``.
    """

    channels = (64, 128, 256, 512, 512)

    def __init__(self, path: str | Path):
        super().__init__()
        state = load_state_dict(path, "watson-vgg.weights")  # fail fast, before building the network
        self.vgg = _VggFeatures()
        self.shift = nn.Parameter(torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), requires_grad=False)
        self.scale = nn.Parameter(torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), requires_grad=False)
        for i, c in enumerate(self.channels):
            setattr(self, f"t{i}_tild", nn.Parameter(torch.zeros(c), requires_grad=False))
            setattr(self, f"w{i}_tild", nn.Parameter(torch.tensor(math.log(0.2 / 0.8)), requires_grad=False))
        self.beta = nn.Parameter(torch.tensor(1.0), requires_grad=False)
        _load_into(self, state, "watson-vgg.weights", path)
        self.requires_grad_(False)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(input, target, "watson-vgg")
        f1 = self.vgg((input - self.shift) / self.scale)
        f0 = self.vgg((target - self.shift) / self.scale)
        total = 0.0
        for i, (a, b) in enumerate(zip(f0, f1)):
            a, b = _unit(a), _unit(b)
            t = torch.exp(getattr(self, f"t{i}_tild")).view(1, -1, 1, 1)
            w = torch.sigmoid(getattr(self, f"w{i}_tild"))
            s = _smooth_max(t.expand_as(a), (a.abs() + EPS).pow(w) * t.pow(1 - w))
            d = ((a - b).abs() / s + EPS).pow(self.beta).sum(dim=(1, 2, 3)) / (a.shape[-1] * a.shape[-2])
            total = total + d
        return total.pow(1 / self.beta).mean()


class LPIPS(nn.Module):
    """LPIPS with a VGG-16 trunk (Zhang et al. 2018).

    ``weights``: the linear layers (keys ``lin0.model.1.weight`` ...
    ``lin4.model.1.weight``, the lpips package's ``weights/v0.1/vgg.pth``);
    ``backbone_weights``: a torchvision VGG-16 state dict (``features.N.*``
    keys; the classifier is ignored).
    """

    def __init__(self, weights: str | Path, backbone_weights: str | Path):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        trunk = load_state_dict(backbone_weights, "lpips.backbone_weights")
        lin_state = load_state_dict(weights, "lpips.weights")
        self.net = _VggFeatures()
        trunk = {k.removeprefix("features."): v for k, v in trunk.items() if not k.startswith("classifier.")}
        mapped = {}
        for i, (lo, hi) in enumerate(_VGG_SLICES, 1):
            for k, v in trunk.items():
                idx = int(k.split(".")[0]) if k.split(".")[0].isdigit() else -1
                if lo <= idx < hi:
                    mapped[f"slice{i}.{k}"] = v
        _load_into(self.net, mapped, "lpips.backbone_weights", backbone_weights)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in WatsonVGG.channels)
        mapped = {}
        for k, v in lin_state.items():
            parts = k.split(".")  # lin{i}.model.1.weight
            if len(parts) >= 2 and parts[0].startswith("lin") and parts[0][3:].isdigit():
                mapped[f"{parts[0][3:]}.weight"] = v
        _load_into(self.lins, mapped, "lpips.weights", weights)
        self.requires_grad_(False)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(input, target, "lpips")
        f1 = self.net((2 * input - 1 - self.shift) / self.scale)
        f0 = self.net((2 * target - 1 - self.shift) / self.scale)
        total = 0.0
        for lin, a, b in zip(self.lins, f0, f1):
            total = total + lin((_unit(a) - _unit(b)) ** 2).mean(dim=(1, 2, 3))
        return total.mean()


# -- factory ------------------------------------------------------------------------------------

LOSSES: dict[str, str] = {
    "watson-dft": "Watson's model on block DFTs (no weights needed)",
    "mse": "mean squared error",
    "ssim": "1 - SSIM",
    "watson-vgg": "Watson's model on VGG features (weights= a local path)",
    "lpips": "LPIPS-VGG (weights= linear layers, backbone_weights= VGG-16, local paths)",
}


def perceptual_loss(name: str, weights: str | Path | None = None, backbone_weights: str | Path | None = None,
                    **kw) -> nn.Module:
    """Build loss ``name`` (see :data:`LOSSES`); extra keywords go to the loss class."""
    from ..errors import did_you_mean

    key = str(name).lower().replace("_", "-")
    builders: dict[str, Callable[[], nn.Module]] = {
        "watson-dft": lambda: WatsonDFT(**kw),
        "mse": lambda: MSE(),
        "ssim": lambda: SSIM(),
        "watson-vgg": lambda: WatsonVGG(weights),
        "lpips": lambda: LPIPS(weights, backbone_weights),
    }
    if key not in builders:
        raise InriaError(f"unknown loss '{name}'", where="loss", hint=did_you_mean(key, builders))
    if key in ("watson-vgg", "lpips") and weights is None:
        raise InriaError(f"'{key}' needs its weights as a local path (weights=...)", where="loss",
                         hint="or use 'watson-dft', which needs none")
    if key == "lpips" and backbone_weights is None:
        raise InriaError("'lpips' needs a torchvision VGG-16 state dict as a local path (backbone_weights=...)",
                         where="loss")
    return builders[key]()

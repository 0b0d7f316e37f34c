"""The watermark extractor as detection sees it: images in [0, 1] -> logits.

``Extractor.net`` takes ImageNet-normalised images, as the released
TorchScript extractor does, so our own extractors export to the same format
(``nn.Sequential(HiddenDecoder, Linear)`` scripted). Bits are ``logit > 0``.

PCA whitening (as Stable Signature does before fine-tuning a decoder):
decode a set of images, take the outputs' mean ``mu`` and covariance
``V diag(lam) V^T``, append ``Linear(W = s lam^(-1/2) V^T, b = -W mu)``.
Whitened logits are centred and decorrelated, so on unmarked images the bits
are closer to the independent fair coins the binomial test assumes. We set
``s`` so each logit has a standard deviation of 0.1 on the whitening set:
the order of the released extractor's (its code uses the *unnormalised*
covariance of its N images, which gives sqrt(k / N)), so the paper's
temperature of 10 in the decoder-tuning loss suits both.

TorchScript files are programs: :func:`load_torchscript` loads only a path
the user names, never a downloaded or default one.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from inria.errors import InriaError

from .hidden import HiddenDecoder, normalize

#: smallest image side the extractor accepts (below it the 3x3 stack sees mostly padding)
MIN_SIDE = 16
#: standard deviation of each whitened logit on the whitening images
WHITENED_STD = 0.1


class Extractor(nn.Module):
    def __init__(self, net: nn.Module, bits: int):
        super().__init__()
        self.net = net
        self.bits = int(bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(normalize(x))

    @property
    def whitened(self) -> bool:
        return isinstance(self.net, nn.Sequential) and len(self.net) == 2 and isinstance(self.net[1], nn.Linear)

    @torch.no_grad()
    def logits(self, images, batch_size: int = 16) -> torch.Tensor:
        """Logits of a batch or a list of (3, H, W) images of any sizes (eval mode, no grad)."""
        was = self.training
        self.eval()
        try:
            if isinstance(images, torch.Tensor) and images.dim() == 4:
                outs = [self(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
                return torch.cat(outs) if outs else torch.zeros(0, self.bits)
            return torch.cat([self(im[None]) for im in images]) if len(images) else torch.zeros(0, self.bits)
        finally:
            self.train(was)


def hidden_extractor(decoder: HiddenDecoder, whiten: nn.Linear | None = None) -> Extractor:
    net = decoder if whiten is None else nn.Sequential(decoder, whiten)
    return Extractor(net, decoder.bits)


@torch.no_grad()
def whitening(logits: torch.Tensor, std: float = WHITENED_STD, ridge: float = 1e-3) -> nn.Linear:
    """The PCA-whitening layer for these raw extractor outputs (N, k), N > k.

    ``ridge`` adds ``ridge x mean eigenvalue`` to every eigenvalue before the
    inverse square root, so an extractor whose outputs span fewer than k
    directions (a briefly trained one) does not get its noise directions
    amplified a million-fold; 0 gives the paper's exact whitening.
    """
    n, k = logits.shape
    if n <= k:
        raise InriaError(f"whitening {k} outputs needs more than {k} images, got {n}", where="whitening")
    y = logits.double()
    mean = y.mean(0, keepdim=True)
    cov = (y - mean).T @ (y - mean) / (n - 1)
    lam, vec = torch.linalg.eigh(cov)
    lam = lam.clamp_min(0) + ridge * lam.clamp_min(0).mean() + 1e-12
    weight = std * torch.diag(lam.rsqrt()) @ vec.T
    layer = nn.Linear(k, k)
    layer.weight.copy_(weight.float())
    layer.bias.copy_((-(mean @ weight.T)).squeeze(0).float())
    return layer


@torch.no_grad()
def whiten(decoder: HiddenDecoder, images: torch.Tensor, batch_size: int = 16) -> Extractor:
    """Whiten ``decoder`` on ``images`` (N, 3, H, W in [0, 1]); returns the whitened extractor."""
    raw = hidden_extractor(decoder)
    return hidden_extractor(decoder, whitening(raw.logits(images, batch_size)))


def export_torchscript(extractor: Extractor, path: str | Path) -> Path:
    """Save ``extractor.net`` as TorchScript (normalised images -> logits), the released format."""
    path = Path(path)
    net = extractor.net.eval()
    scripted = torch.jit.script(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(scripted, str(path))
    return path


def load_torchscript(path: str | Path, bits: int | None = None, where: str = "extractor") -> Extractor:
    """Load a TorchScript extractor (e.g. ``dec_48b_whit.torchscript.pt``) from a local path the user named.

    TorchScript runs code from the file: only load files you trust. ``bits``
    (when given) must match the number of logits the module outputs.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InriaError(f"TorchScript extractor not found: {p}", where=where)
    try:
        net = torch.jit.load(str(p), map_location="cpu")
    except Exception as e:
        raise InriaError(f"{p.name} is not a readable TorchScript module ({type(e).__name__}); corrupt or truncated?",
                         where=where) from None
    net.eval()
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, 3, 64, 64))
    except Exception as e:
        raise InriaError(f"{p.name} does not map a (1, 3, 64, 64) image to logits ({type(e).__name__})",
                         where=where) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        raise InriaError(f"{p.name} outputs {getattr(out, 'shape', type(out).__name__)}, expected (1, bits) logits",
                         where=where)
    k = int(out.shape[1])
    if bits is not None and k != bits:
        raise InriaError(f"{p.name} outputs {k} bits but the config says bits={bits}", where=where,
                         hint=f"set bits: {k}, or load the extractor trained for {bits} bits")
    return Extractor(net, k)

"""The normalisation layer: PCA whitening of the backbone's features, in the official file format.

The official ``out2048_*.pth`` files hold ``{'weight': (D_out, D), 'bias':
(D_out,)}`` of a ``Linear(D, D_out)`` fitted as ``build_normalization_layer.py``
does (eigendecomposition of the un-normalised covariance, ``W = diag(e^-1/2)
V^T``, ``b = -W mean``); on load both are multiplied by D, as the official
loader does, so the loss weights and margins keep their published scale.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from inria.errors import InriaError

ACCEPTED = "a {'weight': (D, D), 'bias': (D,)} state dict (.pth as the official out2048_*.pth, or .safetensors)"


def fit_whitening(features: torch.Tensor, dim_out: int | None = None,
                  shrinkage: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) whitening ``features`` (N, D); the ``dim_out`` leading principal components (default D).

    ``shrinkage`` > 0 divides each component by ``sqrt(e + shrinkage * e_max)`` instead of ``sqrt(e)``: the
    official whitening (0) blows the faintest components up to unit variance, and in a collapsed feature space
    those are the ones an attack changes most; a floor keeps D (and so the hypercone threshold) while leaving them
    small. The detector's false-positive rate does not depend on it (the carrier is uniform on the sphere).
    """
    f = torch.as_tensor(features, dtype=torch.float64)
    if f.dim() != 2 or len(f) < 2:
        raise InriaError(f"whitening needs features (N >= 2, D), got {tuple(f.shape)}", where="normlayer fit")
    d = f.shape[1]
    dim_out = d if dim_out is None else int(dim_out)
    if not 0.0 <= shrinkage < float("inf"):
        raise InriaError(f"shrinkage {shrinkage} must be >= 0", where="normlayer shrinkage")
    if not 1 <= dim_out <= d:
        raise InriaError(f"dim_out {dim_out} outside [1, {d}]", where="normlayer dim_out")
    mean = f.mean(0, keepdim=True)
    centered = f - mean
    e, v = torch.linalg.eigh(centered.t() @ centered)  # ascending, as torch.symeig was
    e = e[-dim_out:].clamp_min(e[-1] * 1e-9)  # fewer images than dimensions: keep the null space finite
    v = v[:, -dim_out:]
    e = e + shrinkage * e[-1]
    weight = torch.diag(e.rsqrt()) @ v.t()
    bias = -(mean @ weight.t()).squeeze(0)
    return weight.float(), bias.float()


def save_normlayer(path: str | Path, weight: torch.Tensor, bias: torch.Tensor) -> Path:
    """Write (weight, bias) unscaled, as the official files are: safetensors, or .pth through torch.save."""
    path = Path(path)
    tensors = {"weight": weight.detach().contiguous().cpu(), "bias": bias.detach().contiguous().cpu()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(tensors, str(path))
    else:
        torch.save(tensors, str(path))
    return path


def load_normlayer(path: str | Path, dim: int, scale_by_dim: bool = True) -> nn.Linear:
    """A ``Linear(dim, D_out)`` from an official or own file; ``dim`` is the backbone's feature dimension."""
    from inria.modeldir import read_state_dict

    path = Path(path).expanduser()
    if path.suffix == ".safetensors":
        if not path.is_file():
            raise InriaError("normlayer not found", where=str(path), hint=f"expected {ACCEPTED}")
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except Exception as e:
            raise InriaError(f"cannot read safetensors ({str(e).splitlines()[0][:120]})", where=str(path),
                             hint=f"expected {ACCEPTED}") from None
    else:
        state = read_state_dict(path, hint=ACCEPTED)
    w, b = state.get("weight"), state.get("bias")
    if w is None or b is None or w.dim() != 2 or b.shape != (w.shape[0],):
        raise InriaError(f"not a linear layer: keys {sorted(state)[:4]}", where=str(path), hint=f"expected {ACCEPTED}")
    if w.shape[1] != dim:
        raise InriaError(f"normlayer takes {w.shape[1]}-d features but the backbone gives {dim}-d", where=str(path),
                         hint=f"fit one for this backbone (normlayer: fit) or pass a ({dim}, {dim}) layer")
    d = w.shape[1] if scale_by_dim else 1
    layer = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(d * w.float())
        layer.bias.copy_(d * b.float())
    layer.requires_grad_(False)
    return layer

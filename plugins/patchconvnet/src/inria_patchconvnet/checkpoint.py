"""PatchConvNet weights from a local path: the official deit-repo state dicts and model directories.

- The official ``patchconvnet_models.py`` checkpoints (``S60``, ``S120``,
  ``B60``, ``B120`` ...): a ``torch.save`` pickle with the weights at the top
  or under ``"model"``, read with ``torch.load(weights_only=True)``
  (:func:`inria.modeldir.read_state_dict`). The model's parameter names are
  the official ones, so nothing is renamed; a DDP ``module.`` prefix is dropped.
- A model directory written by :meth:`PatchConvNetBackbone.save`.

A checkpoint of another architecture (other depth or width, a ViT, ...) is a
one-line error giving how many keys are missing / unexpected, the first of
each, and the file; a classifier of another class count is left
re-initialised with one warning (fine-tuning to a new label set).
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from inria.errors import InriaError

ACCEPTED = "a local official PatchConvNet .pth (S60/S120/B60/B120 of the deit repo), a .safetensors state dict " \
           "or a model directory"
_HEAD = ("head.weight", "head.bias")


class HeadReinitialised(UserWarning):
    """The checkpoint's classifier has another number of classes (or none); the head was re-initialised."""


def read(path: str | Path) -> dict[str, torch.Tensor]:
    from inria.modeldir import read_state_dict

    state = read_state_dict(path, hint=f"pass {ACCEPTED}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def describe(state: Mapping[str, torch.Tensor]) -> str:
    """'60 columns, width 384' (for error messages)."""
    cols = {int(m.group(1)) for k in state if (m := re.match(r"^blocks\.(\d+)\.", k))}
    width = state["cls_token"].shape[-1] if "cls_token" in state else "?"
    return f"{len(cols)} columns, width {width}"


def adapt(state: Mapping[str, torch.Tensor], model: torch.nn.Module, where: str) -> dict[str, torch.Tensor]:
    """Check ``state`` against ``model``; keep the model's own head when the checkpoint's has another shape."""
    state, target = dict(state), model.state_dict()
    missing = [k for k in target if k not in state and k not in _HEAD]
    unexpected = [k for k in state if k not in target]
    if missing or unexpected:
        parts = [f"{len(missing)} missing ({_few(missing)})"] if missing else []
        parts += [f"{len(unexpected)} unexpected ({_few(unexpected)})"] if unexpected else []
        raise InriaError(f"not this PatchConvNet ({describe(state)} in the file, {describe(target)} in the model): "
                         + "; ".join(parts) + " keys", where=where,
                         hint="pick the checkpoint's constructor (patchconvnet_s60 ...) or set depth/embed_dim")
    head = [k for k in _HEAD if k in target]
    if head and any(k not in state or state[k].shape != target[k].shape for k in head):
        found = tuple(state["head.weight"].shape) if "head.weight" in state else "none"
        warnings.warn(f"{where}: checkpoint head {found}, the model's {tuple(target['head.weight'].shape)}: "
                      "classifier re-initialised", HeadReinitialised, stacklevel=3)
        state.update({k: target[k] for k in head})
    wrong = [k for k in target if state[k].shape != target[k].shape]
    if wrong:
        raise InriaError(f"{len(wrong)} tensors have another shape, first {wrong[0]}: file "
                         f"{tuple(state[wrong[0]].shape)}, model {tuple(target[wrong[0]].shape)}", where=where,
                         hint="patch_size, mlp_ratio_pool or embed_dim differ from the checkpoint's")
    return state


def load_into(model: torch.nn.Module, source: str | Path | Mapping[str, torch.Tensor], where: str | None = None) -> None:
    """Read (if a path), check and load weights into ``model`` (a :class:`PatchConvNet`)."""
    if isinstance(source, Mapping):
        state, where = dict(source), where or "state dict"
    else:
        state, where = read(source), where or str(source)
    with torch.no_grad():
        model.load_state_dict(adapt(state, model, where), strict=True)


def _few(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")

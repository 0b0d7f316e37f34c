"""Reading parallel-ViT weights: the official deit files, timm state dicts, model directories.

Accepted, from a local path only (nothing is downloaded):

- the official ``models_v2.py`` layout (``deit_small_patch16_18x2_LS`` ...;
  weights at the top or under ``"model"``): branch ``j`` of block ``i`` is
  ``blocks.i.{norm1, attn, gamma_1, norm2, mlp, gamma_2}`` for ``j = 0`` and
  ``blocks.i.{norm1j, attnj, gamma_1_j, norm2j, mlpj, gamma_2_j}`` after
  (``norm11``, ``attn1``, ``gamma_1_1``, ``norm21``, ``mlp1``, ``gamma_2_1``);
  sequential models (``*_36_LS``) have ``gamma_1`` / ``gamma_2``; the hMLP
  stem is ``patch_embed.proj.{0,1,3,4,6,7}``;
- timm's layout (``vit_small_patch16_18x2_224``: ``blocks.i.attns.j.{norm,
  attn, ls.gamma}``, ``blocks.i.ffns.j.{norm, mlp, ls.gamma}``; ``Block``:
  ``ls1.gamma`` / ``ls2.gamma``), whose position embedding may carry the
  class token's slot (timm's default ``no_embed_class=False``): that slot is
  folded into the class token, which gives the same outputs;
- a model directory written by :meth:`ThreeThingsBackbone.save`.

The model's own layout is timm's. Pickles are read with
``torch.load(weights_only=True)``. A checkpoint of another architecture
(other depth, branch count, width, stem) or of no ViT at all is a one-line
error saying what it holds; a position embedding of another grid is
resampled (timm's ``resample_abs_pos_embed``); a classifier of another class
count is left re-initialised with one warning.
"""
from __future__ import annotations

import argparse
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from inria.errors import InriaError

#: an official block key: norm1/norm2/attn/mlp with a branch number, or gamma_1/gamma_2 with _<branch>
_OFFICIAL = re.compile(r"^blocks\.(\d+)\.(?:(norm1|norm2|attn|mlp)(\d*)|gamma_([12])(?:_(\d+))?)(\..+)?$")
_BLOCK = re.compile(r"^blocks\.(\d+)\.")


class HeadReinitialised(UserWarning):
    """The checkpoint's classifier has another number of classes (or none); the head was re-initialised."""


def read(path: str | Path) -> dict[str, torch.Tensor]:
    """The raw tensors of a ``.pth``/``.pt``/``.bin``/``.safetensors`` file or a model directory."""
    from inria.modeldir import load_weights

    path = Path(path).expanduser()
    if path.is_dir() or path.suffix == ".safetensors":
        return load_weights(path)
    if not path.is_file():
        raise InriaError("checkpoint not found", where=str(path),
                         hint="a local official deit file, a timm state dict (.pth/.safetensors) or a model directory")
    try:  # argparse.Namespace: the official training checkpoints keep their 'args' in one
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # refused globals, truncated zip, not a torch file
        text = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise InriaError(f"cannot read the checkpoint with torch.load(weights_only=True) ({text})", where=str(path),
                         hint="a torch.save file of tensors, or safetensors; re-save a trusted file's state_dict") from None
    if isinstance(obj, Mapping):
        obj = next((obj[k] for k in ("model", "state_dict") if isinstance(obj.get(k), Mapping)), obj)
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InriaError(f"not a state dict of tensors (found {type(obj).__name__})", where=str(path),
                         hint="expected {name: tensor} or {'model': {name: tensor}}")
    return {str(k): v for k, v in obj.items()}


def layout(state: Mapping[str, torch.Tensor]) -> str:
    """'timm' or 'official' (raises for a state dict that is not a ViT's)."""
    keys = list(state)
    if not any(_BLOCK.match(k) for k in keys) or "pos_embed" not in state:
        raise InriaError(f"not a ViT checkpoint: no blocks.<i>.* or no pos_embed (keys: {_few(keys)})",
                         hint="expected an official deit models_v2 file, a timm VisionTransformer state dict "
                              "or a model directory")
    if any(re.match(r"^blocks\.\d+\.(attns|ffns|ls[12])\.", k) for k in keys):
        return "timm"
    return "official"


def official_to_timm(state: Mapping[str, torch.Tensor], parallel: int) -> dict[str, torch.Tensor]:
    """Official names -> timm's, for a model with ``parallel`` branches per block (1 = sequential ``Block``)."""
    out = {}
    for key, value in state.items():
        m = _OFFICIAL.match(key)
        if not m:
            out[key] = value
            continue
        block, name, digits, gamma, gamma_j, rest = m.groups()
        rest = rest or ""
        if gamma:  # gamma_1 / gamma_1_1 -> LayerScale of branch j
            j, kind = int(gamma_j or 0), "attn" if gamma == "1" else "mlp"
            leaf = ".ls.gamma" if parallel > 1 else f".ls{gamma}.gamma"
        else:
            j = int(digits or 0)
            kind = "attn" if name in ("norm1", "attn") else "mlp"
            leaf = ("." + ("norm" if name.startswith("norm") else name) + rest) if parallel > 1 else ("." + name + rest)
        if parallel > 1:
            out[f"blocks.{block}.{'attns' if kind == 'attn' else 'ffns'}.{j}{leaf}"] = value
        elif j:  # a branch beyond the first in a sequential model: keep it so the check names it
            out[key] = value
        else:
            out[f"blocks.{block}{leaf}"] = value
    return out


def describe(state: Mapping[str, torch.Tensor]) -> str:
    """'18 blocks x 2 branches, width 384' for a timm-layout state dict (for error messages)."""
    blocks = {int(m.group(1)) for k in state if (m := _BLOCK.match(k))}
    branches = {int(m.group(1)) for k in state if (m := re.match(r"^blocks\.\d+\.attns\.(\d+)\.", k))}
    width = state["pos_embed"].shape[-1] if "pos_embed" in state else "?"
    stem = "hMLP" if "patch_embed.proj.0.weight" in state else "linear"
    return f"{len(blocks)} blocks x {max(branches) + 1 if branches else 1} branches, width {width}, {stem} stem"


def adapt(state: Mapping[str, torch.Tensor], model, where: str) -> dict[str, torch.Tensor]:
    """Rename to timm's layout, check against ``model``, fold/resample pos_embed, drop a head of other classes."""
    from timm.layers import resample_abs_pos_embed

    state = {k.removeprefix("module."): v for k, v in state.items()}
    if layout(state) == "official":
        state = official_to_timm(state, model.parallel)
    target = model.state_dict()
    pos, want = state["pos_embed"], target["pos_embed"]
    grid = tuple(model.patch_embed.grid_size)
    if pos.dim() != 3 or pos.shape[-1] != want.shape[-1]:
        raise InriaError(f"holds a ViT of another width ({describe(state)}); the model is "
                         f"{describe(target)}", where=where, hint="pick the matching constructor or embed_dim")
    side = int(round((pos.shape[1] - 1) ** 0.5))
    if pos.shape[1] != want.shape[1] and side * side == pos.shape[1] - 1 and "cls_token" in state:
        # timm's no_embed_class=False: the class token's position embedding is a constant added to it
        state["cls_token"] = state["cls_token"] + pos[:, :1]
        pos = pos[:, 1:]
    if pos.shape[1] != want.shape[1]:
        side = int(round(pos.shape[1] ** 0.5))
        if side * side != pos.shape[1]:
            raise InriaError(f"pos_embed has {pos.shape[1]} positions, not a square grid", where=where)
        pos = resample_abs_pos_embed(pos, new_size=list(grid), old_size=[side, side], num_prefix_tokens=0)
    state["pos_embed"] = pos
    missing = [k for k in target if k not in state and not k.startswith("head.")]
    unexpected = [k for k in state if k not in target]
    if missing or unexpected:
        parts = [f"{len(missing)} missing ({_few(missing)})"] if missing else []
        parts += [f"{len(unexpected)} unexpected ({_few(unexpected)})"] if unexpected else []
        raise InriaError(f"holds another architecture ({describe(state)}) than the model ({describe(target)}): "
                         + "; ".join(parts) + " keys", where=where,
                         hint="set depth/parallel/stem/layer_scale_init to the checkpoint's, or pick its constructor")
    head = [k for k in ("head.weight", "head.bias") if k in target]
    if head and (any(k not in state for k in head) or state[head[0]].shape != target[head[0]].shape):
        found = tuple(state["head.weight"].shape) if "head.weight" in state else "none"
        warnings.warn(f"{where}: checkpoint head {found}, the model's {tuple(target['head.weight'].shape)}: "
                      f"classifier re-initialised", HeadReinitialised, stacklevel=3)
        state.update({k: target[k] for k in head})
    wrong = [k for k in target if state[k].shape != target[k].shape]
    if wrong:
        raise InriaError(f"{len(wrong)} tensors have another shape, first {wrong[0]}: checkpoint "
                         f"{tuple(state[wrong[0]].shape)}, model {tuple(target[wrong[0]].shape)}", where=where,
                         hint="patch_size, mlp_ratio or embed_dim differ from the checkpoint's")
    return state


def load_into(model, source: str | Path | Mapping[str, torch.Tensor], where: str | None = None) -> None:
    """Read (if a path), check, adapt and load weights into ``model`` (a ThreeThingsViT)."""
    if isinstance(source, Mapping):
        state, where = dict(source), where or "state dict"
    else:
        state, where = read(source), where or str(source)
    state = adapt(state, model, where)
    with torch.no_grad():
        model.load_state_dict(state, strict=True)


def _few(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")

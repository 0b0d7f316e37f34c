"""Reading DeiT III weights: the paper's ``.pth`` files, timm state dicts, model dirs.

Accepted, all from a local path (nothing is downloaded):

- the official checkpoints ``deit_3_{size}_{res}_{1k,21k}.pth``: a pickle with
  the weights under ``"model"`` and LayerScale named ``blocks.i.gamma_1`` /
  ``gamma_2``;
- timm's ``deit3_*`` state dicts (``blocks.i.ls1.gamma`` / ``ls2.gamma``),
  as ``.pth``/``.pt``/``.bin`` or ``.safetensors``;
- a model directory written by :meth:`DeiT3Backbone.save` (card.yaml +
  weights.safetensors).

Pickles are read with ``torch.load(weights_only=True)`` only: a file that
needs to run code to unpickle is refused. Position embeddings are resampled
(timm's ``resample_abs_pos_embed``) when the checkpoint's grid differs from
the model's (fine-tuning at another resolution); a classifier head of
another number of classes is dropped and left re-initialised, with one
warning.
"""
from __future__ import annotations

import argparse
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Mapping

import torch

from inria.errors import InriaError

#: how many key names an error lists
SHOW = 5


class HeadReinitialised(UserWarning):
    """The checkpoint's classifier has another number of classes; the head was re-initialised."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The raw tensors of a checkpoint file or model directory (keys not yet renamed)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "weights.safetensors").is_file():
            raise InriaError("directory has no weights.safetensors", where=str(path),
                             hint="pass a .pth/.safetensors file or a model directory written by save()")
        path = path / "weights.safetensors"
    if not path.is_file():
        raise InriaError("checkpoint not found", where=str(path),
                         hint="pass a local deit_3_*.pth, a timm deit3 state dict (.pth/.safetensors) or a model directory")
    if path.suffix == ".safetensors":
        from inria.modeldir import load_weights

        return load_weights(path)
    try:
        # argparse.Namespace is plain data: the official training checkpoints keep their 'args' in one
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        if "Weights only load failed" in text or "Unsupported global" in text:
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
            what = f" (it needs {found.group(1)})" if found else ""
            raise InriaError(f"refused: unpickling this checkpoint would run code{what}; it is read with "
                             "torch.load(weights_only=True)", where=str(path),
                             hint="if you trust the file, re-save only its tensors: torch.save(state_dict) "
                                  "or safetensors") from None
        raise InriaError(f"corrupt checkpoint ({_first_line(e)})", where=str(path)) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, IndexError,
            AttributeError, TypeError) as e:
        raise InriaError(f"corrupt or truncated checkpoint ({_first_line(e)})", where=str(path),
                         hint="expected a torch.save file or safetensors") from None
    return unwrap(obj, where=str(path))


def unwrap(obj, where: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The state dict inside a checkpoint object (official files keep it under 'model')."""
    if isinstance(obj, Mapping):
        for key in ("model", "state_dict", "model_state"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise InriaError(f"not a state dict (found {type(obj).__name__})", where=where,
                         hint="expected a mapping of parameter names to tensors, or {'model': {...}}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise InriaError(f"not a state dict: {len(bad)} entries are not name -> tensor (first: {bad[0]!r})",
                         where=where)
    return dict(obj)


def to_timm_names(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official names -> timm's: ``gamma_1``/``gamma_2`` -> ``ls1.gamma``/``ls2.gamma``; DDP ``module.`` dropped."""
    out = {}
    for key, value in state.items():
        if key.startswith("module."):
            key = key[len("module."):]
        key = re.sub(r"^blocks\.(\d+)\.gamma_([12])$", r"blocks.\1.ls\2.gamma", key)
        out[key] = value
    return out


def adapt(state: dict[str, torch.Tensor], model: torch.nn.Module, where: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Check ``state`` against ``model`` and make it loadable.

    Raises a one-line InriaError for missing or unexpected keys (the first few
    named) and for tensors of another shape; resamples the position
    embedding to the model's grid; drops a head of another class count
    (warning once).
    """
    from timm.layers import resample_abs_pos_embed

    state = to_timm_names(state)
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    head_keys = {"head.weight", "head.bias"}
    if missing or unexpected:
        # a checkpoint without a head (num_classes=0 export) is fine: the head stays initialised
        if set(missing) <= head_keys and not unexpected and missing:
            warnings.warn(f"{where}: no classifier head in the checkpoint; head left initialised "
                          f"({target['head.weight'].shape[0] if 'head.weight' in target else 0} classes)",
                          HeadReinitialised, stacklevel=3)
            state = dict(state, **{k: target[k] for k in missing})
            missing = []
        else:
            parts = []
            if missing:
                parts.append(f"{len(missing)} missing keys ({_few(missing)})")
            if unexpected:
                parts.append(f"{len(unexpected)} unexpected keys ({_few(unexpected)})")
            raise InriaError("does not match a DeiT III model of this configuration: " + "; ".join(parts), where=where,
                             hint="check depth/embed_dim (the size constructor) or pass a DeiT III / timm deit3 checkpoint")

    pos = state["pos_embed"]
    if pos.shape != target["pos_embed"].shape:
        if pos.dim() != 3 or pos.shape[-1] != target["pos_embed"].shape[-1]:
            raise InriaError(f"pos_embed has shape {tuple(pos.shape)}, the model {tuple(target['pos_embed'].shape)}",
                             where=where, hint="embed_dim differs: pick the matching size constructor")
        old = _grid(pos.shape[1], where)
        new = tuple(model.patch_embed.grid_size)
        state["pos_embed"] = resample_abs_pos_embed(pos, new_size=list(new), old_size=list(old), num_prefix_tokens=0)

    if "head.weight" in state and state["head.weight"].shape != target["head.weight"].shape \
            and state["head.weight"].shape[1:] == target["head.weight"].shape[1:]:
        warnings.warn(f"{where}: checkpoint head has {state['head.weight'].shape[0]} classes, the model "
                      f"{target['head.weight'].shape[0]}: classifier head re-initialised", HeadReinitialised,
                      stacklevel=3)
        state["head.weight"], state["head.bias"] = target["head.weight"], target["head.bias"]

    wrong = [(k, tuple(v.shape), tuple(target[k].shape)) for k, v in state.items() if v.shape != target[k].shape]
    if wrong:
        k, got, want = wrong[0]
        hint = "embed_dim or depth differ: pick the matching size constructor"
        if k == "patch_embed.proj.weight":
            hint = f"patch size differs: the checkpoint's is {got[-1]}, set patch_size: {got[-1]}"
        raise InriaError(f"{len(wrong)} tensors have another shape, first {k}: checkpoint {got}, model {want}",
                         where=where, hint=hint)
    return state


def load_into(model: torch.nn.Module, source: str | Path | Mapping[str, torch.Tensor], where: str | None = None) -> None:
    """Read (if a path), check, adapt and load weights into ``model``."""
    if isinstance(source, Mapping):
        state, where = unwrap(source, where or "state dict"), where or "state dict"
    else:
        state, where = read_state_dict(source), where or str(source)
    state = adapt(state, model, where=where)
    with torch.no_grad():
        model.load_state_dict(state, strict=True)


def to_official_names(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm names -> the official ``models_v2.py`` names (for tests and export)."""
    return {re.sub(r"^blocks\.(\d+)\.ls([12])\.gamma$", r"blocks.\1.gamma_\2", k): v for k, v in state.items()}


def _grid(tokens: int, where: str) -> tuple[int, int]:
    side = int(round(tokens ** 0.5))
    if side * side != tokens:
        raise InriaError(f"pos_embed has {tokens} positions, not a square grid", where=where,
                         hint="DeiT III checkpoints have (img_size/patch_size)^2 positions and no class-token slot")
    return side, side


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:120]


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:SHOW]) + (", ..." if len(keys) > SHOW else "")

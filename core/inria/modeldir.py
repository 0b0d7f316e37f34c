"""Self-describing model directories: ``card.yaml`` + weights.

``card.yaml`` holds the implementation name, the interface, the providing
distribution and its version, the config and free-form extras (e.g. the
operating point an index was tuned to). Weights go in ``weights.safetensors``
(:func:`save_weights` / :func:`load_weights`), never in a pickle.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .errors import InriaError

CARD = "card.yaml"
CARD_FORMAT = 1


def write_card(path: Path, component: Any, **extra: Any) -> Path:
    from .config import to_dict
    from .registry import distribution_of

    dist, version = distribution_of(type(component))
    card = {
        "format": CARD_FORMAT,
        "implementation": type(component).name or type(component).__name__,
        "interface": type(component).interface,
        "distribution": dist,
        "version": version,
        "config": _plain(to_dict(component.config)),
    }
    if extra:
        card["extra"] = _plain(extra)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / (CARD + ".tmp")
    tmp.write_text(yaml.safe_dump(card, sort_keys=False))
    os.replace(tmp, path / CARD)
    return path / CARD


def read_card(path: str | Path, expect: type | None = None) -> dict:
    path = Path(path)
    card_path = path / CARD
    if not card_path.is_file():
        raise InriaError(f"not a model directory (no {CARD})", where=str(path),
                         hint="pass a directory written by save() or by a fit step")
    try:
        card = yaml.safe_load(card_path.read_text())
    except yaml.YAMLError as e:
        raise InriaError(f"unreadable card: {str(e).splitlines()[0]}", where=str(card_path)) from None
    if not isinstance(card, dict) or "implementation" not in card or "config" not in card:
        raise InriaError("card lacks 'implementation' or 'config'", where=str(card_path))
    if card.get("format", 1) > CARD_FORMAT:
        raise InriaError(f"card format {card['format']} is newer than this core reads ({CARD_FORMAT})",
                         where=str(card_path), hint="upgrade inria")
    if expect is not None and expect.name and card["implementation"] != expect.name:
        raise InriaError(f"holds a '{card['implementation']}' model, not '{expect.name}'", where=str(card_path))
    return card


def adopt_architecture(config: Any, path: str | Path, fields: tuple[str, ...], card: dict | None = None) -> Any:
    """``config`` with the architecture ``fields`` of the model directory's card where the config left them default.

    A trained model fixes its architecture: a field the config leaves at its
    dataclass default follows the card; a field set to another value than the
    card's is a one-line :class:`InriaError` naming both. Returns ``config``
    itself when nothing changes, else a rebuilt (validated) copy.
    """
    import dataclasses

    from .config import build

    card = card if card is not None else read_card(path)
    defaults = type(config)()
    adopted = {}
    for key in fields:
        saved, asked = card["config"].get(key), getattr(config, key)
        if saved is None or saved == asked:
            continue
        if asked == getattr(defaults, key):
            adopted[key] = saved
        else:
            raise InriaError(f"the model in {path} has {key}={saved}, the config asks for {asked}",
                             where="checkpoint", hint="leave architecture fields unset to use the model's")
    if not adopted:
        return config
    return build(type(config), {**dataclasses.asdict(config), **adopted}, where=f"{path}/{CARD}:config")


def save_weights(path: str | Path, tensors: dict, metadata: dict[str, str] | None = None, name: str = "weights.safetensors") -> Path:
    from safetensors.torch import save_file

    target = Path(path) / name
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(target), metadata=metadata)
    return target


def load_weights(path: str | Path, name: str = "weights.safetensors") -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    target = Path(path) / name if Path(path).is_dir() else Path(path)
    if not target.is_file():
        raise InriaError("weights file not found", where=str(target))
    try:
        return load_file(str(target))
    except (SafetensorError, OSError, ValueError) as e:
        raise InriaError(f"corrupt or truncated safetensors file ({str(e).splitlines()[0]})", where=str(target)) from None


def read_state_dict(path: str | Path, hint: str = "a .pth/.safetensors state dict or a model directory",
                    unwrap: tuple[str, ...] = ("model", "state_dict")) -> dict:
    """The ``{name: tensor}`` state dict of a checkpoint file or model directory (names as stored).

    A model directory or ``.safetensors`` file goes through :func:`load_weights`;
    any other file through ``torch.load(weights_only=True)`` (plus
    ``argparse.Namespace``, which training checkpoints keep their arguments in:
    plain data), unwrapped from ``{'model': ...}`` / ``{'state_dict': ...}``
    as official training checkpoints store it. Anything unreadable, needing code
    to unpickle, or not a mapping of names to tensors is a one-line
    :class:`InriaError` naming the file; ``hint`` says what would be accepted.
    """
    import argparse
    from collections.abc import Mapping

    import torch

    path = Path(path).expanduser()
    if path.is_dir() or path.suffix == ".safetensors":
        return load_weights(path)
    if not path.is_file():
        raise InriaError("checkpoint not found", where=str(path), hint=hint)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # refused globals, truncated zip, not a torch file at all
        text = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise InriaError(f"cannot read with torch.load(weights_only=True) ({text})", where=str(path),
                         hint=hint) from None
    if isinstance(obj, Mapping):
        obj = next((obj[k] for k in unwrap if isinstance(obj.get(k), Mapping)), obj)
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                         for k, v in obj.items()):
        raise InriaError(f"not a state dict of tensors (found {type(obj).__name__})", where=str(path),
                         hint=f"expected {{name: tensor}} or {{'model': {{name: tensor}}}}: {hint}")
    return dict(obj)


def _plain(obj: Any) -> Any:
    """Make config values YAML-safe (tuples -> lists, numpy scalars -> python)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj

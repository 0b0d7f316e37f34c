"""Training checkpoints: atomic writes, ``weights_only`` loads, RNG states as plain data.

A checkpoint is one ``torch.save`` file holding only tensors and plain
Python values (so ``torch.load(weights_only=True)`` reads it and a file
from elsewhere cannot run code): model, optimizer, scheduler, scaler, EMA,
the RNG states of every rank, the epoch, the step inside it and the config.
It is written to a temporary file in the same folder, synced and renamed
over the previous one (``os.replace``), so a run killed at any moment leaves
either the old or the new checkpoint, never half of one.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InriaError

FORMAT = "inria-train-checkpoint"
VERSION = 1
LAST = "last.pt"


# -- RNG states ---------------------------------------------------------------
def rng_state() -> dict:
    """Python, numpy, torch and CUDA generator states, as tensors and plain types."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), int(n["pos"]), int(n["has_gauss"]),
                         float(n["gauss"])))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)


def seed_all(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- files --------------------------------------------------------------------
def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file, fsync, then ``os.replace`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path


def load(path: str | Path) -> dict:
    """Read a training checkpoint with ``weights_only=True``; one-line InriaError when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InriaError("no such checkpoint", where=str(path))
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, corrupt, or holding objects weights_only refuses
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InriaError(f"cannot read checkpoint ({type(e).__name__}: {first[:200]})", where=str(path),
                         hint="the file is truncated, corrupt or not a plain-tensor checkpoint") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InriaError("not an inria training checkpoint", where=str(path),
                         hint="expected a file written by inria.train (checkpoints/last.pt)")
    if int(ckpt.get("version", 0)) > VERSION:
        raise InriaError(f"checkpoint format version {ckpt.get('version')} is newer than this inria reads "
                         f"({VERSION})", where=str(path), hint="upgrade inria")
    return ckpt


def _names(keys: list[str], n: int = 3) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f" (+{len(keys) - n} more)" if len(keys) > n else "")


def check_model_state(model: torch.nn.Module, state: dict, source: str) -> None:
    """Raise one line naming the first mismatched keys when ``state`` is not a state of ``model``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} (checkpoint {list(state[k].shape)} vs model {list(own[k].shape)})"
              for k in own if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"missing keys {_names(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {_names(unexpected)}")
    if shapes:
        parts.append(f"shape mismatch {_names(shapes, 2)}")
    raise InriaError(f"checkpoint holds another model than {type(model).__name__}: " + "; ".join(parts),
                     where=source, hint="resume with the model that wrote it, or start a fresh run")


def load_model_state(model: torch.nn.Module, state: dict, source: str) -> None:
    check_model_state(model, state, source)
    model.load_state_dict(state)

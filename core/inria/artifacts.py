"""Store and load step outputs by artifact type, in open formats.

============ ====================================================
type         on disk (under the step's folder, named by output)
============ ====================================================
images       ``<name>/000000.png`` ... (8-bit RGB PNG)
labels       ``<name>.npy`` int64
indices      ``<name>.npy`` int64
vectors      ``<name>.npy`` float32
messages     ``<name>.npy`` bool
bitstreams   ``<name>/000000.bin`` ... (the bytes, as the codec wrote them)
detections   ``<name>.json`` (fpr, extra) + ``<name>.npz``
model        ``<name>/`` a model directory (card.yaml + weights)
metrics      ``metrics.json``
============ ====================================================

A :class:`Grouped` value (one value per attack, say) is stored in one
sub-folder per group. Images are quantised to 8 bits when stored; the runner
hands downstream steps what it loads back, so a run and its resume see the
same data.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InriaError


class Grouped(dict):
    """name -> value: one artifact per variant (e.g. per attack). Verbs map over groups."""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else (None if math.isnan(f) else ("inf" if f > 0 else "-inf"))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save(kind: str, value: Any, folder: Path, name: str) -> Path:
    """Write ``value`` of artifact type ``kind``; returns the path written."""
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(value, Grouped):
        root = folder / _safe(name)
        root.mkdir(parents=True, exist_ok=True)
        (root / "groups.json").write_text(json.dumps(list(value)))
        for group, v in value.items():
            save(kind, v, root / "groups", _safe(group))
        return root
    if kind == "images":
        from .ops.image import as_list, to_pil

        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for i, im in enumerate(as_list(value)):
            to_pil(im).save(target / f"{i:06d}.png")
        return target
    if kind in ("labels", "indices", "vectors", "messages"):
        dtype = {"labels": np.int64, "indices": np.int64, "vectors": np.float32, "messages": bool}[kind]
        target = folder / f"{name}.npy"
        np.save(target, np.asarray(value, dtype=dtype), allow_pickle=False)
        return target
    if kind == "bitstreams":
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for i, data in enumerate(value):
            (target / f"{i:06d}.bin").write_bytes(bytes(data))
        return target
    if kind == "detections":
        np.savez(folder / f"{name}.npz", **value.to_arrays())
        (folder / f"{name}.json").write_text(json.dumps({"fpr": value.fpr, "extra": _jsonable(value.extra)}))
        return folder / f"{name}.json"
    if kind == "model":
        src = Path(value)
        target = folder / name
        if src.resolve() != target.resolve():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(src, target)
        return target
    if kind == "metrics":
        target = folder / "metrics.json"
        target.write_text(json.dumps(_jsonable(value), indent=1))
        return target
    raise InriaError(f"unknown artifact type '{kind}'")


def load(kind: str, folder: Path, name: str) -> Any:
    grouped = folder / _safe(name) / "groups.json"
    if grouped.is_file():
        groups = json.loads(grouped.read_text())
        return Grouped((g, load(kind, folder / _safe(name) / "groups", _safe(g))) for g in groups)
    if kind == "images":
        from PIL import Image

        from .data.images import pil_to_tensor
        from .ops.image import stack_if_same

        files = sorted((folder / name).glob("*.png"))
        out = []
        for f in files:
            with Image.open(f) as img:
                out.append(pil_to_tensor(img, where=str(f)))
        return stack_if_same(out)
    if kind == "vectors":  # memory-mapped: a large base is read batch by batch downstream
        return np.load(folder / f"{name}.npy", allow_pickle=False, mmap_mode="r")
    if kind in ("labels", "indices", "messages"):
        return np.load(folder / f"{name}.npy", allow_pickle=False)
    if kind == "bitstreams":
        return [f.read_bytes() for f in sorted((folder / name).glob("*.bin"))]
    if kind == "detections":
        from .interfaces.types import Detection

        meta = json.loads((folder / f"{name}.json").read_text())
        with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return Detection.from_arrays(arrays, fpr=meta["fpr"], extra=meta.get("extra"))
    if kind == "model":
        return folder / name
    if kind == "metrics":
        p = folder / "metrics.json"
        return json.loads(p.read_text()) if p.is_file() else {}
    raise InriaError(f"unknown artifact type '{kind}'")


def to_json(obj: Any) -> Any:
    return _jsonable(obj)

"""Vector files: .npy (memory-mapped), .fvecs, .bvecs, .ivecs (the TEXMEX formats).

Readers check every length against the file size before trusting it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InriaError


def load_vectors(path: str | Path, mmap: bool = True) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InriaError("vector file not found", where=str(path))
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InriaError(f"corrupt or truncated .npy ({e})", where=str(path)) from None
        if arr.ndim != 2:
            raise InriaError(f"expected a 2-D array (N, D), got shape {arr.shape}", where=str(path))
        return arr
    if suffix in (".fvecs", ".ivecs", ".bvecs"):
        return _read_xvecs(path, suffix)
    raise InriaError(f"unknown vector format '{suffix}'", where=str(path), hint="accepted: .npy, .fvecs, .bvecs, .ivecs")


def _read_xvecs(path: Path, suffix: str) -> np.ndarray:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 4:
        raise InriaError("truncated vector file (no dimension header)", where=str(path))
    d = int(raw[:4].view(np.int32)[0])
    item = 1 if suffix == ".bvecs" else 4
    if d <= 0 or d > 1 << 20:
        raise InriaError(f"corrupt vector file (dimension {d})", where=str(path))
    row = 4 + d * item
    if raw.size % row:
        raise InriaError(f"truncated vector file ({raw.size} bytes is not a multiple of the {row}-byte row)", where=str(path))
    rows = raw.reshape(-1, row)
    if not (rows[:, :4].view(np.int32)[:, 0] == d).all():
        raise InriaError("corrupt vector file (rows of different dimensions)", where=str(path))
    body = rows[:, 4:]
    if suffix == ".bvecs":
        return body.astype(np.float32)
    return np.ascontiguousarray(body).view(np.float32 if suffix == ".fvecs" else np.int32).reshape(len(rows), d)


def write_fvecs(path: str | Path, x: np.ndarray) -> None:
    x = np.asarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    out[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = x
    out.tofile(path)

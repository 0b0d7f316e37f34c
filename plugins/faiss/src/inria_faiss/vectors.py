"""Turning what users pass into what Faiss accepts, or a one-line error.

Faiss wants C-contiguous float32 (N, D) arrays. Other float and integer
dtypes are converted (and said once per index); NaN / inf rows, a wrong
dimension and anything that is not numeric are refused with the row or
shape at fault. Large inputs (a memory-mapped ``.npy``) are never converted
as a whole: :func:`batches` yields float32 copies of one batch at a time.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from inria.errors import InriaError


def as_array(x: Any, where: str) -> np.ndarray:
    """An (N, D) array view of ``x`` without converting its dtype (a path loads memory-mapped)."""
    if isinstance(x, (str, Path)):
        from inria.data.vectors import load_vectors

        return load_vectors(x, mmap=True)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 1 and x.size:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise InriaError(f"expected vectors of shape (N, D), got shape {tuple(x.shape)}", where=where)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
            or x.dtype == np.bool_):
        raise InriaError(f"expected float32 vectors, got dtype {x.dtype}", where=where,
                         hint="accepted: float32 (float16/float64/int are converted)")
    return x


def check_dim(x: np.ndarray, d: int | None, where: str) -> None:
    if d is not None and x.shape[1] != d:
        raise InriaError(f"vectors have dimension {x.shape[1]}, the index has dimension {d}", where=where)


def to_float32(x: np.ndarray, where: str, say_once: Callable[[str, str], None], offset: int = 0) -> np.ndarray:
    """A C-contiguous float32 copy (or view) of ``x``, with every value finite."""
    if x.dtype != np.float32:
        say_once(f"dtype:{x.dtype}", f"{where}: converting {x.dtype} vectors to float32 (Faiss works in float32)")
        x = x.astype(np.float32)
    x = np.ascontiguousarray(x)
    finite = np.isfinite(x)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise InriaError(f"row {row + offset} holds NaN or inf", where=where, hint="remove or fix non-finite vectors")
    return x


def normalized(x: np.ndarray) -> np.ndarray:
    """L2-normalised copy (cosine metric); zero vectors stay zero."""
    import faiss

    x = np.array(x, dtype=np.float32, copy=True, order="C")
    faiss.normalize_L2(x)
    return x


def as_ids(ids: Any, n: int, where: str = "ids") -> np.ndarray | None:
    if ids is None:
        return None
    if hasattr(ids, "detach") and hasattr(ids, "cpu"):
        ids = ids.detach().cpu().numpy()
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) != n:
        raise InriaError(f"expected {n} ids (one per vector), got shape {tuple(ids.shape)}", where=where)
    if not np.issubdtype(ids.dtype, np.integer):
        if np.issubdtype(ids.dtype, np.floating) and np.all(np.isfinite(ids)) and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)
        else:
            raise InriaError(f"ids must be integers, got dtype {ids.dtype}", where=where)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if n and ids.min() < 0:
        raise InriaError(f"negative id {int(ids.min())} (-1 means 'no result' in Faiss)", where=where,
                         hint="use ids >= 0")
    return ids


def batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for i0 in range(0, n, size):
        yield i0, min(n, i0 + size)


class SayOnce:
    """``warnings.warn`` each distinct message key once per owner."""

    def __init__(self) -> None:
        self._said: set[str] = set()

    def __call__(self, key: str, message: str) -> None:
        if key in self._said:
            return
        self._said.add(key)
        warnings.warn(f"inria_faiss: {message}", UserWarning, stacklevel=4)

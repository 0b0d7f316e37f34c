"""Building indexes from factory strings, and what we need to know about their structure.

Faiss errors are C++ exceptions whose text holds the C++ function signature
and source location; :func:`faiss_reason` keeps only the sentence a user can
act on, so every error of this plugin stays one line.
"""
from __future__ import annotations

import re

import faiss

from inria.errors import InriaError

#: a dimension that most factory strings accept (divisible by 2..6, 8, 10, 12, 16, 32, 64, ...)
_PROBE_DIM = 960


def faiss_reason(err: BaseException) -> str:
    """The user-facing part of a Faiss exception message, on one line."""
    text = " ".join(str(err).split())
    for marker in ("failed: ", "Error: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
            break
    else:
        # 'Error in <signature> at <file>:<line>: <message>'
        m = re.search(r" at \S+:\d+: (.*)$", text)
        if m:
            text = m.group(1)
    text = re.sub(r"^[\w:]+::\w+:\s*", "", text.strip())  # 'ParameterSpace::set_index_parameter:'
    return text or type(err).__name__


def metric_code(metric: str) -> int:
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT


def check_factory(factory: str, metric: str, dim: int | None) -> None:
    """Raise a one-line InriaError when Faiss cannot build ``factory``.

    Without ``dim`` only parse errors are reported here (a dimension-dependent
    failure such as 'PQ7' on d=96 is reported when the data arrives).
    """
    try:
        faiss.index_factory(dim or _PROBE_DIM, factory, metric_code(metric))
    except RuntimeError as e:
        reason = faiss_reason(e)
        if dim is not None or "parse" in reason:
            raise InriaError(f"invalid factory string '{factory}' ({reason})", where="factory",
                             hint="see https://github.com/facebookresearch/faiss/wiki/The-index-factory") from None


def create(factory: str, metric: str, d: int) -> "faiss.Index":
    try:
        return faiss.index_factory(int(d), factory, metric_code(metric))
    except RuntimeError as e:
        raise InriaError(f"invalid factory string '{factory}' for dimension {d} ({faiss_reason(e)})",
                         where="factory") from None


# -- structure ------------------------------------------------------------------
def unwrap(index) -> "faiss.Index":
    """The index below IDMap / PreTransform / Refine wrappers (downcast)."""
    index = faiss.downcast_index(index)
    while True:
        if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2, faiss.IndexPreTransform)):
            index = faiss.downcast_index(index.index)
        elif isinstance(index, faiss.IndexRefine):
            index = faiss.downcast_index(index.base_index)
        else:
            return index


def type_name(index) -> str:
    """e.g. 'IndexIDMap2(IndexHNSWFlat)', for error messages."""
    names = []
    index = faiss.downcast_index(index)
    while index is not None:
        names.append(type(index).__name__)
        if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2, faiss.IndexPreTransform)):
            index = faiss.downcast_index(index.index)
        elif isinstance(index, faiss.IndexRefine):
            index = faiss.downcast_index(index.base_index)
        else:
            index = None
    return "(".join(names) + ")" * (len(names) - 1)


def is_ivf(index) -> bool:
    return faiss.try_extract_index_ivf(index) is not None


def has_hnsw(index) -> bool:
    """True where an HNSW graph is part of the structure (main index or IVF quantizer)."""
    inner = unwrap(index)
    if isinstance(inner, faiss.IndexHNSW):
        return True
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        return isinstance(faiss.downcast_index(ivf.quantizer), faiss.IndexHNSW)
    return False


def has_native_ids(index) -> bool:
    """Whether ``add_with_ids`` works without an IDMap wrapper (IVF, possibly behind a PreTransform)."""
    index = faiss.downcast_index(index)
    while isinstance(index, faiss.IndexPreTransform):
        index = faiss.downcast_index(index.index)
    return isinstance(index, (faiss.IndexIVF, faiss.IndexIDMap, faiss.IndexIDMap2))


def is_idmap(index) -> bool:
    return isinstance(faiss.downcast_index(index), (faiss.IndexIDMap, faiss.IndexIDMap2))

"""Search-time parameters through faiss.ParameterSpace (GpuParameterSpace on GPU).

Faiss's own string form ``"nprobe=16,efSearch=64"`` is the one used in cards
and operating points; configs hold the same as a mapping.
"""
from __future__ import annotations

import faiss

from inria.errors import InriaError

from .factory import faiss_reason


def to_string(params: dict) -> str:
    return ",".join(f"{k}={_num(v)}" for k, v in params.items())


def parse(key: str) -> dict[str, int | float]:
    out: dict[str, int | float] = {}
    for part in filter(None, (p.strip() for p in key.split(","))):
        name, _, value = part.partition("=")
        v = float(value)
        out[name.strip()] = int(v) if v.is_integer() else v
    return out


def _num(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def space(index) -> "faiss.ParameterSpace":
    if hasattr(faiss, "GpuParameterSpace") and _on_gpu(index):
        return faiss.GpuParameterSpace()
    return faiss.ParameterSpace()


def _on_gpu(index) -> bool:
    """GPU indexes, and the replicas / shards index_cpu_to_all_gpus builds over them."""
    name = type(faiss.downcast_index(index)).__name__
    return "Gpu" in name or name.startswith(("IndexReplicas", "IndexShards"))


def apply(index, params: dict, factory: str) -> None:
    """Set each parameter; a name the index does not have is a one-line error."""
    ps = space(index)
    for name, value in params.items():
        try:
            ps.set_index_parameter(index, str(name), float(value))
        except RuntimeError as e:
            raise InriaError(f"cannot set search parameter {name}={_num(value)} on '{factory}' ({faiss_reason(e)})",
                             where="search_params", hint=f"the index's tunable parameters: {', '.join(names(index)) or 'none'}") from None


def initialize(ps, index) -> None:
    """``ps.initialize`` that sees through IDMap wrappers (setting parameters already does)."""
    index = faiss.downcast_index(index)
    while isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        index = faiss.downcast_index(index.index)
    ps.initialize(index)


def ranges(index) -> dict[str, list[float]]:
    """The parameters ParameterSpace.explore would try on this index, and their values."""
    ps = space(index)
    initialize(ps, index)
    out = {}
    for i in range(ps.parameter_ranges.size()):
        pr = ps.parameter_ranges.at(i)
        out[pr.name] = [pr.values.at(j) for j in range(pr.values.size())]
    return out


def names(index) -> list[str]:
    return list(ranges(index))


def current(index) -> dict[str, int | float]:
    """Current values of the parameters ``ranges`` reports (to restore them after exploring)."""
    out: dict[str, int | float] = {}
    idx = faiss.downcast_index(index)
    ivf = faiss.try_extract_index_ivf(idx)
    for name in names(index):
        value = None
        if name == "nprobe" and ivf is not None:
            value = ivf.nprobe
        elif name == "max_codes" and ivf is not None:
            value = ivf.max_codes
        elif name == "quantizer_efSearch" and ivf is not None:
            q = faiss.downcast_index(ivf.quantizer)
            value = q.hnsw.efSearch if isinstance(q, faiss.IndexHNSW) else None
        elif name == "efSearch":
            hnsw = _find(idx, faiss.IndexHNSW)
            value = hnsw.hnsw.efSearch if hnsw is not None else None
        elif name == "k_factor_rf":
            ref = _find(idx, faiss.IndexRefine)
            value = ref.k_factor if ref is not None else None
        elif name == "k_factor":
            ref = _find(idx, faiss.IndexIVFPQR)
            value = ref.k_factor if ref is not None else None
        elif name == "ht":
            pq = _find(idx, faiss.IndexIVFPQ) or _find(idx, faiss.IndexPQ)
            value = pq.polysemous_ht if pq is not None else None
        if value is not None:
            out[name] = value
    return out


def _find(index, cls):
    index = faiss.downcast_index(index)
    while index is not None:
        if isinstance(index, cls):
            return index
        if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2, faiss.IndexPreTransform)):
            index = faiss.downcast_index(index.index)
        elif isinstance(index, faiss.IndexRefine):
            index = faiss.downcast_index(index.base_index)
        else:
            return None
    return None

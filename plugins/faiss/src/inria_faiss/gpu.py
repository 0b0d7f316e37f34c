"""Moving indexes between CPU and GPUs, and where Faiss's GPU side cannot serve.

A GPU build of faiss (``faiss-gpu``, see README) exposes
``StandardGpuResources`` and ``get_num_gpus() > 0`` when CUDA sees a device.
``index_cpu_to_all_gpus`` clones the index onto every visible GPU, either
replicated (``IndexReplicas``: each GPU holds everything, queries are split)
or sharded (``IndexShards``: vectors are split, results merged). Faiss
refuses HNSW on GPU, and GPU k-selection is limited to k, nprobe <= 2048:
such indexes stay on (or searches fall back to) the CPU, with one warning.
"""
from __future__ import annotations

import faiss

from inria.errors import InriaError

from .factory import faiss_reason, has_hnsw

#: Faiss GPU k-selection limit (k and nprobe)
GPU_MAX_K = 2048

SWAP_COMMAND = 'pip uninstall -y faiss-cpu && pip install "faiss-gpu>=1.14.3"'


def faiss_has_gpu() -> bool:
    """A GPU build of faiss (whether or not a GPU is visible)."""
    return hasattr(faiss, "StandardGpuResources") and hasattr(faiss, "index_cpu_to_all_gpus")


def num_gpus() -> int:
    if not faiss_has_gpu():
        return 0
    try:
        return int(faiss.get_num_gpus())
    except Exception:  # a broken CUDA driver must not stop CPU use
        return 0


def resolve(device: str) -> str:
    """'cpu' or 'cuda' for a config's device ('auto' picks cuda only when faiss can use it)."""
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if num_gpus() > 0 else "cpu"
    if not faiss_has_gpu():
        raise InriaError("device 'cuda' needs a GPU build of faiss, but faiss-cpu is installed", where="device",
                         hint=f"swap builds with: {SWAP_COMMAND}  (or use device: auto)")
    if num_gpus() == 0:
        raise InriaError("device 'cuda': faiss sees no GPU (CUDA_VISIBLE_DEVICES? driver?)", where="device",
                         hint="use device: auto to fall back to the CPU")
    return "cuda"


def cpu_only_reason(index, search_params: dict, ondisk: bool) -> str | None:
    """Why this index must stay on the CPU, or None."""
    if has_hnsw(index):
        return "HNSW is CPU-only in Faiss"
    nprobe = search_params.get("nprobe")
    if nprobe is not None and nprobe > GPU_MAX_K:
        return f"nprobe={nprobe} is above the GPU limit of {GPU_MAX_K}"
    if ondisk:
        return "on-disk inverted lists are read from the CPU side"
    return None


def to_gpus(index, multi_gpu: str, float16: bool):
    """Clone ``index`` onto all visible GPUs; raises RuntimeError with Faiss's reason."""
    co = faiss.GpuMultipleClonerOptions()
    co.shard = multi_gpu == "shard"
    co.useFloat16 = bool(float16)
    if co.shard and hasattr(co, "common_ivf_quantizer"):
        co.common_ivf_quantizer = True  # one quantizer for all shards: less GPU memory, same results
    return faiss.index_cpu_to_all_gpus(index, co=co)


def to_cpu(index):
    return faiss.index_gpu_to_cpu(index)


def try_to_gpus(index, multi_gpu: str, float16: bool, say_once) -> tuple[object, bool]:
    """(index on GPUs, True), or (index, False) with one warning saying why."""
    try:
        return to_gpus(index, multi_gpu, float16), True
    except (RuntimeError, AttributeError) as e:
        say_once("gpu", f"staying on the CPU: Faiss cannot put this index on GPU ({faiss_reason(e)})")
        return index, False


def installed_builds() -> list[str]:
    """Installed distributions that ship the ``faiss`` module (more than one is a broken install)."""
    import importlib.metadata as md

    found = []
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name == "faiss-cpu" or name.startswith("faiss-gpu") or name.startswith("faiss-cuda"):
            found.append(f"{name} {dist.version}")
    return sorted(set(found))

"""inria-plugin-faiss on GPU: CPU vs GPU search QPS for IVF-PQ on 1M x 96, through the plugin.

Needs a GPU build of faiss (README of plugins/faiss: one command swaps
faiss-cpu for faiss-gpu) and a visible CUDA device; otherwise it says why it
is skipped and exits 0. Run by benchmarks/gpu/all.sh (source tree on
PYTHONPATH, plugin not installed: the class is imported directly).

Data: faiss.contrib.datasets.SyntheticDataset(96, 100k train, 1M base, 10k
queries). The index ("IVF4096,PQ32", nprobe=32) is trained and filled on
the GPU(s) by the plugin (device: cuda), saved (which copies it back to the
CPU) and loaded on the CPU: both sides search the same index, k=10, all CPU
cores vs all GPUs. Recall@10 against exact GPU search is printed for both.

Named faiss_ivfpq.py, not faiss.py: a script directory comes first on sys.path,
so benchmarks/gpu/faiss.py would shadow the faiss module for every script there.

Last line: ``faiss IVF-PQ gpu/cpu search qps X.X (target > 1)``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("INRIA_PROGRESS", "0")


def skip(reason: str) -> None:
    print(f"faiss: skipped ({reason})")
    sys.exit(0)


def best_qps(fn, nq: int, reps: int = 3) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return nq / best, out


def main() -> None:
    try:
        import faiss
    except ImportError:
        skip("faiss is not installed; on a GPU machine: pip uninstall -y faiss-cpu && pip install \"faiss-gpu>=1.14.3\"")
    if not hasattr(faiss, "StandardGpuResources"):
        skip(f"faiss {faiss.__version__} is a CPU build; swap it: "
             "pip uninstall -y faiss-cpu && pip install \"faiss-gpu>=1.14.3\"")
    if faiss.get_num_gpus() == 0:
        skip("faiss sees no CUDA device")
    from faiss.contrib.datasets import SyntheticDataset

    from inria.eval.metrics import recall_at_k
    from inria_faiss.index import FaissIndex

    nt, nb, nq = 100_000, 1_000_000, 10_000
    ds = SyntheticDataset(96, nt, nb, nq)
    xt, xb, xq = ds.get_train(), ds.get_database(), ds.get_queries()
    print(f"faiss {faiss.__version__}, {faiss.get_num_gpus()} GPU(s), {faiss.omp_get_max_threads()} CPU threads, "
          f"base {xb.shape}, {nq} queries")

    exact = FaissIndex(factory="Flat", device="cuda")
    exact.add(xb)
    _, gt = exact.search(xq, 1)
    del exact

    t0 = time.perf_counter()
    gpu_ix = FaissIndex(factory="IVF4096,PQ32", device="cuda", search_params={"nprobe": 32})
    gpu_ix.train(xt)
    gpu_ix.add(xb)
    build = time.perf_counter() - t0
    assert gpu_ix.on_gpu, "the plugin did not put IVF-PQ on the GPU"
    with tempfile.TemporaryDirectory() as tmp:
        gpu_ix.save(tmp)  # back to the CPU for writing
        cpu_ix = FaissIndex.load(tmp, device="cpu")
    assert not cpu_ix.on_gpu

    gpu_ix.search(xq[:100], 10), cpu_ix.search(xq[:100], 10)  # warm up
    qps_gpu, (_, I_gpu) = best_qps(lambda: gpu_ix.search(xq, 10), nq)
    qps_cpu, (_, I_cpu) = best_qps(lambda: cpu_ix.search(xq, 10), nq)
    print(f"IVF4096,PQ32 nprobe=32: built on GPU in {build:.1f} s")
    print(f"  cpu: {qps_cpu:10.0f} qps  recall@10 {recall_at_k(I_cpu, gt, 10):.3f}")
    print(f"  gpu: {qps_gpu:10.0f} qps  recall@10 {recall_at_k(I_gpu, gt, 10):.3f}")
    print(f"faiss IVF-PQ gpu/cpu search qps {qps_gpu / qps_cpu:.1f} (target > 1)")


if __name__ == "__main__":
    main()

"""OpenMP threads when torch and faiss share a process.

The pip wheels of torch and faiss-cpu each bundle their own OpenMP runtime
(torch: ``torch/lib/libgomp.so.1``; faiss: ``faiss_cpu.libs/libgomp-*.so``).
Two runtimes mean two thread pools, each sized to every core by default, so
a process that alternates torch ops and faiss searches oversubscribes the
CPU; on macOS (two ``libomp``) it is the known source of segfaults
(faiss#2555, #3401, #4273, faiss-wheels#73). What works:

- set ``OMP_NUM_THREADS`` *before* importing either library (both runtimes
  read it), or call :func:`set_threads` (both APIs) once at start-up;
- keep the two pools from running at the same time (no faiss search inside
  a torch DataLoader worker or a parallel torch region);
- on macOS only, if the process aborts with ``OMP: Error #15``, set
  ``KMP_DUPLICATE_LIB_OK=TRUE`` and one thread for faiss.

``tests/test_torch_together.py`` runs torch ops and faiss searches in one
process, in both import orders.
"""
from __future__ import annotations


def set_threads(n: int) -> None:
    """Use ``n`` OpenMP threads in faiss and (if it is imported) torch."""
    import sys

    import faiss

    faiss.omp_set_num_threads(int(n))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(int(n))


def get_threads() -> dict[str, int]:
    import sys

    import faiss

    out = {"faiss": int(faiss.omp_get_max_threads())}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = int(torch.get_num_threads())
    return out

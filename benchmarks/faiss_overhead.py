"""Overhead of inria-plugin-faiss over direct faiss calls, on the same index and data, in one run.

For "Flat", "IVF1024,PQ16np" and "HNSW32" on 200k x 96 float32 vectors, the
index is built once through the plugin; then ``FaissIndex.search`` and the
underlying ``faiss.Index.search`` run on the same object and queries,
interleaved, ``--reps`` pairs. D and I must be identical at every call.

Data: faiss.contrib.datasets.SyntheticDataset(96, 0, 200000, nq) — Faiss's
own generator (a 10-d gaussian through a random 10x96 map, scaled, sin()),
"not completely random but still challenging to index".

"IVF1024,PQ16np" is "IVF1024,PQ16" without polysemous training (which only
matters for the ``ht`` search parameter and takes minutes on 2 cores); the
search code path is the same. One faiss thread by default and QPS from the
process's CPU time; the ratio is the median over the reps of (faiss time /
plugin time) of the two calls made side by side: on a shared machine the
load drifts, and wall-clock time is mostly other processes' noise (best-of
and wall-clock ratios are printed alongside).

    python benchmarks/faiss_overhead.py [--nb 200000] [--nq 2000] [--reps 7] [--threads 1]

Last line: ``search qps ratio X.XXX (target >= 0.97)``, the minimum over the
three indexes of plugin QPS / direct QPS.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("INRIA_PROGRESS", "0")

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from faiss.contrib.datasets import SyntheticDataset  # noqa: E402

import inria  # noqa: E402

FACTORIES = [
    # (factory, search params, queries used: exhaustive Flat gets fewer)
    ("Flat", {}, 200),
    ("IVF1024,PQ16np", {"nprobe": 16}, None),
    ("HNSW32", {"efSearch": 64}, None),
]


def timed_call(fn):
    """(result, CPU seconds of this process, wall seconds) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nb", type=int, default=200_000)
    ap.add_argument("--nq", type=int, default=2000, help="queries (Flat uses 200: it is exhaustive)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-size", type=int, default=50_000)
    args = ap.parse_args()

    build_threads = faiss.omp_get_max_threads()
    ds = SyntheticDataset(96, 0, args.nb, args.nq)
    xb, xq = ds.get_database(), ds.get_queries()
    print(f"faiss {faiss.__version__}, {args.threads} search thread(s), base {xb.shape}, k={args.k}, "
          f"{args.reps} paired reps")
    ratios = []
    for factory, search_params, nq in FACTORIES:
        q = xq[: nq or args.nq]
        faiss.omp_set_num_threads(build_threads)  # building is not what is measured
        t0 = time.perf_counter()
        ix = inria.create("index", "faiss", factory=factory, search_params=search_params, device="cpu",
                          train_size=args.train_size)
        ix.train(xb)
        ix.add(xb)
        build = time.perf_counter() - t0
        raw = ix.faiss_index  # the very same faiss object
        faiss.omp_set_num_threads(args.threads)

        def plugin():
            return ix.search(q, args.k)

        def direct():
            return raw.search(q, args.k)

        plugin(), direct()  # warm up
        t_plugin, t_direct, w_plugin, w_direct = [], [], [], []
        for r in range(args.reps):
            order = (plugin, direct) if r % 2 == 0 else (direct, plugin)
            for fn in order:
                (D, I), cpu, wall = timed_call(fn)
                (t_plugin if fn is plugin else t_direct).append(cpu)
                (w_plugin if fn is plugin else w_direct).append(wall)
                if fn is plugin:
                    Dp, Ip = D, I
                else:
                    Dd, Id = D, I
            assert np.array_equal(Ip, Id), f"{factory}: plugin and faiss ids differ"
            assert np.array_equal(Dp, Dd), f"{factory}: plugin and faiss distances differ"
        # each rep's two calls ran side by side: the median of their ratios cancels the slow drift
        # of a shared machine's load; best-of and wall-clock ratios are printed for reference
        ratio = float(np.median(np.array(t_direct) / np.array(t_plugin)))
        best = min(t_direct) / min(t_plugin)
        wall = float(np.median(np.array(w_direct) / np.array(w_plugin)))
        ratios.append(ratio)
        qps_p, qps_d = len(q) / np.median(t_plugin), len(q) / np.median(t_direct)
        print(f"{factory:16s} {str(search_params or ''):18s} nq={len(q):5d} build {build:6.1f}s  "
              f"faiss {qps_d:8.0f} qps  plugin {qps_p:8.0f} qps  ratio {ratio:.3f} "
              f"(best-of {best:.3f}, wall-clock {wall:.3f})  D,I identical")
    print(f"search qps ratio {min(ratios):.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()

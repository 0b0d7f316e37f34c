"""Recall / QPS table of a few factory strings through inria-plugin-faiss, exact search as the peer.

Data (synthetic, stated generator): faiss.contrib.datasets.SyntheticDataset
(d=64, 20k train, 50k base, 2000 queries, seed 1338): a 10-d gaussian mapped
by a random 10x64 matrix, scaled per dimension and passed through sin() —
Faiss's own "not completely random but still challenging" data. Queries are
split in two halves: the first tunes each index (the fastest operating point
with recall@10 >= 0.92, ParameterSpace.explore), the second, held out,
evaluates it against exact search ("Flat", the peer measured in the same run).

recall@k is 1-recall@k (inria.eval.metrics.recall_at_k): the fraction of
queries whose exact nearest neighbour is among the first k results, all
three from one search with k=100 (as Faiss's benchmarks do). QPS is
measured with k=100, --threads faiss threads (1 by default: steadier on a
shared machine). ``--out file.json`` keeps every metric, including the
recall-vs-QPS operating points, for plotting.

    python benchmarks/faiss_recall_qps.py [--nb 50000] [--threads 1] [--out recall_qps.json]

Last line: the minimum held-out recall@10 over the tuned indexes (target >= 0.90).
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("INRIA_PROGRESS", "0")

import faiss  # noqa: E402
from faiss.contrib.datasets import SyntheticDataset  # noqa: E402

import inria  # noqa: E402

# (OPQ16_64 in front of the last one costs 150 CPU-seconds of training here: left out)
FACTORIES = ["Flat", "IVF256,SQ8", "HNSW32", "IVF256,PQ16x4fs,RFlat"]
TUNE_TARGET = 0.92


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nb", type=int, default=50_000)
    ap.add_argument("--nt", type=int, default=20_000)
    ap.add_argument("--nq", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    ds = SyntheticDataset(64, args.nt, args.nb, args.nq)
    xt, xb, xq = ds.get_train(), ds.get_database(), ds.get_queries()
    q_tune, q_test = xq[: args.nq // 2], xq[args.nq // 2:]
    build_threads = faiss.omp_get_max_threads()
    print(f"faiss {faiss.__version__}; SyntheticDataset(64, {args.nt}, {args.nb}, {args.nq}); "
          f"{args.threads} search thread(s); tuned for recall@10 >= {TUNE_TARGET} on {len(q_tune)} queries, "
          f"evaluated on {len(q_test)} others")
    rows, results = [], {}
    for factory in FACTORIES:
        faiss.omp_set_num_threads(build_threads)
        ix = inria.create("index", "faiss", factory=factory, device="cpu")
        t0 = time.perf_counter()
        ix.train(xt)
        ix.add(xb)
        build = time.perf_counter() - t0
        faiss.omp_set_num_threads(args.threads)
        point = ix.tune(q_tune, base=xb, target_recall=TUNE_TARGET, k=10)
        m = ix.evaluate(q_test, base=xb)
        m["build_seconds"] = build
        m["tuned"] = point
        results[factory] = m
        rows.append((factory, m))
    flat_qps = results["Flat"]["qps"]
    print(f"{'factory':24s} {'tuned params':28s} {'R@1':>6s} {'R@10':>6s} {'R@100':>6s} {'QPS':>8s} "
          f"{'x Flat':>7s} {'B/vec':>7s} {'build s':>8s}")
    for factory, m in rows:
        print(f"{factory:24s} {m['search_params'] or '-':28s} {m['recall@1']:6.3f} {m['recall@10']:6.3f} "
              f"{m['recall@100']:6.3f} {m['qps']:8.0f} {m['qps'] / flat_qps:7.1f} {m['bytes_per_vector']:7.1f} "
              f"{m['build_seconds']:8.1f}")
    print("recall@10 / QPS operating points (k=10):")
    for factory, m in rows:
        pts = ", ".join(f"{p['param'] or '-'}: {p['recall@10']:.3f}/{p['qps']:.0f}" for p in m["operating_points"])
        print(f"  {factory}: {pts}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    worst = min(m["recall@10"] for f, m in rows if f != "Flat")
    print(f"min held-out recall@10 of the tuned indexes {worst:.3f} (target >= 0.90)")


if __name__ == "__main__":
    main()

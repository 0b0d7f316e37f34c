"""Hierarchical k-means at scale: time and memory against one flat Faiss k-means.

Data: N x D float32 (default 1M x 128) in a memory-mapped .npy, a long-tailed
mixture of Gaussian concepts (Zipf concept sizes), written chunk by chunk.
Hierarchical: 3 levels (10k, 1k, 100 clusters), 10 resampling steps each
(sample sizes 10, 5, 5 per cluster), the plugin's defaults otherwise (faiss
backend, 50 Lloyd iterations, k-means++ for every resampling k-means).
Peer: ``faiss.Kmeans`` with level 1's k and the same iterations on the same
memory map. Each side runs in its own process (peak RSS is per process, libraries
included) with the same thread count.

    nice python benchmarks/curation_scale.py                     # the issue's setting (~2 h on a busy 2-core box)
    nice python benchmarks/curation_scale.py --n 200000 --levels 2000,200,20   # 5x smaller N and k (N/k = 100 kept)
    nice python benchmarks/curation_scale.py --n-iter 10         # fewer Lloyd iterations on both sides

Last line: ``hierarchical/flat time ratio R (target <= 3.0); peak rss/data M (target <= 2.0)``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_data(path: Path, n: int, d: int, seed: int = 0, concepts: int = 20000) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, concepts + 1)
    p /= p.sum()
    centres = rng.standard_normal((concepts, d)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    step = 1 << 16
    for s in range(0, n, step):
        e = min(n, s + step)
        lab = rng.choice(concepts, size=e - s, p=p)
        out[s:e] = centres[lab] + 0.3 * rng.standard_normal((e - s, d), dtype=np.float32)
    out.flush()
    del out


def child(args) -> None:
    """Run one side in this process and print a JSON line."""
    import resource

    import faiss
    import numpy as np

    faiss.omp_set_num_threads(args.threads)
    x = np.load(args.data, mmap_mode="r")
    out = {}
    if args.side == "flat":
        km = faiss.Kmeans(x.shape[1], args.levels[0], niter=args.n_iter, seed=args.seed)
        t = time.perf_counter()
        km.train(x)
        out["seconds"] = time.perf_counter() - t
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "data-curation" / "src"))
        from inria_data_curation import HierarchicalKMeans

        model = HierarchicalKMeans(n_clusters=args.levels, n_iter=[args.n_iter], n_resampling_steps=[args.steps],
                                   sample_size=args.sample_sizes, seed=args.seed, backend="faiss", device="cpu",
                                   resample_init=args.resample_init, kpp_points_per_cluster=args.kpp_points)
        t = time.perf_counter()
        model.fit(x)
        out["seconds"] = time.perf_counter() - t
        out["stats"] = model.fit_stats
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


def run_side(side: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--data", str(args.data), "--threads", str(args.threads),
           "--levels", ",".join(map(str, args.levels)), "--n-iter", str(args.n_iter), "--steps", str(args.steps),
           "--sample-sizes", ",".join(map(str, args.sample_sizes)), "--seed", str(args.seed),
           "--resample-init", args.resample_init, "--kpp-points", str(args.kpp_points)]
    env = dict(os.environ, INRIA_PROGRESS="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{side} side failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--levels", type=ints, default=[10000, 1000, 100])
    ap.add_argument("--steps", type=int, default=10, help="resampling steps per level")
    ap.add_argument("--sample-sizes", type=ints, default=[10, 5, 5], help="points per cluster in a resampling step")
    ap.add_argument("--n-iter", type=int, default=50, help="Lloyd iterations, both sides")
    ap.add_argument("--resample-init", default="kmeans++", choices=["kmeans++", "previous"])
    ap.add_argument("--kpp-points", type=int, default=16, help="kpp_points_per_cluster (0: all points)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="faiss threads, both sides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=None, help="an existing (N, D) float32 .npy (else one is made)")
    ap.add_argument("--child", choices=["flat", "hierarchical"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.side = args.child
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="curation_scale_") as tmp:
        if args.data is None:
            args.data = Path(tmp) / "x.npy"
            t = time.perf_counter()
            make_data(args.data, args.n, args.d, args.seed)
            print(f"data: {args.n} x {args.d} float32 long-tailed mixture, {time.perf_counter() - t:.0f} s to write",
                  flush=True)
        import numpy as np

        x = np.load(args.data, mmap_mode="r")
        data_bytes = x.nbytes
        print(f"hierarchical: levels {args.levels}, {args.steps} resampling steps, sample sizes {args.sample_sizes}, "
              f"{args.n_iter} Lloyd iterations, resample init {args.resample_init}, k-means++ on <= "
              f"{args.kpp_points}/cluster, {args.threads} faiss thread(s)", flush=True)
        flat = run_side("flat", args)
        print(f"flat faiss.Kmeans k={args.levels[0]}, {args.n_iter} iterations: {flat['seconds']:.1f} s, "
              f"peak rss {flat['peak_rss_bytes'] / 2**20:.0f} MiB", flush=True)
        hier = run_side("hierarchical", args)
        for key, st in hier["stats"].items():
            if key.startswith("level"):
                print(f"  {key}: k={st['k']} {st['seconds']:.1f} s, Lloyd iterations {st['lloyd_iterations']}, "
                      f"rows searched {st['searched_fraction']:.2f}, resampling subset {st['subset_size']}, "
                      f"empty clusters {st['empty_clusters']}")
        print(f"hierarchical: {hier['seconds']:.1f} s, peak rss {hier['peak_rss_bytes'] / 2**20:.0f} MiB "
              f"(data {data_bytes / 2**20:.0f} MiB)", flush=True)
        ratio = hier["seconds"] / flat["seconds"]
        rss = hier["peak_rss_bytes"] / data_bytes
        print(f"hierarchical/flat time ratio {ratio:.2f} (target <= 3.0); peak rss/data {rss:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()

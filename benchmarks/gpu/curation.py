"""Hierarchical k-means on CUDA (torch backend): time against a flat k-means.

The GPU box has no faiss, so the peer is the same torch backend running one
flat k-means (level 1's k, same iterations, no resampling). Data: N x 128
float32 long-tailed Gaussian mixture (default 2M rows, sized to finish in about
a minute on one H100, under all.sh's 150 s per part). Prints why it is
skipped when torch sees no GPU.

    python benchmarks/gpu/curation.py [--n 2000000] [--levels 2000,200,20] [--n-iter 50]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--levels", default="2000,200,20")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--sample-sizes", default="10,5,5")
    ap.add_argument("--n-iter", type=int, default=50)
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a dry run of the script)")
    args = ap.parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"curation gpu: skipped ({e})")
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("curation gpu: skipped (torch sees no CUDA device)")
        return 0
    for p in (ROOT / "core", ROOT / "plugins" / "data-curation" / "src"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    try:
        from inria_data_curation import HierarchicalKMeans
    except ImportError as e:
        print(f"curation gpu: skipped (plugin import failed: {e})")
        return 0
    levels = [int(v) for v in args.levels.split(",")]
    sizes = [int(v) for v in args.sample_sizes.split(",")]
    dev = torch.device(args.device)

    # long-tailed mixture made on the device, then handed over as numpy (the Curator's input type)
    g = torch.Generator(device=dev).manual_seed(0)
    concepts = 20000
    p = 1.0 / torch.arange(1, concepts + 1, device=dev, dtype=torch.float64)
    lab = torch.multinomial(p / p.sum(), args.n, replacement=True, generator=g)
    centres = torch.randn(concepts, args.d, device=dev, generator=g)
    x = (centres[lab] + 0.3 * torch.randn(args.n, args.d, device=dev, generator=g)).cpu().numpy()
    del lab, centres
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    print(f"curation gpu: {args.n} x {args.d} float32 on {name}; levels {levels}, {args.steps} resampling steps, "
          f"sample sizes {sizes}, {args.n_iter} Lloyd iterations", flush=True)

    def fit(cfg):
        model = HierarchicalKMeans(backend="torch", device=args.device, seed=0, **cfg)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        model.fit(x)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t, model

    t_flat, _ = fit(dict(n_clusters=levels[:1], n_iter=[args.n_iter], n_resampling_steps=[0]))
    print(f"flat k-means k={levels[0]}: {t_flat:.1f} s", flush=True)
    t_hier, model = fit(dict(n_clusters=levels, n_iter=[args.n_iter], n_resampling_steps=[args.steps],
                             sample_size=sizes))
    for key, st in model.fit_stats.items():
        if key.startswith("level"):
            print(f"  {key}: k={st['k']} {st['seconds']:.1f} s, Lloyd iterations {st['lloyd_iterations']}")
    t = time.perf_counter()
    sel = model.sample(args.n // 10)
    print(f"sample({args.n // 10}): {time.perf_counter() - t:.2f} s, {len(sel)} distinct rows")
    print(f"curation gpu: hierarchical {t_hier:.1f} s, flat {t_flat:.1f} s; hierarchical/flat time ratio "
          f"{t_hier / t_flat:.2f} (target <= 3.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time (and accuracy) of the DeiT III digits run, both recipes, one intra-op thread.

Runs ``python -m inria_deit3.train_digits`` without overwriting the shipped
model (results to runs/deit3_digits_bench/results.json) and prints each run's
held-out top-1 and wall time. The shared machine's load changes wall time a
lot; the CPU time of the process is printed beside it.

    .venv/bin/python benchmarks/deit3_digits.py [--epochs N]
"""
from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--budget", type=float, default=480.0, help="the wall-time target in seconds")
    args = parser.parse_args()
    os.environ.setdefault("INRIA_PROGRESS", "0")
    from inria_deit3.train_digits import main as train_digits

    out = Path("runs/deit3_digits_bench")
    argv = ["--no-ship", "--out", str(out), "--json", str(out / "results.json")]
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    started = time.perf_counter()
    results = train_digits(argv)
    wall = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    for key in ("deit3_bce_lamb", "ce_adamw"):
        r = results[key]
        print(f"{key}: top-1 {r['top1']:.4f}, {r['epochs']} epochs, wall {r['wall_s']:.0f} s")
    print(f"process CPU time {cpu.ru_utime + cpu.ru_stime:.0f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"deit3 digits run wall time {wall:.0f} s for both runs, deit3 top-1 "
          f"{results['deit3_bce_lamb']['top1']:.4f} (target <= {args.budget:.0f} s, >= 0.95)")


if __name__ == "__main__":
    main()

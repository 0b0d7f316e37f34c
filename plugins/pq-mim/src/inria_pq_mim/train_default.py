"""Train the small default model shipped in the plugin: ``python -m inria_pq_mim.train_default``.

Data: the named ``train`` split of :mod:`.data` (scikit-image's bundled
photographs listed in ``TRAIN_PHOTOS`` plus 24 procedural images); the
``test`` split (``TEST_PHOTOS``) is never seen and is what the benchmarks
report on. One CPU thread, about 15 minutes on a quiet machine; the
result (card.yaml + weights.safetensors, < 20 MB) goes to
``src/inria_pq_mim/default/`` unless ``--out`` says otherwise.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: the default model's settings; every other field keeps the PQMIMConfig default
RECIPE = {
    "checkpoint": "",
    "channels": [16, 32, 64, 128],
    "stage1": {"steps": 900, "batch_size": 8, "lr": 2e-3, "weight_decay": 0.0, "warmup_steps": 50, "min_lr": 1e-5,
               "clip_grad": 1.0,
               "objective": "pq_mim_autoencoder", "log_every": 50, "seed": 0},
    # stage 2 sees few sub-quantizers more often than stage 1 (full rate 20 %, else 1..16 uniform): the
    # low rates and the hybrid mode depend on predicting sub-quantizer 0 from sparse context
    "stage2": {"steps": 400, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.01, "warmup_steps": 30,
               "min_lr": 1e-5, "objective": "pq_mim_mim", "objective_args": {"full_rate_prob": 0.2},
               "log_every": 50, "seed": 0},
}


def main(argv: list[str] | None = None) -> int:
    import torch

    import inria
    from inria.context import StepContext
    from inria.eval.metrics import bpp, psnr

    from . import data
    from .codec import DEFAULT_DIR

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_DIR), help="model directory to write (default: the plugin's)")
    ap.add_argument("--run-dir", default="runs/pq_mim_default", help="checkpoints and metrics.jsonl")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="multiply both stages' steps (smoke runs)")
    ap.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoints")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(0)
    recipe = json.loads(json.dumps(RECIPE))
    for stage in ("stage1", "stage2"):
        recipe[stage]["steps"] = max(1, round(recipe[stage]["steps"] * args.steps_scale))
    t0 = time.time()
    train = data.split("train")
    codec = inria.create("codec", "pq_mim", **recipe)
    ctx = StepContext.standalone(args.run_dir, resume=args.resume)
    metrics = codec.fit(train, ctx)
    out = Path(args.out)
    codec.save(out, card_extra={
        "trained_by": "python -m inria_pq_mim.train_default",
        "train_split": {"photos": data.TRAIN_PHOTOS, "procedural_images": 24},
        "test_split": {"photos": data.TEST_PHOTOS},
        "train_time_s": round(time.time() - t0, 1),
        "final": {k: round(float(v), 4) for k, v in metrics.items() if k.endswith(("psnr", "bits_per_index"))},
    })
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"saved {out} ({size:.1f} MB) in {time.time() - t0:.0f} s")
    test = data.split("test")
    for m in (2, 4, 8, 16):
        variant = codec.with_overrides(active_subquantizers=m)
        streams = [variant.compress(im) for im in test]
        recon = [variant.decompress(s) for s in streams]
        rate = sum(bpp(s, im) for s, im in zip(streams, test)) / len(test)
        print(f"test split, {m:2d} sub-quantizers: {rate:.3f} bpp, PSNR {psnr(test, recon).mean():.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the zero-bit SSL mark stands for one backbone: |cos| with the carrier per attack, against the threshold.

    .venv/bin/python benchmarks/ssl_watermarking_probe.py                       # the shipped ssl_resnet_cpu
    .venv/bin/python benchmarks/ssl_watermarking_probe.py --no-augment --psnr 36
    .venv/bin/python benchmarks/ssl_watermarking_probe.py --backbone-args '{"checkpoint": null}' --normlayer fit
    .venv/bin/python benchmarks/ssl_watermarking_probe.py --backbone-args '{"img_size": null}' --normlayer fit

The diagnosis behind the plugin README's "Measured" section, cheaper than
``benchmarks/ssl_watermarking.py``: a few held-out 256-px crops, the zero-bit
watermarker with the given backbone / normlayer / marking settings, and per
attack the median |cos(feature, carrier)| beside the cosine threshold of the
hypercone test at FPR 1e-6 for that dimension. It also prints the feature
spectrum (how collapsed the space is: eigenvalues of the feature covariance
relative to the first) and, with ``--normlayer fit``, whitens on
``--whiten`` training crops first. Last line: the smallest median |cos| over
the attacks against the threshold.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

ATTACKS = ["none", "jpeg_50", "crop_0.5", "resize_0.5", "brightness_1.5", "rotate_25"]


def main() -> None:
    import inria
    from inria.data.offline import TrainImages, held_out_crops
    from inria.ops.attacks import apply

    ap = argparse.ArgumentParser()
    ap.add_argument("--backbone", default="ssl_resnet_cpu")
    ap.add_argument("--backbone-args", default="{}", help="JSON, e.g. '{\"checkpoint\": null}' (random init)")
    ap.add_argument("--normlayer", default="default", help="default | fit | null | a path")
    ap.add_argument("--shrinkage", type=float, default=0.0, help="whitening eigenvalue floor (with --normlayer fit)")
    ap.add_argument("--whiten", type=int, default=512, help="training crops the 'fit' normlayer is fitted on")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--psnr", type=float, default=42.0)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    normlayer = None if args.normlayer == "null" else args.normlayer
    zb = inria.create("watermarker", "ssl_zero_bit", backbone=args.backbone,
                      backbone_args=json.loads(args.backbone_args), normlayer=normlayer,
                      whitening_shrinkage=args.shrinkage,
                      marking={"target_psnr": args.psnr, "iterations": args.iterations, "lr": args.lr,
                               "augment": not args.no_augment})
    t0 = time.time()
    train = TrainImages(size=args.size, length=args.whiten, seed=5)
    crops = torch.stack([train[i] for i in range(args.whiten)])
    if args.normlayer == "fit":
        zb.fit(crops)
    with torch.no_grad():
        raw = torch.as_tensor(zb.backbone.embed(crops[:1024])).double()
    ev = torch.linalg.eigvalsh(torch.cov(raw.T)).flip(0).clamp_min(0)
    rel = (ev / ev[0]).numpy()
    picks = [k for k in (1, 8, 32, 64, 128, 256, 511) if k < len(rel)]
    print("feature spectrum (eigenvalue / first): " + ", ".join(f"#{k} {rel[k]:.1e}" for k in picks))
    x = held_out_crops(args.size, args.images, seed=21)
    t1 = time.time()
    marked, _ = zb.embed(x)
    mark_s = (time.time() - t1) / len(x)
    from inria.eval.metrics import psnr

    got_psnr = float(np.mean(psnr(x, marked)))
    thr = zb.threshold()
    worst = 1.0
    print(f"{zb.config.backbone} {json.dumps(zb.config.backbone_args)} normlayer {args.normlayer} (shrinkage {args.shrinkage:g}) D={zb.dim}: "
          f"{len(x)} held-out {args.size}-px crops at {got_psnr:.2f} dB, {mark_s:.1f} s/image, "
          f"augment {not args.no_augment}; cos threshold {thr:.3f} (FPR {zb.config.fpr:g})")
    unmarked = zb.detect(x)
    print(f"{'unmarked':16s} median |cos| {np.median(unmarked.score):.3f}")
    for a in ATTACKS:
        d = zb.detect(apply(a, marked))
        med = float(np.median(d.score))
        worst = min(worst, med)
        print(f"{a:16s} median |cos| {med:.3f}  detected {float(d.detected.mean()):.2f}")
    print(f"total {time.time() - t0:.0f} s")
    print(f"min median |cos| {worst:.3f} over the attacks (threshold {thr:.3f}: detection needs it above)")


if __name__ == "__main__":
    main()

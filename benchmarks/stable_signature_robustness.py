"""Robustness of stable_signature and hidden against invisible-watermark's dwtDct and rivaGan, same photos.

    .venv/bin/python benchmarks/stable_signature_robustness.py [--images 8] [--size 256]

Every method marks the same held-out photo crops (256 px: invisible-watermark
refuses smaller images). Strengths are set for comparable PSNR: hidden's
``scaling_w`` and dwtDct's ``scales`` are bisected towards the PSNR that
stable_signature's watermark costs against its non-watermarked decode D(z)
(the paper's measure); rivaGan has a fixed strength. Each attack uses the
core's names (inria.ops.attacks); attacked images smaller than 256 px are
resized back to 256 px for the two peers, whose decoders refuse smaller
images (our extractors read them as they are). Bit accuracy is the mean
fraction of correct bits (48 bits for ours, 32 for the peers).
The issue's targets are printed beside the figures: detection at FPR 1e-6
(the binomial threshold for 48 bits: >= 41 matching) on >= 95 % of images
unattacked and after jpeg_80, crop_0.5, brightness_1.5, for both of ours;
bit accuracy >= 0.90 after each attack; false positives on ``--unmarked``
(200) held-out crops that carry no watermark.
Last line: the minimum detection rate of stable_signature and hidden over
those four conditions, with the target.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from invisible_watermark_peer import bisect_strength, peer_rows  # benchmarks/ is on sys.path when a script here runs

ATTACKS = ["none", "jpeg_50", "crop_0.5", "resize_0.5", "brightness_1.5", "rotate_25"]
DETECT = ["none", "jpeg_80", "crop_0.5", "brightness_1.5"]  # the detection conditions


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    from inria.eval.metrics import psnr as _psnr

    return float(np.mean(_psnr(a, b)))


def main() -> None:
    import inria
    from inria.ops.attacks import apply
    from inria_stable_signature.data import held_out_crops

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--unmarked", type=int, default=200, help="unwatermarked held-out crops for the false positives")
    args = ap.parse_args()
    torch.set_num_threads(1)
    x = held_out_crops(args.size, args.images, seed=21)
    rng = np.random.default_rng(0)
    rows = {}
    from inria_stable_signature.detection import threshold

    detected = {}  # (method, condition) -> fraction of images detected at FPR 1e-6

    t0 = time.time()
    ss = inria.create("watermarker", "stable_signature")
    marked, plain = ss.decode_pair(x)
    marked, plain = torch.stack(marked), torch.stack(plain)
    target = psnr(marked, plain)
    res = {"psnr": target, "psnr_note": "vs D(z)"}
    for a in ATTACKS:
        bits, _ = ss.extract(list(apply(a, marked).unbind(0)) if a != "none" else list(marked.unbind(0)))
        res[a] = float((bits == ss.key).mean())
    need = threshold(ss.bits, ss.config.fpr)
    for a in DETECT:
        bits, _ = ss.extract(list(apply(a, marked).unbind(0)))
        detected["stable_signature", a] = float(((bits == ss.key).sum(1) >= need).mean())
    rows["stable_signature"] = res

    hd = inria.create("watermarker", "hidden")
    msgs = hd.random_messages(len(x), seed=1)

    def hidden_psnr(s):
        hd.config.scaling_w = s
        return psnr(hd.embed(x[:2], msgs[:2])[0], x[:2])

    hd.config.scaling_w = bisect_strength(hidden_psnr, target, 0.005, 2.0)
    hm, _ = hd.embed(x, msgs)
    res = {"psnr": psnr(hm, x), "scaling_w": hd.config.scaling_w}
    for a in ATTACKS:
        bits, _ = hd.extract(list(apply(a, hm).unbind(0)))
        res[a] = float((bits == msgs).mean())
    for a in DETECT:
        bits, _ = hd.extract(list(apply(a, hm).unbind(0)))
        detected["hidden", a] = float(((bits == msgs).sum(1) >= need).mean())
    rows["hidden"] = res
    clean = held_out_crops(args.size, args.unmarked, seed=22)
    fp = {"stable_signature": int(ss.detect(clean).detected.sum()),
          "hidden": int(hd.detect(clean, hd.random_messages(len(clean), seed=2)).detected.sum())}

    rows.update(peer_rows(x, ATTACKS, args.size, target, rng))

    print(f"{len(x)} held-out photo crops of {args.size} px, {time.time() - t0:.0f} s, one thread")
    head = f"{'method':18s}{'PSNR':>7s}" + "".join(f"{a:>15s}" for a in ATTACKS)
    print(head)
    for name, r in rows.items():
        print(f"{name:18s}{r['psnr']:7.2f}" + "".join(f"{r[a]:15.3f}" for a in ATTACKS))
    print("(stable_signature's PSNR is against its non-watermarked decode D(z), the others' against the photo)")
    print("targets: bit accuracy >= 0.90 after each attack (stretch 0.95); PSNR >= 33 dB for hidden "
          "(~32 dB vs D(z) for stable_signature)")
    for m in ("stable_signature", "hidden"):
        worst = min(rows[m][a] for a in ATTACKS if a != "none")
        print(f"{m:18s} min bit accuracy over the attacks {worst:.3f} (target >= 0.90); PSNR {rows[m]['psnr']:.2f}")
    print(f"detected at FPR {ss.config.fpr:g} (>= {need} of {ss.bits} bits), target >= 0.95 each:")
    for m in ("stable_signature", "hidden"):
        print(f"{m:18s}" + "".join(f"{a}: {detected[m, a]:.3f}  " for a in DETECT))
    print(f"false positives on {len(clean)} unwatermarked held-out crops: stable_signature {fp['stable_signature']}, "
          f"hidden {fp['hidden']} (target 0)")
    print(f"min detection rate {min(detected.values()):.3f} over {len(detected)} method x condition "
          f"(target >= 0.95)")


if __name__ == "__main__":
    main()

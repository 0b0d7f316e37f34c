"""Print the numbers in README.md: rate-distortion of jpeg/webp, target-bpp accuracy, dwt_dct robustness.

    .venv/bin/python plugins/classic/scripts/measure.py [--quick]

Data: scikit-image's bundled photos astronaut, coffee and chelsea, centre
squares (inria.data.images.samples). --quick skips RivaGAN (ONNX, ~2 s per
image and attack on 2 CPU cores).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

import inria
from inria_classic.images import to_rgb_array
from inria.data.images import samples
from inria.eval.codec import evaluate_codec
from inria.eval.metrics import image_quality
from inria.ops.attacks import apply

PHOTOS = ["astronaut", "coffee", "chelsea"]
ATTACKS = ["none", "jpeg_80", "jpeg_50", "webp_50", "resize_0.5_up", "crop_0.5_up", "brightness_1.5", "blur_3"]


def codecs(side: int) -> None:
    images = samples(PHOTOS, size=side)[0]
    print(f"\n## codecs on {', '.join(PHOTOS)} at {side}x{side} (means over the photos)")
    print("| codec | quality | bpp | PSNR dB | MS-SSIM |\n|---|---|---|---|---|")
    for name in ("jpeg", "webp"):
        result = evaluate_codec(inria.create("codec", name), images, {"quality": [10, 30, 50, 75, 90]})
        for p in result["metrics"]["rd"]:
            print(f"| {name} | {p['params']['quality']} | {p['bpp']:.3f} | {p['psnr']:.2f} | {p['ms_ssim']:.4f} |")
    print("\n| codec | target_bpp | bpp per photo | qualities picked |\n|---|---|---|---|")
    for name in ("jpeg", "webp"):
        for target in (0.25, 0.5, 1.0):
            codec = inria.create("codec", name, target_bpp=target)
            picks = [codec.search_quality(Image.fromarray(to_rgb_array(im))) for im in images]
            rates = [len(d) * 8 / (side * side) for _, d in picks]
            print(f"| {name} | {target} | {', '.join(f'{r:.3f}' for r in rates)} | {', '.join(str(q) for q, _ in picks)} |")
    keys = evaluate_codec(inria.create("codec", "jpeg"), images[:1], {"quality": [50]})["metrics"]
    print(f"\nevaluate metric keys: {sorted(keys)}; each rd point: {sorted(keys['rd'][0])}")


def watermarks(side: int, methods: list[str]) -> None:
    images = torch.stack(samples(PHOTOS, size=side)[0])
    print(f"\n## dwt_dct (32 bits, fpr 1e-6) on {', '.join(PHOTOS)} at {side}x{side}: bit accuracy per photo")
    print("| method | PSNR dB | embed s/img | " + " | ".join(ATTACKS) + " | unmarked detected |")
    print("|---" * (len(ATTACKS) + 4) + "|")
    for method in methods:
        wm = inria.create("watermarker", "dwt_dct", method=method)
        t0 = time.perf_counter()
        marked, messages = wm.embed(images, wm.random_messages(len(images), seed=1))
        per_image = (time.perf_counter() - t0) / len(images)
        cells = []
        for attack in ATTACKS:
            det = wm.detect(apply(attack, marked), messages)
            cells.append("/".join(f"{a:.2f}" for a in det.bit_accuracy) + ("" if det.detected.all() else " *"))
        false = wm.detect(images, messages).detected.sum()
        print(f"| {method} | {image_quality(images, marked)['psnr']:.1f} | {per_image:.2f} | "
              + " | ".join(cells) + f" | {false}/{len(images)} |")
    print("(* = not every photo detected at p < 1e-6, i.e. fewer than 30 of 32 bits right)")
    summary = wm.detect(marked, messages).summary()
    print(f"\nembed metric keys: {sorted(image_quality(images, marked))}; detect metric keys: {sorted(summary)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    np.set_printoptions(precision=3)
    codecs(512)
    methods = ["dwtDctSvd", "dwtDct"]
    watermarks(512, methods)
    watermarks(256, methods + ([] if args.quick else ["rivaGan"]))


if __name__ == "__main__":
    main()

"""PQ-MIM rate-distortion on the test split against JPEG and WebP (Pillow, same images, same run).

    .venv/bin/python benchmarks/pq_mim_rd.py [--model DIR] [--out runs/pq_mim_rd]

Test split: ``inria_pq_mim.data.TEST_PHOTOS`` at full size (never seen in
training). PQ-MIM points: one trained model, ``active_subquantizers`` swept
(nested sub-quantizers); JPEG and WebP: a sweep of Pillow qualities. Each
point is the mean over the images of bpp (real bytes, header included), PSNR
and MS-SSIM. BD-PSNR / BD-rate (``inria.eval.bjontegaard``, PCHIP) are over
the bpp range both curves reach; the PSNR of PQ-MIM below WebP's lowest rate
is listed separately, and so is the hybrid mode at ~200 bytes per image.
The hybrid mode is measured on 256x256 centre crops at <= --budget bytes,
beside JPEG at quality 1 (its smallest file); MS-SSIM at 0.1 bpp beside
JPEG's lowest point (JPEG cannot go lower). Writes rd.png and
side_by_side.png (reconstructions at matched bpp) to --out.
Last line: ``BD-PSNR vs JPEG +X.XX dB (target >= +1.0), BD-rate vs JPEG Y % (target <= -40 %)``.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch


def pillow_points(images, fmt: str, qualities):
    from PIL import Image

    from inria.eval.metrics import ms_ssim, psnr
    from inria.ops.image import from_pil, to_pil

    points = []
    for q in qualities:
        rates, recon = [], []
        for im in images:
            buf = io.BytesIO()
            to_pil(im).save(buf, format=fmt, quality=int(q), **({"method": 6} if fmt == "WEBP" else {}))
            rates.append(buf.tell() * 8 / (im.shape[1] * im.shape[2]))
            recon.append(from_pil(Image.open(io.BytesIO(buf.getvalue()))))
        points.append({"q": q, "bpp": float(np.mean(rates)), "psnr": float(np.mean(psnr(images, recon))),
                       "ms_ssim": float(np.mean(ms_ssim(images, recon))), "recon": recon, "rates": rates})
    return points


def codec_points(codec, images, values):
    from inria.eval.metrics import ms_ssim, psnr

    points = []
    for m in values:
        variant = codec.with_overrides(active_subquantizers=m)
        streams = [variant.compress(im) for im in images]
        recon = [variant.decompress(s) for s in streams]
        rates = [len(s) * 8 / (im.shape[1] * im.shape[2]) for s, im in zip(streams, images)]
        points.append({"q": m, "bpp": float(np.mean(rates)), "psnr": float(np.mean(psnr(images, recon))),
                       "ms_ssim": float(np.mean(ms_ssim(images, recon))), "recon": recon,
                       "bytes": [len(s) for s in streams]})
    return points


def _centre_crop(im: torch.Tensor, side: int) -> torch.Tensor:
    h, w = im.shape[-2:]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return im[:, y:y + side, x:x + side].contiguous()


def bd(ours, peer, name):
    """(BD-PSNR dB, BD-rate %) of ours against peer; NaN (and the reason) where the curves do not overlap."""
    from inria.eval.bjontegaard import bd_psnr, bd_rate

    ra, qa = [p["bpp"] for p in peer], [p["psnr"] for p in peer]
    rb, qb = [p["bpp"] for p in ours], [p["psnr"] for p in ours]
    out = []
    for fn in (bd_psnr, bd_rate):
        try:
            out.append(fn(ra, qa, rb, qb))
        except ValueError as e:
            print(f"  vs {name}: {e}")
            out.append(float("nan"))
    return tuple(out)


def main(argv=None) -> int:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default", help="pq_mim checkpoint (default: the shipped model)")
    ap.add_argument("--out", default="runs/pq_mim_rd")
    ap.add_argument("--budget", type=int, default=200, help="bytes per image of the hybrid mode")
    args = ap.parse_args(argv)

    import inria
    from inria.eval.metrics import ms_ssim, psnr
    from inria_pq_mim.data import TEST_PHOTOS, split
    from inria_pq_mim.hybrid import compress_to_budget

    t0 = time.time()
    images = split("test")
    codec = inria.create("codec", "pq_mim", checkpoint=args.model)
    m = codec.config.num_subquantizers
    values = sorted({v for v in (1, 2, 3, 4, 6, 8, 12, 16) if v <= m} | {m})
    print(f"test split: {', '.join(TEST_PHOTOS)} ({sum(im[0].numel() for im in images) / 1e6:.2f} MP)")
    ours = codec_points(codec, images, values)
    jpeg = pillow_points(images, "JPEG", [1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 75, 85, 95])
    webp = pillow_points(images, "WEBP", [0, 2, 5, 10, 20, 30, 40, 50, 60, 75, 85, 95])
    for name, pts, key in (("pq_mim", ours, "M"), ("jpeg", jpeg, "q"), ("webp", webp, "q")):
        print(f"{name}: " + "  ".join(f"{key}={p['q']}: {p['bpp']:.3f} bpp {p['psnr']:.2f} dB "
                                      f"ms-ssim {p['ms_ssim']:.3f}" for p in pts))

    lowest_webp = min(p["bpp"] for p in webp)
    below = [p for p in ours if p["bpp"] < lowest_webp]
    for p in below:
        print(f"below WebP's lowest rate ({lowest_webp:.3f} bpp): pq_mim M={p['q']} {p['bpp']:.3f} bpp "
              f"PSNR {p['psnr']:.2f} dB")
    if not below:
        print(f"no pq_mim point below WebP's lowest rate ({lowest_webp:.3f} bpp)")

    # hybrid mode: a 256x256 centre crop of each test photo at <= budget bytes, beside JPEG's smallest file
    crops = [_centre_crop(im, 256) for im in images]
    hybrid = [compress_to_budget(codec, im, max_bytes=args.budget) for im in crops]
    hyb_recon = [codec.decompress(h.data) for h in hybrid]
    jpeg_min = pillow_points(crops, "JPEG", [1])[0]
    jpeg_min_bytes = [round(b) for b in np.array(jpeg_min["rates"]) * 256 * 256 / 8]
    hyb_psnr, hyb_ssim = psnr(crops, hyb_recon), ms_ssim(crops, hyb_recon)
    print(f"hybrid mode, 256x256 crops at <= {args.budget} bytes: " + "  ".join(
        f"{len(h.data)} B (M={h.active_subquantizers}, groups {h.send_groups}/{codec.config.coding_groups}) "
        f"{p:.2f} dB ms-ssim {q:.3f}" for h, p, q in zip(hybrid, hyb_psnr, hyb_ssim)))
    print(f"hybrid mode mean: {np.mean([len(h.data) for h in hybrid]):.0f} B, PSNR {float(hyb_psnr.mean()):.2f} dB, "
          f"MS-SSIM {float(hyb_ssim.mean()):.3f}; JPEG at its smallest (quality 1): "
          f"{np.mean(jpeg_min_bytes):.0f} B ({min(jpeg_min_bytes)}..{max(jpeg_min_bytes)}), "
          f"PSNR {jpeg_min['psnr']:.2f} dB, MS-SSIM {jpeg_min['ms_ssim']:.3f}")
    hyb_recon = [codec.decompress(compress_to_budget(codec, images[0], max_bytes=args.budget).data)]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _plots(out, images, ours, jpeg, webp, hyb_recon)
    print(f"figures in {out} ({time.time() - t0:.0f} s)")

    # JPEG stops at quality 1: MS-SSIM at 0.1 bpp (interpolated on log bpp) against JPEG's lowest point
    lowest_jpeg = min(jpeg, key=lambda p: p["bpp"])
    ssim_01 = float(np.interp(np.log(0.1), np.log([p["bpp"] for p in ours]), [p["ms_ssim"] for p in ours]))
    psnr_01 = float(np.interp(np.log(0.1), np.log([p["bpp"] for p in ours]), [p["psnr"] for p in ours]))
    print(f"at 0.1 bpp: pq_mim MS-SSIM {ssim_01:.3f}, PSNR {psnr_01:.2f} dB; JPEG stops at quality "
          f"{lowest_jpeg['q']}: {lowest_jpeg['bpp']:.3f} bpp, MS-SSIM {lowest_jpeg['ms_ssim']:.3f}, PSNR "
          f"{lowest_jpeg['psnr']:.2f} dB (target: MS-SSIM above JPEG's)")

    for name, peer in (("JPEG", jpeg), ("WebP", webp)):
        lo = max(min(p["bpp"] for p in ours), min(p["bpp"] for p in peer))
        hi = min(max(p["bpp"] for p in ours), max(p["bpp"] for p in peer))
        print(f"BD range vs {name}: {lo:.3f}..{hi:.3f} bpp (the rates both reach)")
    bd_jpeg, rate_jpeg = bd(ours, jpeg, "JPEG")
    bd_webp, rate_webp = bd(ours, webp, "WebP")
    print(f"BD-PSNR vs WebP {bd_webp:+.2f} dB (goal >= 0), BD-rate vs WebP {rate_webp:+.1f} % "
          f"(NaN = the PSNR ranges do not overlap)")
    print(f"BD-PSNR vs JPEG {bd_jpeg:+.2f} dB (target >= +1.0), BD-rate vs JPEG {rate_jpeg:+.1f} % (target <= -40 %)")
    return 0


def _plots(out: Path, images, ours, jpeg, webp, hyb_recon) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import save_image

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, pts, style in (("PQ-MIM (one model, M swept)", ours, "o-"), ("JPEG", jpeg, "s--"), ("WebP", webp, "^--")):
        axes[0].plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], style, label=name)
        axes[1].plot([p["bpp"] for p in pts], [p["ms_ssim"] for p in pts], style, label=name)
    for ax, label in zip(axes, ("PSNR (dB)", "MS-SSIM")):
        ax.set_xscale("log")
        ax.set_xlabel("bpp")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "rd.png", dpi=110)
    plt.close(fig)
    # side by side at matched bpp: the pq_mim point with most sub-quantizers vs the nearest-rate JPEG / WebP
    p = ours[-1]
    near = [min(pts, key=lambda x: abs(np.log(x["bpp"] / p["bpp"]))) for pts in (jpeg, webp)]
    i = 0
    row = [images[i], p["recon"][i], near[0]["recon"][i], near[1]["recon"][i], hyb_recon[i]]
    save_image(torch.stack(row), out / "side_by_side.png", nrow=5, padding=4, pad_value=1)
    (out / "side_by_side.txt").write_text(
        f"original | pq_mim M={p['q']} {p['bpp']:.3f} bpp | JPEG q={near[0]['q']} {near[0]['bpp']:.3f} bpp | "
        f"WebP q={near[1]['q']} {near[1]['bpp']:.3f} bpp | hybrid (budget) \n")


if __name__ == "__main__":
    sys.exit(main())

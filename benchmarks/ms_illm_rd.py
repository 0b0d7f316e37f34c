"""MS-ILLM vs its No-GAN baseline, JPEG, WebP and PQ-MIM on held-out photos, all measured in this run.

    .venv/bin/python benchmarks/ms_illm_rd.py [--out runs/ms_illm_rd] [--fd-backbone ssl_resnet_cpu]

Test split: ``inria_ms_illm.data.TEST_PHOTOS`` at full size (never seen in
training by the shipped ms_illm/noganms models, nor by pq_mim's default
model, which trained on the same TRAIN_PHOTOS). Points:

- ``noganms`` and ``ms_illm``: the shipped ``low`` and ``mid`` models (each
  ms_illm model is its No-GAN model fine-tuned with a frozen encoder and
  entropy models, so the two are at exactly matched rate);
- ``jpeg`` and ``webp``: the core codecs by name, swept over ``quality``;
- ``pq_mim``: the pq_mim plugin by name (``checkpoint: default``), swept over
  ``active_subquantizers``.

Figures: mean bpp (real bytes) and PSNR per point; feature FD (inria.eval
patch_fd: 64x64 patches, grid + half-shifted grid, features of the
``--fd-backbone`` Backbone by name) for the learned codecs and for JPEG/WebP
points; BD-rate of noganms vs JPEG and BD-PSNR vs WebP on the rates both
reach; encode/decode MP/s on one CPU thread. Writes ``rd.json`` and
``rd.png``; the last line states the targets of issue 17 with the figures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def points(codec, images, label, q, fd):
    from inria.eval.metrics import psnr

    t = time.perf_counter()
    streams = [codec.compress(im) for im in images]
    enc = time.perf_counter() - t
    t = time.perf_counter()
    recon = [codec.decompress(s) for s in streams]
    dec = time.perf_counter() - t
    mp = sum(im.shape[1] * im.shape[2] for im in images) / 1e6
    rates = [len(s) * 8 / (im.shape[1] * im.shape[2]) for s, im in zip(streams, images)]
    out = {"codec": label, "q": q, "bpp": float(np.mean(rates)), "psnr": float(np.mean(psnr(images, recon))),
           "enc_mps": mp / enc, "dec_mps": mp / dec}
    if fd is not None:
        out["fd"] = fd(images, recon)
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}), flush=True)
    return out


def main(argv=None) -> int:
    import torch

    import inria
    from inria.eval import patch_fd
    from inria.eval.bjontegaard import bd_psnr, bd_rate, overlap
    from inria_ms_illm.data import TEST_PHOTOS, photos

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/ms_illm_rd")
    ap.add_argument("--fd-backbone", default="ssl_resnet_cpu", help="Backbone (by name) whose features the FD uses")
    ap.add_argument("--fd-args", default='{"checkpoint": "default"}', help="JSON keywords of that Backbone")
    ap.add_argument("--patch", type=int, default=64, help="FD patch side")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = photos(TEST_PHOTOS)
    print(f"test split: {', '.join(TEST_PHOTOS)} ({sum(im[0].numel() for im in images) / 1e6:.2f} MP)")
    backbone = inria.create("backbone", args.fd_backbone, **json.loads(args.fd_args))
    fd = lambda real, dec: patch_fd(real, dec, backbone, size=args.patch)["fd"]  # noqa: E731

    rows = []
    for name in ("noganms", "ms_illm"):
        for rate in ("low", "mid"):
            rows.append(points(inria.create("codec", name, checkpoint=rate), images, name, rate, fd))
    for name, qualities in (("jpeg", [2, 5, 10, 20, 30, 50, 75]), ("webp", [1, 5, 10, 20, 40, 60, 80])):
        base = inria.create("codec", name)
        for q in qualities:
            rows.append(points(base.with_overrides(quality=q), images, name, q, fd))
    try:
        pq = inria.create("codec", "pq_mim", checkpoint="default")
        for m in (1, 2, 4, 8, 16):
            rows.append(points(pq.with_overrides(active_subquantizers=m), images, "pq_mim", m, None))
    except inria.errors.InriaError as e:  # pq_mim not installed or its model not built
        print(f"pq_mim skipped: {e}")
    (out / "rd.json").write_text(json.dumps(rows, indent=1))

    def curve(name):
        pts = sorted((r for r in rows if r["codec"] == name), key=lambda r: r["bpp"])
        return [r["bpp"] for r in pts], [r["psnr"] for r in pts]

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name in ("noganms", "ms_illm", "jpeg", "webp", "pq_mim"):
            r, p = curve(name)
            if r:
                ax.plot(r, p, "o-", label=name)
        ax.set_xlabel("bpp (real bytes)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_xscale("log")
        ax.legend()
        ax.set_title("held-out photos: " + ", ".join(TEST_PHOTOS))
        fig.tight_layout()
        fig.savefig(out / "rd.png", dpi=120)
    except Exception as e:  # plotting is a convenience
        print(f"no plot: {e}")

    nogan = {r["q"]: r for r in rows if r["codec"] == "noganms"}
    gan = {r["q"]: r for r in rows if r["codec"] == "ms_illm"}
    for q in ("low", "mid"):
        a, b = nogan[q], gan[q]
        print(f"{q}: noganms {a['bpp']:.4f} bpp {a['psnr']:.2f} dB FD {a['fd']:.3f} | ms_illm {b['bpp']:.4f} bpp "
              f"{b['psnr']:.2f} dB FD {b['fd']:.3f}")
    jr, jp = curve("jpeg")
    wr, wp = curve("webp")

    def vs_jpeg(name):
        try:
            return f"{bd_rate(jr, jp, *curve(name)):+.1f} %"
        except ValueError as e:
            return f"n/a ({e})"

    def vs_webp(name):
        r, p = curve(name)
        try:
            lo, hi = overlap(wr, r)
            return f"{bd_psnr(wr, wp, r, p):+.2f} dB on {lo:.3f}-{hi:.3f} bpp"
        except ValueError as e:
            return f"n/a ({e})"

    speed = {}
    for name in ("noganms", "ms_illm", "jpeg", "webp", "pq_mim"):
        pts = [r for r in rows if r["codec"] == name]
        if pts:
            speed[name] = (np.mean([r["enc_mps"] for r in pts]), np.mean([r["dec_mps"] for r in pts]))
            print(f"{name}: encode {speed[name][0]:.3f} MP/s, decode {speed[name][1]:.3f} MP/s "
                  "(one thread, mean over its points)")
    pq = (f"pq_mim BD-rate vs JPEG {vs_jpeg('pq_mim')}, BD-PSNR vs WebP {vs_webp('pq_mim')}" if "pq_mim" in speed
          else "pq_mim not measured")
    mps = ", ".join(f"{n} {e:.2f}/{d:.2f}" for n, (e, d) in speed.items() if n in ("noganms", "jpeg", "pq_mim"))
    fd_wins = sum(gan[q]["fd"] < nogan[q]["fd"] for q in ("low", "mid"))
    drops = [nogan[q]["psnr"] - gan[q]["psnr"] for q in ("low", "mid")]
    print(f"ms_illm FD below noganms at {fd_wins}/2 matched rates, PSNR drop {max(drops):.2f} dB "
          f"(target: 2/2, < 1.5 dB); noganms BD-rate vs JPEG {vs_jpeg('noganms')} (target: <= -40 %); "
          f"BD-PSNR vs WebP {vs_webp('noganms')} (target: >= 0); beside: {pq}; "
          f"encode/decode MP/s on one thread: {mps}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

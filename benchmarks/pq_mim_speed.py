"""PQ-MIM coding speed on CPU (one thread), and where the time goes, beside Pillow's WebP in the same run.

    .venv/bin/python benchmarks/pq_mim_speed.py [--model DIR] [--threads 1]

Encode and decode megapixels/s of the shipped model on the test split at
full rate (all sub-quantizers) and at 4 sub-quantizers; the time is split
into the convolutional autoencoder, the MIM transformer (float64, see
entropy_coding.py) and the range coder + integer tables. Last line: the
decode share of the transformer and of the entropy coder.
"""
from __future__ import annotations

import argparse
import io
import sys
import time

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    import inria
    from inria.bitstream import unpack
    from inria.ops.image import to_pil
    from inria_pq_mim.data import split
    from inria_pq_mim.header import from_meta

    images = split("test")
    mp = sum(im[0].numel() for im in images) / 1e6
    base = inria.create("codec", "pq_mim", checkpoint=args.model)
    base.compress(images[0][:, :64, :64])  # warm-up: builds the float64 coder, imports
    last = {}
    for m in (base.config.num_subquantizers, 4):
        codec = base.with_overrides(active_subquantizers=m)
        coder = codec.coder
        coder.timing = {"transformer": 0.0, "coder": 0.0}
        t0 = time.perf_counter()
        streams = [codec.compress(im) for im in images]
        t_enc = time.perf_counter() - t0
        enc_timing = dict(coder.timing)
        coder.timing = {"transformer": 0.0, "coder": 0.0}
        t0 = time.perf_counter()
        for s in streams:
            codec.decompress(s)
        t_dec = time.perf_counter() - t0
        dec_timing = dict(coder.timing)
        # the autoencoder alone (what is neither transformer nor coder, measured directly)
        t0 = time.perf_counter()
        for s, im in zip(streams, images):
            box = unpack(s)
            settings, _ = from_meta(box.meta, codec.config.num_subquantizers)
            ds = codec.autoencoder.downsampling
            tok = torch.zeros(codec.config.num_subquantizers, -(-box.height // ds), -(-box.width // ds), dtype=torch.long)
            codec.autoencoder.decode(tok[None], settings.active)
        t_convdec = time.perf_counter() - t0
        bpp = sum(len(s) * 8 for s in streams) / (mp * 1e6)
        print(f"M={m:2d} ({bpp:.3f} bpp): encode {mp / t_enc:.3f} MP/s (transformer {enc_timing['transformer'] / t_enc:.0%}, "
              f"coder {enc_timing['coder'] / t_enc:.0%}); decode {mp / t_dec:.3f} MP/s (transformer "
              f"{dec_timing['transformer'] / t_dec:.0%}, coder {dec_timing['coder'] / t_dec:.0%}, "
              f"conv decoder {t_convdec / t_dec:.0%})")
        if m == base.config.num_subquantizers:
            last = {"dec": mp / t_dec, "tr": dec_timing["transformer"] / t_dec, "co": dec_timing["coder"] / t_dec}

    t0 = time.perf_counter()
    blobs = []
    for im in images:
        buf = io.BytesIO()
        to_pil(im).save(buf, format="WEBP", quality=50)
        blobs.append(buf.getvalue())
    t_wenc = time.perf_counter() - t0
    from PIL import Image

    t0 = time.perf_counter()
    for b in blobs:
        Image.open(io.BytesIO(b)).load()
    t_wdec = time.perf_counter() - t0
    print(f"peer: Pillow WebP q50 encode {mp / t_wenc:.1f} MP/s, decode {mp / t_wdec:.1f} MP/s")
    print(f"pq_mim decode (all sub-quantizers) {last['dec']:.3f} MP/s on {args.threads} thread(s): transformer {last['tr']:.0%}, "
          f"entropy coder {last['co']:.0%} of the time (target: report; WebP decodes {mp / t_wdec:.0f} MP/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

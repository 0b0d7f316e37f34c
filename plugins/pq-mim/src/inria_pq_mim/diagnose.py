"""Where the dB and the bits of a pq_mim model go: ``python -m inria_pq_mim.diagnose [--model DIR]``.

On the test split (``data.TEST_PHOTOS``, never seen in training), one thread:

- PSNR of the autoencoder *without* quantization (encoder -> decoder), the
  ceiling no codebook can pass;
- PSNR with the first m sub-quantizers active (m = 1, 2, 4, ..., M), from the
  indices alone (no entropy coding: the same as the decoded stream);
- per sub-quantizer: codewords used on the test split, perplexity of the
  index histogram (2**entropy; log2 K would be a uniform code);
- the rate split at full rate: bits per sub-index of the real bytes (MIM
  model + range coder) against log2 K (a uniform code) and against the
  empirical entropy of each sub-quantizer's marginal (an i.i.d. code).
"""
from __future__ import annotations

import argparse
import math

import torch


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    from inria.eval.metrics import psnr

    return float(psnr(a, b).mean())


@torch.no_grad()
def diagnose(codec, images: list[torch.Tensor]) -> dict:
    from inria.ops.image import pad_to_multiple

    ae = codec.autoencoder.eval()
    ds, m, k = ae.downsampling, codec.config.num_subquantizers, codec.config.codebook_size
    steps = sorted({v for v in (1, 2, 4, 8, 12) if v < m} | {m})
    unq, by_m = [], {v: [] for v in steps}
    indices = []
    for im in images:
        x, _ = pad_to_multiple(im.unsqueeze(0), ds)
        h, w = im.shape[-2:]
        z = ae.encoder(x)
        unq.append(ae.decoder(z).clamp(0, 1)[0, :, :h, :w])
        idx = ae.quantizer.encode(z)
        indices.append(idx[0].flatten(1))  # (M, positions)
        for v in steps:
            by_m[v].append(ae.decode(idx, v)[0, :, :h, :w])
    out = {"unquantized_psnr": _psnr(images, unq),
           "psnr_by_active": {v: _psnr(images, r) for v, r in by_m.items()}}
    allidx = torch.cat(indices, dim=1)  # (M, N)
    per_sub = []
    for j in range(m):
        counts = torch.bincount(allidx[j], minlength=k).double()
        p = counts[counts > 0] / counts.sum()
        ent = float(-(p * p.log2()).sum())
        per_sub.append({"used": int((counts > 0).sum()), "perplexity": 2 ** ent, "entropy_bits": ent})
    out["per_subquantizer"] = per_sub
    positions = allidx.shape[1]
    streams = [codec.compress(im) for im in images]
    total_bits = sum(len(s) * 8 for s in streams)
    out["rate"] = {
        "positions": positions,
        "bits_per_subindex_coded": total_bits / (positions * m),
        "bits_per_subindex_uniform": math.log2(k),
        "bits_per_subindex_iid": sum(s["entropy_bits"] for s in per_sub) / m,
        "bpp_coded": total_bits / sum(im.shape[1] * im.shape[2] for im in images),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default", help="pq_mim checkpoint (default: the shipped model)")
    args = ap.parse_args(argv)
    import inria

    from .data import TEST_PHOTOS, split

    codec = inria.create("codec", "pq_mim", checkpoint=args.model)
    d = diagnose(codec, split("test"))
    c = codec.config
    print(f"model {args.model}: downsampling {c.downsampling}, latent {c.latent_dim}, M={c.num_subquantizers}, "
          f"K={c.codebook_size}; test split {', '.join(TEST_PHOTOS)}")
    print(f"unquantized autoencoder: PSNR {d['unquantized_psnr']:.2f} dB")
    print("quantized, m sub-quantizers active: " + "  ".join(
        f"m={v}: {p:.2f} dB" for v, p in d["psnr_by_active"].items()))
    print("per sub-quantizer (codewords used / K, perplexity): " + "  ".join(
        f"{j}: {s['used']}/{c.codebook_size} {s['perplexity']:.0f}" for j, s in enumerate(d["per_subquantizer"])))
    r = d["rate"]
    print(f"rate at m={c.num_subquantizers}: {r['bpp_coded']:.3f} bpp; bits per sub-index: MIM-coded "
          f"{r['bits_per_subindex_coded']:.2f} (header included), i.i.d. marginal entropy "
          f"{r['bits_per_subindex_iid']:.2f}, uniform log2 K {r['bits_per_subindex_uniform']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

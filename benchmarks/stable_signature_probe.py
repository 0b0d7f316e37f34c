"""The diagnosis behind ``train_default --preset cpu``: how fast HiDDeN's code emerges, per message path.

    .venv/bin/python benchmarks/stable_signature_probe.py [--steps 1000] [--archs cpu,cpu_carriers] [--lr 1e-3]
        [--padding circular] [--set decoder_channels=64] [--encoder pair]

Trains encoder + extractor of each named architecture (hidden.ARCHS) on the same stream of 16-px training crops
(8192 pre-drawn, offline), random 48-bit messages, no attacks, no image loss, Adam without weight decay,
residual strength 1.0, one thread; prints the training bit accuracy (mean over the last 100 steps) every 100
steps, and every 500 steps the bit accuracy on held-out photo crops of 16, 64 and 128 px (does the code
carry over to larger images?). ``--set FIELD=INT`` changes a field of the named architectures (width, depth, bits);
``--encoder pair`` swaps in :class:`PairCarrierEncoder` (two carriers per bit, the bit selects one: not antipodal, so
the extractor can read an energy instead of a sign). Last line: the final bit accuracy of each architecture (report: the one that rises first is the
preset's).
"""
from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F


def held_out(enc, dec, bits: int, size: int) -> float:
    """Bit accuracy on 16 held-out photo crops of ``size`` px (chelsea, rocket), residual strength 1.0, eval mode."""
    from inria.data.offline import held_out_crops
    from inria_stable_signature.hidden import IMAGENET_STD, normalize

    enc.eval(), dec.eval()
    x = held_out_crops(size, 16, seed=11)
    m = (torch.rand(len(x), bits, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    with torch.no_grad():
        xw = x + torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * enc(normalize(x), 2 * m - 1)
        acc = float(((dec(normalize(xw)) > 0) == (m > 0)).float().mean())
    enc.train(), dec.train()
    return acc


class PairCarrierEncoder(torch.nn.Module):
    """A probe-only message path: ``tanh(sum_k c_{k, m_k}(x) / sqrt(bits))``, one of two image-dependent carriers
    per bit. The antipodal CarrierEncoder writes r and -r for the two values of a bit, and a translation-invariant
    extractor (average pooling) must tell them apart by an odd statistic; two free carriers let it read energies."""

    def __init__(self, bits: int, depth: int, channels: int):
        from inria_stable_signature.hidden import ConvBNGELU

        # CarrierEncoder's trunk, built here rather than by subclassing it: a subclass would first initialise (and
        # then replace) a 3 x bits carrier conv, which draws other initial weights than the README's figures'
        super().__init__()
        self.bits = bits
        self.conv_bns = torch.nn.Sequential(ConvBNGELU(3, channels),
                                            *[ConvBNGELU(channels, channels) for _ in range(depth - 1)])
        self.carriers = torch.nn.Conv2d(channels + 3, 6 * bits, 3, padding=1)

    def forward(self, x: torch.Tensor, msgs: torch.Tensor) -> torch.Tensor:
        c = self.carriers(torch.cat([self.conv_bns(x), x], 1)).unflatten(1, (2, self.bits, 3))
        on = (msgs > 0).float()
        return torch.tanh(torch.einsum("njkchw,njk->nchw", c, torch.stack([on, 1 - on], 1)) / self.bits ** 0.5)


def run(arch_name: str, pool: torch.Tensor, steps: int, lr: float, batch: int, padding: str = "zeros",
        fields: dict | None = None, encoder: str = "arch") -> float:
    import dataclasses

    from inria_stable_signature.hidden import (ARCHS, IMAGENET_STD, hidden_decoder, hidden_encoder, normalize,
                                               set_padding)

    torch.manual_seed(0)
    arch = dataclasses.replace(ARCHS[arch_name], padding=padding, **(fields or {}))
    if encoder == "pair":
        enc = set_padding(PairCarrierEncoder(arch.bits, arch.encoder_depth, arch.encoder_channels), padding)
    else:
        enc = hidden_encoder(arch)
    dec = hidden_decoder(arch)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=lr)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(0)
    acc, t0 = [], time.time()
    for step in range(1, steps + 1):
        x = pool[torch.randint(0, len(pool), (batch,), generator=g)]
        m = (torch.rand(batch, arch.bits, generator=g) > 0.5).float()
        xw = x + std * enc(normalize(x), 2 * m - 1)
        logits = dec(normalize(xw))
        loss = F.binary_cross_entropy_with_logits(logits, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc.append(((logits > 0) == (m > 0)).float().mean().item())
        if step % 100 == 0:
            psnr = 10 * math.log10(1 / ((xw.detach().clamp(0, 1) - x) ** 2).mean().item())
            extra = ""
            if step % 500 == 0:
                extra = "  held-out " + " ".join(f"{s}px {held_out(enc, dec, arch.bits, s):.3f}" for s in (16, 64, 128))
            print(f"{arch_name:14s} step {step:5d}  bit acc {sum(acc[-100:]) / 100:.3f}  PSNR {psnr:.1f} dB  "
                  f"{time.time() - t0:.0f} s{extra}", flush=True)
    return sum(acc[-100:]) / min(100, len(acc))


def main() -> None:
    from inria_stable_signature.data import TrainImages

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--archs", default="cpu,cpu_carriers")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--padding", default="zeros", help="conv padding of both networks: zeros or circular")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=INT",
                    help="an integer field of the architectures (hidden.HiddenArch), e.g. decoder_channels=64")
    ap.add_argument("--encoder", choices=("arch", "pair"), default="arch",
                    help="the architecture's encoder, or the probe's PairCarrierEncoder")
    args = ap.parse_args()
    fields = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not value.lstrip("-").isdigit():
            ap.error(f"--set {item!r}: expected FIELD=INT, e.g. decoder_channels=64")
        fields[key] = int(value)
    torch.set_num_threads(1)
    data = TrainImages(16, 8192, seed=1)
    pool = torch.stack([data[i] for i in range(len(data))])
    final = {a: run(a, pool, args.steps, args.lr, args.batch, args.padding, fields, args.encoder)
             for a in args.archs.split(",")}
    print("final bit accuracy after", args.steps, "steps: " + ", ".join(f"{a} {v:.3f}" for a, v in final.items()),
          "(report: the code emerges first for the preset's cpu_carriers)")


if __name__ == "__main__":
    main()

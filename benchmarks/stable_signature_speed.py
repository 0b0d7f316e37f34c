"""Embed and detect throughput of stable_signature and hidden beside invisible-watermark's dwtDct and rivaGan.

    .venv/bin/python benchmarks/stable_signature_speed.py [--images 8] [--rounds 3]

Same photo crops for every method, at 256 and 512 px, on the CPU with one
thread for torch. Time is the process CPU time (``time.process_time``: the
machine is shared, so other processes do not count, while every thread of
this one does, onnxruntime's for rivaGan included), the best of ``--rounds``
rounds. Our
methods run batched (``batch_size`` images per forward pass); the peers take
one image per call, which is their API. stable_signature's embed is a full
auto-encoding (latent encoder + watermarked decoder), the paper's cost of a
generated image; detect is one extractor pass for every method.
Last line: stable_signature detect images/s over dwtDct's at 256 px (no
target in the issue: reported beside the peers).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from invisible_watermark_peer import Peer  # benchmarks/ is on sys.path when a script here runs


def best_of(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    import inria
    from inria_stable_signature.data import held_out_crops

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows: dict[tuple[str, int], tuple[float, float]] = {}
    for size in (256, 512):
        x = held_out_crops(size, args.images, seed=3)
        n = len(x)
        ss = inria.create("watermarker", "stable_signature")
        marked, keys = ss.embed(x)
        rows[("stable_signature", size)] = (n / best_of(lambda: ss.embed(x), args.rounds),
                                            n / best_of(lambda: ss.detect(marked), args.rounds))
        hd = inria.create("watermarker", "hidden")
        msgs = hd.random_messages(n, seed=1)
        hm, _ = hd.embed(x, msgs)
        rows[("hidden", size)] = (n / best_of(lambda: hd.embed(x, msgs), args.rounds),
                                  n / best_of(lambda: hd.detect(hm, msgs), args.rounds))
        pm = np.random.default_rng(0).integers(0, 2, (n, 32))
        for method in ("dwtDct", "rivaGan"):
            try:
                if method == "rivaGan":
                    import onnxruntime  # noqa: F401  (rivaGan's ONNX model needs it)
                peer = Peer(method)
            except Exception as e:  # invisible-watermark or onnxruntime missing
                print(f"{method}: skipped ({type(e).__name__}: {e})")
                continue

            def embed_all(peer=peer):
                return [peer.embed(im, m) for im, m in zip(x, pm)]

            wm = embed_all()

            def detect_all(peer=peer, size=size):
                return [peer.decode(im, size) for im in wm]

            rows[(method, size)] = (n / best_of(embed_all, args.rounds), n / best_of(detect_all, args.rounds))

    print(f"{args.images} photo crops per size, CPU, one thread, best of {args.rounds} rounds (process CPU time)")
    print(f"{'method':18s}{'size':>6s}{'embed img/s':>14s}{'detect img/s':>14s}")
    for (name, size), (e, d) in rows.items():
        print(f"{name:18s}{size:6d}{e:14.2f}{d:14.2f}")
    ours = rows[("stable_signature", 256)][1]
    peer = rows.get(("dwtDct", 256), (float("nan"), float("nan")))[1]
    print(f"stable_signature/dwtDct detect throughput ratio at 256 px {ours / peer:.2f} (no target: reported)")


if __name__ == "__main__":
    main()

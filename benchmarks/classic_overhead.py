"""The classic plugin's jpeg compress against calling Pillow directly, in one run.

Both sides start from the same float (3, H, W) tensors in [0, 1] (the core's
image type) and must write the same JPEG file (checked byte for byte): the
peer converts to 8 bits and calls ``Image.save`` itself; the plugin adds what
a user gets from it (input checks: type, shape, dtype, finite values; the
registry-built object). Time is this thread's CPU time (``time.thread_time``,
torch held to one thread, Pillow encodes on the calling thread), so other
processes on a shared machine do not count; calls alternate between the two
image by image, in alternating order, and each side's time for an image is
its median over the rounds.

    .venv/bin/python benchmarks/classic_overhead.py [--rounds 30]
"""
from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
import torch
from PIL import Image
from skimage import data

import inria

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")


def pillow_direct(x: torch.Tensor, quality: int) -> bytes:
    arr = (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    return buf.getvalue()


def clock(fn, *args) -> float:
    t0 = time.thread_time()
    fn(*args)
    return time.thread_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quality", type=int, default=75)
    args = parser.parse_args()
    torch.set_num_threads(1)

    # Both memory layouts a (3, H, W) tensor has in practice: a permuted view of an (H, W, 3) array
    # (what loading a file gives) and a contiguous (3, H, W) tensor (what a network or a resize gives).
    loaded = [torch.from_numpy(getattr(data, n)()[..., :3].copy()).permute(2, 0, 1).float() / 255 for n in PHOTOS]
    images = loaded + [im.contiguous() for im in loaded]
    mpix = sum(im.shape[1] * im.shape[2] for im in images) / 1e6
    codec = inria.create("codec", "jpeg", quality=args.quality)
    assert all(codec.compress(im) == pillow_direct(im, args.quality) for im in images), "not the same files"
    arrays = [(im.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for im in images]

    def encode_only(i: int) -> None:
        Image.fromarray(arrays[i]).save(io.BytesIO(), format="JPEG", quality=args.quality)

    plugin, peer, encode = ([[] for _ in images] for _ in range(3))
    for r in range(args.rounds):
        for i, im in enumerate(images):
            if (r + i) % 2:
                plugin[i].append(clock(codec.compress, im))
                peer[i].append(clock(pillow_direct, im, args.quality))
            else:
                peer[i].append(clock(pillow_direct, im, args.quality))
                plugin[i].append(clock(codec.compress, im))
            encode[i].append(clock(encode_only, i))
    t_plugin, t_peer, t_enc = (sum(statistics.median(t) for t in side) for side in (plugin, peer, encode))
    print(f"{len(PHOTOS)} photos in 2 memory layouts, {mpix:.2f} Mpx, quality {args.quality}, "
          f"median CPU time of {args.rounds} rounds per image")
    print(f"pillow encode only (uint8 arrays ready)    {mpix / t_enc:6.1f} Mpx/s (CPU)")
    print(f"pillow direct (float tensor -> file)       {mpix / t_peer:6.1f} Mpx/s (CPU)")
    print(f"inria jpeg.compress (float tensor -> file) {mpix / t_plugin:6.1f} Mpx/s (CPU)")
    print(f"jpeg encode throughput ratio {t_peer / t_plugin:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()

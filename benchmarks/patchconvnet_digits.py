"""PatchConvNet vs DeiT III on scikit-learn digits: held-out top-1, parameters, CPU images/s; the attention figure.

Both shipped digits models are loaded by name from the registry (deit3_digits with
``checkpoint: default``, its shipped weights)
(``patchconvnet_digits``, ``deit3_digits``) and measured in the same run,
one intra-op thread: top-1 on the core's fixed 360-image test split,
inference images/s (batches of 128) and training-step images/s (forward,
backward, AdamW step, batches of 64). Writes ``attention.png`` to --out:
per class, a test digit and the pooling layer's attention over it (the
paper's figure).

    .venv/bin/python benchmarks/patchconvnet_digits.py [--out runs/patchconvnet_digits_bench]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch


def images_per_s(fn, n_images: int, repeats: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n_images / best


def train_step_rate(module: torch.nn.Module, x: torch.Tensor, num_classes: int) -> float:
    module.train()
    opt = torch.optim.AdamW(module.parameters(), lr=1e-4)
    y = torch.arange(len(x)) % num_classes

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(module(x), y).backward()
        opt.step()
    rate = images_per_s(step, len(x))
    module.eval()
    return rate


def draw_attention(backbone, images, labels, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = [int(np.flatnonzero(labels == c)[0]) for c in range(10)]
    maps, logits = backbone.attention_maps(images[picks])
    fig, axes = plt.subplots(2, 10, figsize=(15, 3.4))
    for i, (k, m) in enumerate(zip(picks, maps)):
        img = images[k].permute(1, 2, 0).numpy()
        axes[0, i].imshow(img)
        axes[0, i].set_title(f"{labels[k]} -> {int(logits[i].argmax())}", fontsize=9)
        axes[1, i].imshow(img)
        up = np.kron(m / m.max(), np.ones((img.shape[0] // m.shape[0], img.shape[1] // m.shape[1])))
        axes[1, i].imshow(up, cmap="jet", alpha=0.55)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("patchconvnet_digits: class-attention pooling weights over the patches (bottom)")
    fig.tight_layout()
    path = out / "attention.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/patchconvnet_digits_bench")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import inria
    from inria.data.images import digits

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = digits("test", size=32)
    labels = np.asarray(labels)
    rows = {}
    for name in ("patchconvnet_digits", "deit3_digits"):
        bb = inria.create("backbone", name, checkpoint="default") if name == "deit3_digits" \
            else inria.create("backbone", name)
        module = bb.module
        params = sum(p.numel() for p in module.parameters())
        top1 = float((bb.classify(images).argmax(-1).numpy() == labels).mean())
        x = images[:128].contiguous()
        with torch.no_grad():
            module.eval()
            infer = images_per_s(lambda: module(x), len(x))
        train = train_step_rate(module, images[:64].contiguous(), 10)
        rows[name] = (top1, params, infer, train)
        print(f"{name}: top-1 {100 * top1:.1f} % ({len(labels)} test images), {params / 1e6:.2f} M parameters, "
              f"inference {infer:.0f} img/s, training step {train:.0f} img/s (one thread)")
        if name == "patchconvnet_digits":
            print(f"attention figure: {draw_attention(inria.create('backbone', name), images, labels, out)}")
    (p_top1, *_), (d_top1, *_) = rows["patchconvnet_digits"], rows["deit3_digits"]
    p, d = rows["patchconvnet_digits"], rows["deit3_digits"]
    print(f"throughput ratio patchconvnet / deit3: inference {p[2] / d[2]:.2f}, training {p[3] / d[3]:.2f} "
          f"at {p[1] / d[1]:.2f}x the parameters")
    print(f"digits top-1 {100 * p_top1:.1f} % vs deit3 {100 * d_top1:.1f} % (target >= deit3's)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""DeiT III plugin vs timm: training and inference images/s of ViT-S/16 at 224, CPU, same run.

The plugin's ``deit3_small`` module against ``timm.create_model("deit3_small_patch16_224")``
with the same settings (224x224, no drop-path, same loss and optimizer, same
batches), measured interleaved (plugin, timm, plugin, timm ...) so that load
changes on the shared machine hit both alike; the best rate per model is kept
(as timeit does: background load only ever slows a run down).
The plugin builds on timm's VisionTransformer, so the ratio should be ~1.
Last line: ``deit3/timm throughput ratio X.XXX (target >= 0.95)`` (the
lower of the training and inference ratios).

    .venv/bin/python benchmarks/deit3_vs_timm.py [--threads 1] [--iters 5]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--infer-batch", type=int, default=4)
    parser.add_argument("--train-batch", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import timm
    import inria

    torch.manual_seed(0)
    plugin = inria.create("backbone", "deit3_small", drop_path=0.0).module
    reference = timm.create_model("deit3_small_patch16_224", pretrained=False, drop_path_rate=0.0)
    n_plugin = sum(p.numel() for p in plugin.parameters())
    n_ref = sum(p.numel() for p in reference.parameters())
    assert n_plugin == n_ref, (n_plugin, n_ref)
    models = {"deit3": plugin, "timm": reference}
    optims = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}
    x_inf = torch.rand(args.infer_batch, 3, 224, 224)
    x_tr = torch.rand(args.train_batch, 3, 224, 224)
    y_tr = F.one_hot(torch.randint(0, 1000, (args.train_batch,)), 1000).float()

    def infer(name):
        m = models[name].eval()
        with torch.inference_mode():
            t = time.perf_counter()
            m(x_inf)
            return args.infer_batch / (time.perf_counter() - t)

    def train(name):
        m, opt = models[name].train(), optims[name]
        t = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(m(x_tr), y_tr)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return args.train_batch / (time.perf_counter() - t)

    results = {}
    for mode, fn in (("inference", infer), ("training", train)):
        for name in models:  # warm-up
            fn(name)
        rates = {name: [] for name in models}
        for _ in range(args.iters):
            for name in models:
                rates[name].append(fn(name))
        med = {name: max(r) for name, r in rates.items()}
        results[mode] = med["deit3"] / med["timm"]
        print(f"{mode}: deit3_small {med['deit3']:.2f} img/s, timm deit3_small_patch16_224 {med['timm']:.2f} img/s, "
              f"ratio {results[mode]:.3f} (batch {args.infer_batch if mode == 'inference' else args.train_batch}, "
              f"{args.iters} iters, {args.threads} thread(s))", flush=True)
    print(f"deit3/timm throughput ratio {min(results.values()):.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()

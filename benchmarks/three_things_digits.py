"""The three things at digit scale, one intra-op thread: every figure next to its peer from the same run.

    .venv/bin/python benchmarks/three_things_digits.py            # ~10-15 CPU minutes
    .venv/bin/python benchmarks/three_things_digits.py --quick    # 2 epochs each: checks the plumbing only

Data: scikit-learn's digits on the core's fixed split (``inria.data.images.digits``:
1437 train / 360 test), 8x8 upsampled to 32x32 as DeiT III's digits run; models:
``three_things_digits_6x2`` (6 blocks x 2 parallel branches) and
``three_things_digits_12x1`` (12 sequential blocks), width 96, patch 8, the
same parameter count; supervised recipe: LAMB + BCE + 3-Augment (no flip) by
name through the registry.

1. Parallel 6x2 vs sequential 12x1, trained from scratch on all ten digits:
   test top-1, training images/s (the engine's) and inference images/s
   (batch 128, best of 3), side by side.
2. Masked pre-training (SimMIM, 50 % of the patches hidden, L1 on the
   pixels) of the 6x2 model on the *images* of digits 0-4, with the hMLP
   stem and with the linear patch embedding; then each is fine-tuned on
   the *labelled* digits 5-9 (a new task on unseen classes), fully and
   attention-only (the core's ``param_groups: attention_only``), plus a
   from-scratch run on 5-9 for reference: test top-1 on 5-9 and the share
   of parameters trained.

Every accuracy is printed with its binomial standard error; one seed, so a
difference inside two errors is not a finding. Results also go to
runs/three_things_digits/results.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
import warnings
from pathlib import Path


def top1(backbone, x, y) -> float:
    import torch

    return float((backbone.classify(x).argmax(-1) == torch.as_tensor(y)).float().mean())


def stderr(p: float, n: int) -> float:
    return 100 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def infer_img_s(backbone, x, repeats: int = 3) -> float:
    import torch

    module = backbone.module.eval()
    best = float("inf")
    with torch.no_grad():
        module(x[:8])
        for _ in range(repeats):
            t = time.perf_counter()
            for i in range(0, len(x), 128):
                module(x[i:i + 128])
            best = min(best, time.perf_counter() - t)
    return len(x) / best


def share_attention_only(module) -> float:
    from inria.train.components import resolve

    groups = resolve("param_groups", "attention_only")(module, weight_decay=0.0, report=False)
    return sum(p.numel() for g in groups for p in g["params"]) / sum(p.numel() for p in module.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs per run (plumbing check, figures meaningless)")
    parser.add_argument("--epochs", type=int, default=20, help="supervised epochs (scratch and fine-tuning)")
    parser.add_argument("--pretrain-epochs", type=int, default=40, help="masked pre-training epochs")
    parser.add_argument("--out", type=Path, default=Path("runs/three_things_digits"))
    args = parser.parse_args()
    os.environ.setdefault("INRIA_PROGRESS", "0")
    os.environ.setdefault("INRIA_CONSOLE_METRICS", "0")
    import torch

    import inria
    from inria.context import StepContext
    from inria.data.images import digits

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*classifier re-initialised")
    epochs, pre_epochs = (2, 2) if args.quick else (args.epochs, args.pretrain_epochs)
    x_train, y_train = digits("train", size=32)
    x_test, y_test = digits("test", size=32)
    started, cpu0 = time.perf_counter(), time.process_time()
    results: dict = {"epochs": epochs, "pretrain_epochs": pre_epochs, "threads": 1}
    scratch = tempfile.mkdtemp(prefix="three_things_")

    def run_ctx(name):
        return StepContext.standalone(Path(scratch) / name, seed=0, step_id=name)

    # -- 1. parallel vs sequential at equal parameters ------------------------------------------
    for name in ("three_things_digits_6x2", "three_things_digits_12x1"):
        torch.manual_seed(0)
        bb = inria.create("backbone", name, train={"epochs": epochs})
        params = sum(p.numel() for p in bb.module.parameters())
        t = time.perf_counter()
        metrics = bb.fit(x_train, y_train, ctx=run_ctx(name))
        acc = top1(bb, x_test, y_test)
        r = {"top1": acc, "params": params, "train_img_s": metrics.get("img_s_mean", float("nan")),
             "infer_img_s": infer_img_s(bb, x_test), "wall_s": time.perf_counter() - t}
        results[name] = r
        print(f"{name}: {params:,} params, test top-1 {100 * acc:.1f} ± {stderr(acc, len(y_test)):.1f} %, "
              f"train {r['train_img_s']:.0f} img/s, inference {r['infer_img_s']:.0f} img/s "
              f"({r['wall_s']:.0f} s)", flush=True)
    par, seq = results["three_things_digits_6x2"], results["three_things_digits_12x1"]

    # -- 2. masked pre-training on 0-4, fine-tuning on 5-9 ---------------------------------------
    old = y_train < 5
    new_tr, new_te = y_train >= 5, y_test >= 5
    xn, yn, xt, yt = x_train[new_tr], y_train[new_tr] - 5, x_test[new_te], y_test[new_te] - 5
    n_new = len(yt)
    model = "three_things_digits_6x2"
    for stem in ("hmlp", "linear"):
        torch.manual_seed(0)
        bb = inria.create("backbone", model, stem=stem, pretrain={"epochs": pre_epochs})
        t = time.perf_counter()
        m = bb.pretrain_masked(x_train[old], ctx=run_ctx(f"pretrain_{stem}"))
        pre_dir = bb.save(Path(scratch) / f"pretrained_{stem}")
        results[f"pretrain_{stem}"] = {"masked_l1": m.get("loss"), "wall_s": time.perf_counter() - t,
                                       "images": int(old.sum())}
        print(f"masked pre-training, {stem} stem, {int(old.sum())} images of digits 0-4: final masked L1 "
              f"{m.get('loss', float('nan')):.3f} ({time.perf_counter() - t:.0f} s)", flush=True)
        for mode, init in (("full", pre_dir), ("attention_only", pre_dir), ("scratch", None)):
            torch.manual_seed(0)
            ft = inria.create("backbone", model, stem=stem, num_classes=5, checkpoint=str(init) if init else None,
                              train={"epochs": epochs, "param_groups": "attention_only" if mode == "attention_only" else "all"})
            share = share_attention_only(ft.module) if mode == "attention_only" else 1.0
            t = time.perf_counter()
            ft.fit(xn, yn, ctx=run_ctx(f"{mode}_{stem}"))
            acc = top1(ft, xt, yt)
            results[f"{mode}_{stem}"] = {"top1": acc, "trained_share": share, "wall_s": time.perf_counter() - t}
            print(f"  {stem} stem, {mode} on digits 5-9: top-1 {100 * acc:.1f} ± {stderr(acc, n_new):.1f} % "
                  f"of {n_new}, {100 * share:.1f} % of parameters trained ({time.perf_counter() - t:.0f} s)",
                  flush=True)

    results["total_wall_s"] = time.perf_counter() - started
    results["total_cpu_s"] = time.process_time() - cpu0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    h, lin = results["full_hmlp"]["top1"], results["full_linear"]["top1"]
    ao, fu = results["attention_only_hmlp"], results["full_hmlp"]
    print(f"total {results['total_wall_s']:.0f} s wall, {results['total_cpu_s']:.0f} s CPU; load average "
          f"{os.getloadavg()[0]:.1f}; results {args.out / 'results.json'}")
    print(f"parallel 6x2 vs sequential 12x1 (equal parameters {par['params']:,} vs {seq['params']:,}): top-1 "
          f"{100 * par['top1']:.1f} vs {100 * seq['top1']:.1f} %, train {par['train_img_s']:.0f} vs "
          f"{seq['train_img_s']:.0f} img/s, inference {par['infer_img_s']:.0f} vs {seq['infer_img_s']:.0f} img/s "
          f"(target: report; paper: same accuracy, parallel faster on GPU)")
    print(f"attention-only vs full fine-tuning (hMLP, 5-9 after masked pre-training on 0-4): top-1 "
          f"{100 * ao['top1']:.1f} vs {100 * fu['top1']:.1f} %, {100 * ao['trained_share']:.1f} % vs 100 % of "
          f"parameters trained (target: report; paper: attention-only close to full at a fraction of the parameters)")
    se = math.hypot(stderr(h, n_new), stderr(lin, n_new))
    print(f"hMLP vs linear stem after masked pre-training, full fine-tuning on 5-9: top-1 {100 * h:.1f} vs "
          f"{100 * lin:.1f} %, delta {100 * (h - lin):+.1f} ± {se:.1f} pp (target: report; paper: hMLP >= linear "
          f"under BeiT pre-training)")


if __name__ == "__main__":
    main()

"""The CPU-sized DeiT III run: scikit-learn's digits, 32x32, patch 4.

    python -m inria_deit3.train_digits            # both runs, results JSON, ship the model
    python -m inria_deit3.train_digits --no-ship --epochs 5

Two runs on the core's fixed stratified digits split (``inria.data.images.digits``:
1437 train / 360 held-out test images, 8x8 upsampled to 32x32), same
architecture (``deit3_digits``: width 96, depth 6, 3 heads, patch 4), same
seed, same augmentations (3-Augment without flip and with 2-px reflect-pad
shifts):

- ``deit3``: the DeiT III recipe, BCE (one-hot targets) + LAMB;
- ``ce_adamw``: plain cross-entropy + AdamW, everything else equal.

Top-1 on the held-out split is measured after every epoch. Both results go
to ``results.json``; the DeiT III model is written (card.yaml +
weights.safetensors) to ``src/inria_deit3/weights/digits`` so that
``deit3_digits`` with ``checkpoint: default`` loads it. One intra-op thread
(the machine is shared); the wall time is printed by
``benchmarks/deit3_digits.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from .backbone import DIGITS_AUGMENT, DIGITS_TRAIN, WEIGHTS_DIR, DeiT3Digits

#: the comparison run: only the objective and the optimizer (with its usual lr) change
BASELINE = dict(objective="cross_entropy", optimizer="adamw", lr=1e-3)
#: ``--mixup``: the paper's mixup/CutMix on top (held-out 75.8 % after 20 epochs for the DeiT III run, vs 96.9 %)
MIXUP = dict(augmentation=["three_augment", "mixup"],
             augmentation_args={"three_augment": DIGITS_AUGMENT,
                                "mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}})


class HeldOut:
    """Trainer callback: top-1 on the held-out split after each epoch."""

    def __init__(self, backbone, images, labels):
        self.backbone, self.images, self.labels = backbone, images, torch.as_tensor(labels)
        self.curve: list[float] = []

    def on_epoch_end(self, trainer, epoch):
        was = self.backbone.module.training
        self.backbone.device = str(trainer.device)
        acc = float((self.backbone.classify(self.images).argmax(-1) == self.labels).float().mean())
        self.backbone.module.train(was)
        self.curve.append(round(acc, 4))
        return {"test_top1": acc}


def run(name: str, train_overrides: dict, epochs: int | None, out_dir: Path, seed: int = 0,
        arch: dict | None = None) -> tuple[DeiT3Digits, dict]:
    from inria.context import StepContext
    from inria.data.images import digits

    x_train, y_train = digits("train", size=32)
    x_test, y_test = digits("test", size=32)
    train = dict(DIGITS_TRAIN, **train_overrides)
    if epochs:
        train["epochs"] = epochs
    torch.manual_seed(seed)
    model = DeiT3Digits(train=train, **(arch or {}))
    ctx = StepContext.standalone(out_dir / name, seed=seed, step_id=name)
    held_out = HeldOut(model, x_test, y_test)
    started = time.perf_counter()
    metrics = model.fit(x_train, y_train, ctx=ctx, callbacks=[held_out])
    wall = time.perf_counter() - started
    top1 = float((model.classify(x_test).argmax(-1) == torch.as_tensor(y_test)).float().mean())
    result = {"top1": round(top1, 4), "wall_s": round(wall, 1), "epochs": train["epochs"],
              "objective": train["objective"], "optimizer": train["optimizer"], "lr": train["lr"],
              "train_images": len(x_train), "test_images": len(x_test), "curve": held_out.curve,
              "final_train_loss": round(metrics.get("loss", float("nan")), 4)}
    print(f"{name}: top-1 {top1:.4f} on {len(x_test)} held-out digits after {train['epochs']} epochs, {wall:.0f} s",
          flush=True)
    return model, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (both runs)")
    parser.add_argument("--only", choices=["deit3", "ce_adamw"], default=None, help="run one of the two")
    parser.add_argument("--out", type=Path, default=Path("runs/deit3_digits"), help="scratch folder (checkpoints)")
    parser.add_argument("--json", type=Path, default=None, help="results file (default: next to the shipped model)")
    parser.add_argument("--no-ship", action="store_true", help="do not overwrite the shipped model (never overwritten with --epochs or --mixup)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the machine is shared)")
    parser.add_argument("--mixup", action="store_true",
                        help="add the paper's mixup 0.8 / CutMix 1.0 to both runs (off for digits: see README)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cpu_started = time.process_time()

    results: dict = {"data": "sklearn digits, core split (inria.data.images.digits), 32x32",
                     "architecture": "deit3_digits: img 32, patch 4, width 96, depth 6, 3 heads, LayerScale 1e-4", "threads": args.threads}
    started = time.perf_counter()
    shipped = None
    extra = dict(MIXUP) if args.mixup else {}
    if args.mixup:
        results["mixup"] = MIXUP["augmentation_args"]["mixup"]
    if args.only in (None, "deit3"):
        model, results["deit3_bce_lamb"] = run("deit3", extra, args.epochs, args.out)
        if not args.no_ship and not args.mixup and args.epochs is None:  # only the documented recipe ships
            shipped = model.save(WEIGHTS_DIR / "digits")
    if args.only in (None, "ce_adamw"):
        _, results["ce_adamw"] = run("ce_adamw", dict(BASELINE, **extra), args.epochs, args.out)
    results["total_wall_s"] = round(time.perf_counter() - started, 1)
    results["total_cpu_s"] = round(time.process_time() - cpu_started, 1)
    results["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    target = args.json or ((WEIGHTS_DIR / "digits" / "results.json") if shipped else args.out / "results.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {target}" + (f"; model: {shipped}" if shipped else ""))
    return results


if __name__ == "__main__":
    main()

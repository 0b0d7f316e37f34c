"""The CPU-sized PatchConvNet run: scikit-learn's digits at 32x32, the shipped ``patchconvnet_digits`` model.

    python -m inria_patchconvnet.train_digits              # train, measure, ship the model
    python -m inria_patchconvnet.train_digits --no-ship --epochs 3

Data: the core's fixed stratified digits split (``inria.data.images.digits``:
1437 train / 360 held-out test images, 8x8 upsampled to 32x32). Model:
``patchconvnet_digits`` (patch-4 convolutional stem -> 8x8 grid, width 128,
10 SE columns, class-token attention pooling; 0.68M parameters, as
``deit3_digits``). Recipe: the DeiT III digits recipe with every component
by name from the registry (``lamb``, ``cosine``, ``bce``, ``three_augment``
without flip, 2-px reflect-pad shifts); ``--cosub`` swaps the objective for
``cosub`` when a plugin provides it. One intra-op thread. Top-1 on the
held-out split after every epoch goes to ``results.json`` next to the model.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from .backbone import DIGITS_TRAIN, WEIGHTS_DIR, PatchConvNetDigits


class TestTop1:
    """Trainer callback: top-1 on the held-out split after each epoch (recorded, not used to pick a model)."""

    def __init__(self, backbone, images, labels):
        self.backbone, self.images, self.labels = backbone, images, torch.as_tensor(labels)
        self.curve: list[float] = []

    def on_epoch_end(self, trainer, epoch):
        self.backbone.device = str(trainer.device)
        top1 = float((self.backbone.classify(self.images).argmax(-1) == self.labels).float().mean())
        self.backbone.module.train()
        self.curve.append(round(top1, 4))
        return {"test_top1": top1}


def main(argv: list[str] | None = None) -> dict:
    import inria
    from inria.context import StepContext
    from inria.data.images import digits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (never ships)")
    parser.add_argument("--cosub", action="store_true", help="objective 'cosub' (needs a plugin providing it)")
    parser.add_argument("--out", type=Path, default=Path("runs/patchconvnet_digits"), help="scratch folder")
    parser.add_argument("--no-ship", action="store_true", help="do not overwrite the shipped model")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the machine is shared)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    train = dict(DIGITS_TRAIN)
    if args.epochs:
        train["epochs"] = args.epochs
    if args.cosub:
        if "cosub" not in inria.available("objectives"):
            raise SystemExit("--cosub: no installed plugin provides the 'cosub' objective (pip install -e plugins/cosub)")
        train["objective"] = "cosub"
    x_train, y_train = digits("train", size=32)
    x_test, y_test = digits("test", size=32)
    torch.manual_seed(args.seed)
    model = PatchConvNetDigits(checkpoint=None, train=train)
    curve = TestTop1(model, x_test, y_test)
    ctx = StepContext.standalone(args.out, seed=args.seed, step_id="patchconvnet_digits")
    wall, cpu = time.perf_counter(), time.process_time()
    metrics = model.fit(x_train, y_train, ctx=ctx, callbacks=[curve])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    top1 = float((model.classify(x_test).argmax(-1) == torch.as_tensor(y_test)).float().mean())
    result = {"data": "sklearn digits, core split (inria.data.images.digits), 32x32",
              "model": "patchconvnet_digits", "parameters": sum(p.numel() for p in model.module.parameters()),
              "top1": round(top1, 4), "train_images": len(x_train), "test_images": len(x_test),
              "epochs": train["epochs"], "objective": train["objective"], "optimizer": train["optimizer"],
              "lr": train["lr"], "batch_size": train["batch_size"], "threads": args.threads, "seed": args.seed,
              "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "load_average_1min_at_end": round(os.getloadavg()[0], 1),
              "final_train_loss": round(metrics.get("loss", float("nan")), 4), "curve": curve.curve}
    print(f"patchconvnet_digits: top-1 {top1:.4f} on {len(x_test)} held-out digits after {train['epochs']} epochs, "
          f"{wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    ship = not args.no_ship and args.epochs is None and not args.cosub  # only the documented recipe ships
    target = WEIGHTS_DIR / "digits" if ship else args.out / "model"
    model.save(target)
    (target / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"model and results.json: {target}")
    return result


if __name__ == "__main__":
    main()

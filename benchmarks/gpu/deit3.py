"""DeiT III on CUDA: AMP training images/s of deit3_small at 224x224 through the core engine.

Two figures, batch 256 per GPU as the paper's ViT-S recipe: the training
step alone (LAMB, BCE on binarised mixup/CutMix targets, bf16 autocast,
uniform drop-path 0.05), then the same with 3-Augment running on the GPU
before it. Images live on the GPU (random tensors), so the data loader is
not what is measured. Prints why it is skipped without CUDA or a package.
DEIT3_GPU_SMOKE=1 runs a tiny version on the CPU (to check the script).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time


def main() -> int:
    smoke = os.environ.get("DEIT3_GPU_SMOKE") == "1"
    try:
        import torch
    except ImportError:
        print("deit3: skipped (torch is not installed)")
        return 0
    if not smoke and not torch.cuda.is_available():
        print("deit3: skipped (no CUDA device)")
        return 0
    try:
        import timm  # noqa: F401
        from inria.context import StepContext
        from inria.train import TensorData, Trainer
        from inria.train.augment import Mixup
        from inria_deit3.backbone import DeiT3Small
        from inria.train.objectives import BinaryCrossEntropy
        from inria_deit3.three_augment import ThreeAugment
    except ImportError as e:
        print(f"deit3: skipped (missing package: {e.name})")
        return 0

    device = "cpu" if smoke else "cuda"
    if smoke:
        arch, batch, warm, steps = dict(img_size=32, patch_size=8, depth=1), 8, 2, 4
    else:
        arch, batch, warm, steps = {}, 256, 10, 40
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    side = arch.get("img_size", 224)

    def measure(with_three_augment: bool) -> float:
        torch.manual_seed(0)
        backbone = DeiT3Small(drop_path=0.05, **arch)
        n = batch * 4
        data = TensorData(torch.rand(n, 3, side, side, device=device), torch.randint(0, 1000, (n,), device=device))
        augs = ([ThreeAugment()] if with_three_augment else []) + [
            Mixup(num_classes=1000, mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.0)]
        cfg = dict(steps=steps, epochs=0, batch_size=batch, optimizer="lamb", lr=4e-3, weight_decay=0.05,
                   warmup_steps=2, amp="auto", pin_memory=False, log_every=10**6, checkpoint_every=10**9)
        marks = {}

        class Clock:
            def on_step_end(self, trainer, step):
                if step in (warm, steps):
                    if device == "cuda":
                        torch.cuda.synchronize()
                    marks[step] = time.perf_counter()

        with tempfile.TemporaryDirectory() as tmp:
            ctx = StepContext.standalone(tmp, device=device, step_id="deit3_gpu")
            trainer = Trainer(backbone.module, data, cfg, ctx=ctx, objective=BinaryCrossEntropy(),
                              augmentation=augs, callbacks=[Clock()])
            trainer.fit()
            amp = trainer.amp_dtype
        rate = (steps - warm) * batch / (marks[steps] - marks[warm])
        label = "with 3-Augment on the GPU" if with_three_augment else "training step (mixup/CutMix, no 3-Augment)"
        print(f"deit3_small {side}x{side} batch {batch} AMP {amp}: {rate:.0f} img/s, {label}", flush=True)
        return rate

    name = "CPU smoke test" if smoke else torch.cuda.get_device_name(0)
    print(f"deit3: {name}, torch {torch.__version__}")
    plain = measure(False)
    full = measure(True)
    if device == "cuda":
        print(f"deit3: peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    print(f"deit3_small AMP training {plain:.0f} img/s ({full:.0f} img/s with 3-Augment on the GPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

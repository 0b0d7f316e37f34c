"""GPU part of the training engine: a few AMP training steps and their throughput.

Run by benchmarks/gpu/all.sh from the source tree (PYTHONPATH=core). On CUDA it
trains a timm ViT-S/16 (224 px, batch 128) for a few steps:

- the engine in bf16 autocast against a plain PyTorch loop with the same
  autocast, data and optimizer (images/s of each and their ratio);
- the engine in fp16 with its GradScaler (images/s, skipped steps, final loss);
- the engine in bf16 with EMA (timm ModelEmaV3) on.

Without CUDA (or timm) it prints why it is skipped. ``--device cpu --tiny``
runs the same code on a tiny model for a smoke test.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("INRIA_PROGRESS", "0")
os.environ.setdefault("INRIA_CONSOLE_METRICS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="tiny model and images (smoke test)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()
    try:
        import torch
    except ImportError:
        print("engine: skipped (torch is not installed)")
        return 0
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("engine: skipped (no CUDA device)")
        return 0
    try:
        import timm
    except ImportError:
        print("engine: skipped (timm is not installed)")
        return 0
    import torch.nn.functional as F

    from inria.context import StepContext
    from inria.train import TensorData, TrainConfig, Trainer

    side, arch, classes = (32, "vit_tiny_patch16_224", 10) if a.tiny else (224, "vit_small_patch16_224", 100)
    batch = 8 if a.tiny else a.batch
    steps = 4 if a.tiny else a.steps
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        print(f"engine: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, timm {timm.__version__}")

    g = torch.Generator().manual_seed(0)
    n = batch * steps
    x = torch.rand(n, 3, side, side, generator=g).to(dev)  # on the device: we time the engine, not a data pipeline
    y = torch.randint(0, classes, (n,), generator=g).to(dev)

    def model():
        torch.manual_seed(0)
        kw = dict(img_size=side, patch_size=8, depth=2) if a.tiny else {}
        return timm.create_model(arch, pretrained=False, num_classes=classes, **kw).to(dev)

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    def plain(dtype) -> float:
        m = model()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.05)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=True,
                                             drop_last=True, generator=torch.Generator().manual_seed(0))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        m.train()
        sync()
        t0 = time.perf_counter()
        for xb, yb in loader:
            with torch.autocast(device_type=dev.type, dtype=dtype):
                loss = F.cross_entropy(m(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        sync()
        return n / (time.perf_counter() - t0)

    def engine(amp: str, **extra):
        cfg = TrainConfig(steps=steps, batch_size=batch, lr=1e-3, weight_decay=0.05, amp=amp, pin_memory=False,
                          log_every=max(1, steps // 3), **extra)
        with tempfile.TemporaryDirectory() as tmp:
            t = Trainer(model(), TensorData(x, y), cfg, ctx=StepContext(out_dir=Path(tmp), step_id="gpu", device=a.device))
            t.checkpoint_dir = None
            sync()
            t0 = time.perf_counter()
            out = t.fit()
            sync()
        return n / (time.perf_counter() - t0), out

    amp_dtype = torch.bfloat16 if (not cuda or torch.cuda.is_bf16_supported()) else torch.float16
    amp_name = "bf16" if amp_dtype is torch.bfloat16 else "fp16"
    # a first pass of each warms up kernels and the allocator; the second is timed
    plain(amp_dtype)
    engine(amp_name)
    p_ips = plain(amp_dtype)
    e_ips, out = engine(amp_name)
    print(f"engine {arch} {side}px batch {batch}, {steps} steps, {amp_name} autocast: engine {e_ips:.1f} img/s, "
          f"plain loop {p_ips:.1f} img/s, final loss {out['loss']:.3f}")
    if cuda:
        f_ips, f_out = engine("fp16")
        print(f"engine fp16 + GradScaler: {f_ips:.1f} img/s, skipped steps {int(f_out['skipped_steps'])}, "
              f"final loss {f_out['loss']:.3f}, peak memory {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
    m_ips, _ = engine(amp_name if cuda else "fp32", ema=True, ema_decay=0.999)
    print(f"engine {amp_name if cuda else 'fp32'} with EMA: {m_ips:.1f} img/s")
    print(f"engine/plain throughput ratio on {a.device} ({amp_name}) {e_ips / p_ips:.3f} (target >= 0.97)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Engine overhead: images/s of inria.train against a plain hand-written PyTorch loop.

Same small CNN, same data, same optimizer (AdamW) and per-step cosine
schedule, same DataLoader settings, measured alternately in one process
(best of ``--trials`` for each). On CPU the clock is this process's CPU time
(``time.process_time``; one thread, ``num_workers=0``, so all the work is
ours): on a shared machine, wall time mostly measures the neighbours. On
CUDA it is wall time after a synchronize. The engine runs as a plugin would call it, with
its per-step NaN check, metric windows, sinks and progress bar; only
checkpoint writing is left out (the plain loop writes none either).

    .venv/bin/python benchmarks/train_overhead.py            # CPU
    .venv/bin/python benchmarks/train_overhead.py --device cuda

Last line: ``engine/plain throughput ratio X.XXX (target >= 0.97)``.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(32, 10))


def make_data(n: int, side: int):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, side, side, generator=g), torch.randint(0, 10, (n,), generator=g)


def plain_loop(x, y, epochs: int, batch: int, lr: float, device: str) -> float:
    model = make_model().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    data = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, drop_last=True)
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    model.train()
    sync(device)
    t0 = clock(device)
    seen = 0
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(xb)
    sync(device)
    return seen / (clock(device) - t0)


def engine(x, y, epochs: int, batch: int, lr: float, device: str) -> float:
    from inria.context import StepContext
    from inria.train import TensorData, TrainConfig, Trainer

    cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=lr, weight_decay=0.05, optimizer="adamw",
                      schedule="cosine", amp="fp32", log_every=50)
    with tempfile.TemporaryDirectory() as tmp:  # metrics.jsonl goes there
        ctx = StepContext(out_dir=Path(tmp), step_id="bench", device=device)
        trainer = Trainer(make_model(), TensorData(x, y), cfg, ctx=ctx)
        trainer.checkpoint_dir = None  # no checkpoint files: the plain loop writes none either
        sync(device)
        t0 = clock(device)
        out = trainer.fit()
        sync(device)
        return out["steps"] * batch / (clock(device) - t0)


def clock(device: str) -> float:
    return time.perf_counter() if device.startswith("cuda") else time.process_time()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x, y = make_data(a.n, a.side)
    args = (x, y, a.epochs, a.batch, 1e-3, a.device)
    plain_loop(*args)  # warm-up: allocator, kernels, imports
    engine(*args)
    plain, eng = [], []
    for i in range(a.trials):
        plain.append(plain_loop(*args))
        eng.append(engine(*args))
        print(f"trial {i}: plain {plain[-1]:8.1f} img/s   engine {eng[-1]:8.1f} img/s", flush=True)
    steps = a.epochs * (a.n // a.batch)
    print(f"{a.device}, {steps} steps of batch {a.batch} ({a.side}x{a.side} images), {a.threads} thread(s), "
          f"{'wall' if a.device.startswith('cuda') else 'process CPU'} clock; "
          f"best plain {max(plain):.1f} img/s, best engine {max(eng):.1f} img/s")
    print(f"engine/plain throughput ratio {max(eng) / max(plain):.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()

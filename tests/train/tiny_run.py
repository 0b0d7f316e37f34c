"""A tiny training run for the engine's tests, runnable in-process (``main([...])``),
as a subprocess (to be killed) and under ``torch.distributed.run``.

The objective draws from every RNG the checkpoint must restore (torch through
dropout, numpy and python through input noise), so an inexact resume shows up
as different weights.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sys
from pathlib import Path

import numpy as np
import torch

N, D, C = 96, 8, 4


def data():
    g = torch.Generator().manual_seed(123)
    x = torch.randn(N, D, generator=g)
    y = (x @ torch.randn(D, C, generator=g)).argmax(1)
    return x, y


def model(dropout: float):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                               torch.nn.Linear(16, C))


class Crash(RuntimeError):
    pass


class NoisyCE:
    """Cross-entropy on inputs jittered with numpy and python randomness; may SIGKILL its own process."""

    def __init__(self, noise: float, kill_at: int | None, crash_at: int | None = None):
        self.noise = noise
        self.kill_at = kill_at
        self.crash_at = crash_at

    def __call__(self, model, batch, ctx):
        if self.kill_at is not None and ctx.step == self.kill_at and ctx.micro_step == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.crash_at is not None and ctx.step == self.crash_at and ctx.micro_step == ctx.config.accum - 1:
            raise Crash(f"crash at step {ctx.step}")
        x, y = batch
        if self.noise:
            jitter = torch.from_numpy(np.random.standard_normal(x.shape).astype(np.float32))
            x = x + self.noise * random.random() * jitter
        logits = model(x)
        return torch.nn.functional.cross_entropy(logits, y), {"acc": (logits.detach().argmax(1) == y).float().mean()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--checkpoint-every", type=int, default=5)
    p.add_argument("--kill-at", type=int, default=None)
    p.add_argument("--crash-at", type=int, default=None, help="raise Crash in the last micro-batch of this step")
    p.add_argument("--ema", action="store_true")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--weights", default=None, help="rank 0 saves the final state_dict here")
    a = p.parse_args(None if argv is None else [str(x) for x in argv])
    torch.set_num_threads(1)
    from inria.context import StepContext
    from inria.train import TensorData, TrainConfig, Trainer

    cfg = TrainConfig(epochs=a.epochs, steps=a.steps, batch_size=a.batch, accum=a.accum, lr=a.lr,
                      optimizer="adamw", weight_decay=0.01, warmup_steps=3, schedule="cosine",
                      checkpoint_every=a.checkpoint_every, log_every=4, ema=a.ema, ema_decay=0.9)
    ctx = StepContext(out_dir=Path(a.out), step_id="tiny", run_dir=Path(a.out), resume=a.resume)
    trainer = Trainer(model(a.dropout), TensorData(*data()), cfg, ctx=ctx, objective=NoisyCE(a.noise, a.kill_at, a.crash_at))
    metrics = trainer.fit()
    if trainer.world_size > 1:  # what the distributed helpers see on each rank
        import json

        from inria import distributed as dist

        seen = {"rank": dist.rank(), "world": dist.world_size(), "seed": torch.initial_seed(),
                "broadcast": dist.broadcast_object({"from": dist.rank()}),
                "sum": dist.all_reduce_sum(torch.tensor([dist.rank() + 1.0])).item(),
                "gathered": dist.all_gather_object(dist.rank() * 10)}
        Path(a.out, f"rank{dist.rank()}.json").write_text(json.dumps(seen))
    if a.weights and trainer.rank == 0:
        state = {k: v.clone() for k, v in trainer.module.state_dict().items()}
        if trainer.ema_module is not None:
            state.update({f"ema.{k}": v.clone() for k, v in trainer.ema_module.state_dict().items()})
        torch.save(state, a.weights)
    if trainer.world_size > 1:
        from inria import distributed as dist

        dist.barrier()
        dist.destroy()
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])

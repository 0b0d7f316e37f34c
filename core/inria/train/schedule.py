"""Learning-rate schedules (per optimizer step) and the stochastic-depth schedule.

The LR schedule is a factor of each param group's initial learning rate, so
groups with an ``lr_scale`` keep their ratio. It runs through
``torch.optim.lr_scheduler.LambdaLR`` whose state (the step counter) goes in
the checkpoint; the function itself is rebuilt from the config on resume.
"""
from __future__ import annotations

import math
from typing import Callable

import torch


def lr_factor_fn(schedule: str, total_steps: int, warmup_steps: int = 0, lr: float = 1.0,
                 warmup_lr: float = 0.0, min_lr: float = 0.0, decay_steps: int = 0,
                 decay_rate: float = 0.1) -> Callable[[int], float]:
    """``f(step) -> factor`` with ``lr(step) = lr * f(step)``; ``step`` counts optimizer steps from 0.

    - warm-up: linear from ``warmup_lr`` to ``lr`` over ``warmup_steps``;
    - ``cosine``: half cosine from ``lr`` to ``min_lr`` over the remaining steps;
    - ``linear``: straight line from ``lr`` to ``min_lr``;
    - ``step``: ``lr * decay_rate ** (step // decay_steps)`` (counted from step 0, as timm);
    - ``constant``: ``lr``.
    """
    if schedule not in ("cosine", "linear", "step", "constant"):
        raise ValueError(f"unknown schedule {schedule!r}")
    if lr <= 0:
        return lambda step: 1.0
    warm = max(0, int(warmup_steps))
    rest = max(1, int(total_steps) - warm)
    lo = min_lr / lr
    w0 = warmup_lr / lr

    def factor(step: int) -> float:
        if step < warm:
            return w0 + (1.0 - w0) * step / warm
        if schedule == "constant":
            return 1.0
        if schedule == "step":
            return decay_rate ** (step // max(1, int(decay_steps)))
        p = min(1.0, (step - warm) / rest)
        if schedule == "linear":
            return lo + (1.0 - lo) * (1.0 - p)
        return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * p))

    return factor


def build_scheduler(optimizer, config, total_steps: int, steps_per_epoch: int, lr: float):
    warmup = int(round(config.warmup_epochs * steps_per_epoch)) + config.warmup_steps
    if total_steps > 1 and warmup >= total_steps:
        # warmup_epochs and warmup_steps add up; a plugin default in epochs kept under a partial ``train``
        # block that sets steps is the usual way in (the run then never reaches its learning rate)
        import warnings

        warnings.warn(f"warm-up of {warmup} steps (warmup_epochs {config.warmup_epochs} x {steps_per_epoch} steps "
                      f"+ warmup_steps {config.warmup_steps}) does not end before the run's {total_steps} steps: "
                      f"lr never reaches {lr:g}; set warmup_epochs: 0 or fewer warm-up steps", stacklevel=3)
    fn = lr_factor_fn(config.schedule, total_steps, warmup_steps=warmup, lr=lr, warmup_lr=config.warmup_lr,
                      min_lr=config.min_lr, decay_steps=int(round(config.decay_epochs * steps_per_epoch)),
                      decay_rate=config.decay_rate)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)


def drop_path_rates(rate: float, depth: int, mode: str = "linear") -> list[float]:
    """Per-block stochastic-depth rates: ``linear`` from 0 to ``rate`` (DeiT, timm) or ``uniform`` (DeiT III)."""
    if depth < 1:
        return []
    if mode == "uniform":
        return [float(rate)] * depth
    if mode == "linear":
        return [float(x) for x in torch.linspace(0, rate, depth)]
    raise ValueError(f"unknown drop-path mode {mode!r}; accepted: linear, uniform")


def set_drop_path(model: torch.nn.Module, rate: float, mode: str = "linear") -> list[float]:
    """Set stochastic depth on every block of a timm-style model, by the schedule of :func:`drop_path_rates`.

    A block is a module with ``drop_path*`` children (timm ViT: ``drop_path1``
    and ``drop_path2``; both branches of block ``i`` get rate ``i``). timm puts
    ``nn.Identity`` there when built with ``drop_path_rate=0``; those are
    replaced with ``DropPath`` modules, so any timm ViT/ConvNeXt can take a
    rate after construction. Call again to change the rate during training.
    Returns the rate of each block, in module order.
    """
    from timm.layers import DropPath

    blocks: dict[int, tuple[torch.nn.Module, list[str]]] = {}
    for module in model.modules():
        names = [n for n, child in module.named_children()
                 if n.startswith("drop_path") and isinstance(child, (DropPath, torch.nn.Identity))]
        if names:
            blocks[id(module)] = (module, names)
    rates = drop_path_rates(rate, len(blocks), mode)
    for r, (module, names) in zip(rates, blocks.values()):
        for n in names:
            child = getattr(module, n)
            if isinstance(child, DropPath):
                child.drop_prob = r
            elif r > 0:
                setattr(module, n, DropPath(r))
    return rates

"""``TrainConfig``: every knob of the training engine, typed and documented.

A plugin embeds it in its own ``Config`` (``train: TrainConfig =
train_config_field(lr=4e-3, ...)``) so a recipe sets it under ``with:
{train: {...}}`` and ``inria describe`` prints it.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

from ..config import build, doc

#: fields that change neither the maths nor the data order: a resume may change them freely
NON_SEMANTIC = frozenset({"checkpoint_every", "log_every", "num_workers", "pin_memory", "compile"})


@dataclasses.dataclass
class TrainConfig:
    # -- length -----------------------------------------------------------
    epochs: int = doc(1, "passes over the dataset (ignored when steps > 0)")
    steps: int = doc(0, "optimizer steps to run; 0 = epochs x steps per epoch")
    batch_size: int = doc(32, "samples per process per forward (global batch = batch_size x processes x accum)")
    accum: int = doc(1, "micro-batches whose gradients are summed before each optimizer step")
    drop_last: bool = doc(True, "drop the last incomplete batch of each epoch")
    repeated_augment: int = doc(1, "DeiT's repeated augmentation (RASampler): each sample appears this many times "
                                   "per epoch, on different ranks; 1 = off")
    # -- components, by entry-point name ------------------------------------
    objective: str = doc("cross_entropy", "step function (entry point inria.objectives): model + batch -> loss, metrics")
    objective_args: dict[str, Any] = doc({}, "keyword arguments of the objective")
    augmentation: str | list[str] = doc("none", "batched augmentation(s) (inria.augmentations), applied in order")
    augmentation_args: dict[str, dict[str, Any]] = doc({}, "keyword arguments per augmentation name, e.g. {mixup: {num_classes: 10}}")
    optimizer: str = doc("adamw", "optimizer (inria.optimizers): adamw, sgd, lamb, ...")
    optimizer_args: dict[str, Any] = doc({}, "extra optimizer keywords (betas, eps, momentum, ...)")
    param_groups: str = doc("all", "which parameters train, with which weight decay (inria.param_groups)")
    param_groups_args: dict[str, Any] = doc({}, "keyword arguments of the param-group rule")
    # -- optimisation -------------------------------------------------------
    lr: float = doc(1e-3, "peak learning rate")
    lr_base_batch: int = doc(0, "if > 0, lr is scaled by global_batch / lr_base_batch (DeiT: 512)")
    weight_decay: float = doc(0.05, "weight decay (norms, biases and 1-d params get none with param_groups 'all')")
    schedule: Literal["cosine", "step", "constant", "linear"] = doc("cosine", "learning-rate schedule after warm-up, per step")
    warmup_epochs: float = doc(0.0, "linear warm-up length in epochs")
    warmup_steps: int = doc(0, "linear warm-up length in steps (added to warmup_epochs)")
    warmup_lr: float = doc(0.0, "learning rate at the first warm-up step")
    min_lr: float = doc(0.0, "floor of the cosine / linear schedules")
    decay_epochs: float = doc(30.0, "step schedule: multiply by decay_rate every decay_epochs")
    decay_rate: float = doc(0.1, "step schedule: the factor")
    clip_grad: float = doc(0.0, "gradient clipping threshold; 0 = off")
    clip_mode: Literal["norm", "value", "agc"] = doc("norm", "clipping rule (timm.utils.dispatch_clip_grad)")
    # -- precision and speed ------------------------------------------------
    amp: Literal["auto", "bf16", "fp16", "fp32"] = doc("auto", "autocast dtype; auto = bf16 (or fp16) on CUDA, fp32 on CPU")
    compile: bool = doc(False, "torch.compile the model")
    num_workers: int = doc(0, "DataLoader worker processes")
    pin_memory: bool = doc(True, "pin host memory when training on CUDA")
    # -- EMA ----------------------------------------------------------------
    ema: bool = doc(False, "keep an exponential moving average of the weights (timm ModelEmaV3)")
    ema_decay: float = doc(0.9998, "EMA decay")
    ema_warmup: bool = doc(False, "EMA decay warm-up (timm's use_warmup)")
    # -- bookkeeping --------------------------------------------------------
    seed: int = doc(0, "base seed; rank r uses seed + r")
    checkpoint_every: int = doc(0, "write a checkpoint every N steps; 0 = at the end of each epoch only")
    log_every: int = doc(50, "send metrics to the sinks every N steps")
    skip_nan: bool = doc(False, "skip a batch whose loss is NaN/inf instead of stopping")
    ddp_find_unused: bool = doc(False, "DistributedDataParallel(find_unused_parameters=True)")

    def validate(self) -> None:
        positive = {"batch_size": self.batch_size, "accum": self.accum, "log_every": self.log_every,
                    "repeated_augment": self.repeated_augment}
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name in ("epochs", "steps", "checkpoint_every", "num_workers", "warmup_steps", "lr_base_batch"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.epochs == 0 and self.steps == 0:
            raise ValueError("set epochs or steps (both are 0)")
        if self.lr < 0 or self.weight_decay < 0 or self.min_lr < 0:
            raise ValueError("lr, min_lr and weight_decay must be >= 0")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.schedule == "step" and self.decay_epochs <= 0:
            raise ValueError(f"decay_epochs must be > 0 with schedule 'step', got {self.decay_epochs}")

    @property
    def augmentations(self) -> list[str]:
        names = [self.augmentation] if isinstance(self.augmentation, str) else list(self.augmentation)
        return [n for n in names if n != "none"]

    @classmethod
    def from_dict(cls, values: dict | None, where: str = "train") -> "TrainConfig":
        """Validate a recipe mapping (one-line InriaError naming the field when wrong)."""
        return build(cls, values or {}, where=where)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes``, validated."""
        return build(type(self), {**dataclasses.asdict(self), **changes}, where="train")


def train_config_field(help: str = "training engine settings (inria.train.TrainConfig)", **defaults: Any):
    """A dataclass field holding a ``TrainConfig`` with plugin-specific defaults.

    ``train: TrainConfig = train_config_field(optimizer="lamb", lr=4e-3)``
    """
    return dataclasses.field(default_factory=lambda: TrainConfig(**defaults), metadata={"doc": help})


def config_diff(old: dict, new: dict, ignore: frozenset = NON_SEMANTIC) -> list[str]:
    """``['lr: 0.1 -> 0.2', ...]`` for the fields that differ (``ignore`` left out)."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key in ignore:
            continue
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if _norm(a) != _norm(b):
            out.append(f"{key}: {a!r} -> {b!r}")
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v

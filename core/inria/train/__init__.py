"""inria.train — the one training engine every trainable plugin uses.

No plugin writes its own loop. A plugin gives the engine a model, a
map-style dataset and a :class:`TrainConfig`; the engine does the rest:
DistributedSampler, optimizer and param groups by name, warm-up + cosine (or
step) schedule per step, autocast (bf16/fp16 on CUDA with a GradScaler, fp32
on CPU), gradient accumulation and clipping, EMA (timm ``ModelEmaV3``),
``torch.compile``, DDP under torchrun, metrics through the core's hooks,
a progress bar with loss, images/s and ETA, and checkpoints that resume
exactly.

Minimal example (a Backbone's ``fit``)::

    from inria.train import Trainer, TrainConfig, TensorData, train_config_field

    @dataclass
    class Config:
        arch: str = doc("vit_tiny_patch16_224", "timm model name")
        train: TrainConfig = train_config_field(optimizer="lamb", lr=4e-3, warmup_epochs=5,
                                                objective="cross_entropy")

    class MyBackbone(Backbone):
        def fit(self, images, labels, ctx=None):
            data = TensorData(images, labels)          # or any map-style Dataset
            return Trainer(self.module, data, self.config.train, ctx=ctx).fit()

In a recipe the same settings come from ``with: {train: {epochs: 3, lr: 1e-3}}``.
``ctx`` is the step's :class:`inria.context.StepContext`: the trainer takes
from it the device, the seed (``ctx.seed + config.seed``; rank r adds r),
``ctx.checkpoint_dir`` (``last.pt`` is written there atomically, by rank 0,
every ``checkpoint_every`` steps or at each epoch end, and at the end),
``ctx.resume`` (continue from ``last.pt`` when it exists) and ``ctx.force``
(accept a checkpoint whose config changed; otherwise the changed fields are
named in an :class:`~inria.errors.InriaError`). From Python:
``trainer.fit(resume=True)`` or ``trainer.fit(resume="path/last.pt", force=True)``.

Named components (entry-point groups; a recipe picks them by name and may mix
plugins in one step, e.g. a DeiT III objective with a core optimizer):

``inria.objectives``
    ``objective(model, batch, ctx) -> (loss, metrics)``; ``loss`` a scalar
    tensor, ``metrics`` a dict of floats / 0-d tensors averaged per logging
    window. Call ``model`` (it may be wrapped in DDP / compile) as often as
    needed; read attributes from ``ctx.module``. A registered class is built
    with ``**config.objective_args``; one with ``state_dict()`` /
    ``load_state_dict()`` is checkpointed with the run, one that is an
    ``nn.Module`` is moved to the device. Core: ``cross_entropy``
    (``label_smoothing``; soft targets from mixup accepted), ``mse``.
``inria.augmentations``
    ``aug(batch, ctx) -> batch`` on the device, on the whole batch, before
    the objective (may change targets). A class is built with
    ``**config.augmentation_args[name]``. Core: ``none``, ``mixup`` (timm's
    Mixup/CutMix; needs ``num_classes``).
``inria.optimizers``
    ``fn(param_groups, lr, weight_decay, **config.optimizer_args) -> Optimizer``.
    Core: ``adamw``, ``sgd`` (momentum 0.9), ``lamb`` (timm.optim.Lamb).
``inria.param_groups``
    ``fn(model, weight_decay, **config.param_groups_args) -> list[dict]``;
    groups may set ``weight_decay`` and ``lr_scale``; parameters left out are
    frozen. Core: ``all`` (no decay on norms, biases, 1-d tensors and
    ``model.no_weight_decay()``; ``layer_decay`` through timm),
    ``attention_only`` (the attention layers, head and ``pos_embed`` of any
    ViT, as the official ``--attn-only``; the trainable share is printed).

``ctx`` of objectives and augmentations is a :class:`TrainContext`:
``step``, ``epoch``, ``micro_step``, ``total_steps``, ``steps_per_epoch``,
``device``, ``config``, ``module``, ``rank``, ``world_size``, ``run`` (the
StepContext), ``amp_dtype``, ``autocast()``, ``state`` (scratch dict).

Batches are whatever the DataLoader collates; the core objectives and mixup
read ``(inputs, targets)`` pairs or dicts with ``images``/``labels``. A
dataset with mixed image sizes needs ``collate_fn=`` (the default collate
fails with a one-line error saying so).

Several trainings in one step (a two-stage codec) pass ``name="stage1"``
and ``checkpoint_dir=ctx.checkpoint_dir / "stage1"``: their metrics go out
as ``<step id>/stage1``. ``callbacks=[obj]`` get ``on_train_start``,
``on_step_end``, ``on_epoch_end`` (a returned dict, e.g. validation
accuracy, is logged) and ``on_train_end``. ``repeated_augment: 3`` is
DeiT's RASampler. Under torchrun every rank runs the same ``fit``; rank 0
writes the checkpoint and every rank reads it on resume (a shared
filesystem across nodes, as DeiT and timm assume).

Other helpers: :func:`set_drop_path` / :func:`drop_path_rates` (stochastic
depth, linear as DeiT or uniform as DeiT III, on any timm model),
:func:`lr_factor_fn` (the schedules), :class:`TensorData`, and
:mod:`inria.train.sinks` (console, ``metrics.jsonl``, TensorBoard sinks of
the ``inria_log_metrics`` hook). Distributed helpers live in
:mod:`inria.distributed`. ``batch_size`` is per process, as in timm and DeiT:
``torchrun --nproc-per-node 4`` with batch 64 trains with a global batch of
256 (``lr_base_batch: 512`` scales ``lr`` by global_batch / 512, as DeiT).
"""
from __future__ import annotations

from .checkpoint import load as load_checkpoint, seed_all
from .config import TrainConfig, train_config_field
from .data import TensorData
from .objectives import inputs_targets
from .schedule import drop_path_rates, lr_factor_fn, set_drop_path
from .trainer import TrainContext, Trainer


def fit(model, dataset, config: TrainConfig | dict | None = None, *, ctx=None, **kw) -> dict[str, float]:
    """``Trainer(model, dataset, config, ctx=ctx, **kw).fit()``: train and return the final metrics."""
    return Trainer(model, dataset, config, ctx=ctx, **kw).fit()


__all__ = ["Trainer", "TrainConfig", "TrainContext", "TensorData", "fit", "train_config_field", "set_drop_path",
           "drop_path_rates", "lr_factor_fn", "inputs_targets", "load_checkpoint", "seed_all"]

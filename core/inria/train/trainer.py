"""The training loop: one engine for every trainable plugin.

See the package docstring (:mod:`inria.train`) for the plugin author's view.
The loop is that of timm's ``train.py`` / DeiT's ``engine.py``: per step,
``accum`` micro-batches (forward under autocast, backward through the
GradScaler, DDP gradient sync on the last one only), optional clipping, an
optimizer step, an EMA update and a per-step LR schedule.

Exact resume: the order of an epoch is a function of (seed, epoch) only
(:class:`~inria.train.data.ResumableSampler`), the DataLoader draws its
worker seeds from its own generator seeded by (seed, rank, epoch), and the
checkpoint holds every generator's state of every rank. A run stopped after
step k and resumed makes exactly the same steps k+1... as one that never
stopped (with ``num_workers=0``; worker processes restart their RNG mid-epoch,
so random transforms *inside* the dataset are reproducible but not identical
across a mid-epoch resume; the trainer's batched augmentations are).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from .. import distributed as dist
from ..context import StepContext, resolve_device
from ..errors import InriaError, did_you_mean
from . import checkpoint as ckpt_io
from .config import TrainConfig, config_diff
from .data import CheckedCollate, ResumableSampler, to_device, unwrap_worker_error
from .schedule import build_scheduler


class TrainContext:
    """What an objective and an augmentation receive as ``ctx``; one object, updated in place.

    Attributes: ``step`` (optimizer steps done before the current one),
    ``epoch``, ``micro_step`` (index in the accumulation), ``total_steps``,
    ``steps_per_epoch``, ``device``, ``config`` (TrainConfig), ``module`` (the
    bare model, without DDP/compile wrappers: read attributes from it, but
    call the ``model`` argument for forward passes), ``rank``,
    ``world_size``, ``run`` (the recipe's StepContext: out_dir,
    log_metrics, ...), ``amp_dtype`` (None in fp32), ``state`` (a dict an
    objective may use as scratch space; not checkpointed) and ``trainer``.
    """

    def __init__(self, trainer: "Trainer"):
        self.trainer = trainer
        self.step = 0
        self.epoch = 0
        self.micro_step = 0
        self.state: dict[str, Any] = {}

    config = property(lambda self: self.trainer.config)
    device = property(lambda self: self.trainer.device)
    module = property(lambda self: self.trainer.module)
    total_steps = property(lambda self: self.trainer.total_steps)
    steps_per_epoch = property(lambda self: self.trainer.steps_per_epoch)
    rank = property(lambda self: self.trainer.rank)
    world_size = property(lambda self: self.trainer.world_size)
    run = property(lambda self: self.trainer.ctx)
    amp_dtype = property(lambda self: self.trainer.amp_dtype)

    def autocast(self):
        """The trainer's autocast context (objectives that leave it, e.g. for a loss in fp32, re-enter with this)."""
        return self.trainer._autocast()


def _load_component(group: str, name: str, args: dict, where: str) -> Callable:
    from .components import resolve

    obj = resolve(group, name)
    if isinstance(obj, type):
        import inspect

        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            params = {}
        if params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            for key in args:
                if key not in params:
                    raise InriaError(f"{group.rstrip('s')} '{name}' has no argument '{key}'", where=where,
                                     hint=did_you_mean(key, [k for k in params if k != "self"]))
        try:
            return obj(**args)
        except TypeError as e:
            raise InriaError(f"{group.rstrip('s')} '{name}' rejected its arguments: {e}", where=where) from None
    if args:
        raise InriaError(f"{group.rstrip('s')} '{name}' is a function and takes no arguments, got {sorted(args)}",
                         where=where)
    return obj


class Trainer:
    """Train ``model`` on a map-style ``dataset`` as ``config`` says.

    ``Trainer(model, dataset, config, ctx=ctx).fit()`` returns the final
    metrics. ``ctx`` (the recipe step's :class:`~inria.context.StepContext`)
    gives the device, the checkpoint folder (``ctx.checkpoint_dir``), the
    run folder for ``metrics.jsonl``, the run seed and ``ctx.resume`` /
    ``ctx.force``; without it the trainer picks the GPU when there is one
    and writes no checkpoint unless ``checkpoint_dir`` is given. ``name``
    tells apart several trainings of one step: metrics go out as
    ``<step id>/<name>`` (and each needs its own ``checkpoint_dir``).

    ``objective`` / ``augmentation`` override the config's names with
    objects (callables of the same signatures); ``collate_fn`` is the
    DataLoader's; ``callbacks`` are objects with any of ``on_train_start(trainer)``,
    ``on_step_end(trainer, step)``, ``on_epoch_end(trainer, epoch) -> dict | None``
    (a returned dict is logged, e.g. validation metrics) and
    ``on_train_end(trainer, metrics)``.
    """

    def __init__(self, model: torch.nn.Module, dataset, config: TrainConfig | dict | None = None, *,
                 ctx: StepContext | None = None, objective: Callable | None = None,
                 augmentation: Callable | list[Callable] | None = None, collate_fn: Callable | None = None,
                 checkpoint_dir: str | Path | None = None, callbacks: list | None = None, name: str | None = None):
        if config is None:
            config = TrainConfig()
        elif isinstance(config, dict):
            config = TrainConfig.from_dict(config)
        elif not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig or a dict, not {type(config).__name__}")
        self.config = config
        self.ctx = ctx if ctx is not None else StepContext(out_dir=Path.cwd(), step_id=name or "train",
                                                           device=resolve_device("auto"))
        #: the metrics source: the step id, plus ``/name`` when one step runs several trainings
        self.name = self.ctx.step_id if name is None or ctx is None else f"{self.ctx.step_id}/{name}"
        if ctx is None and name is not None:
            self.name = name
        if checkpoint_dir is not None:
            self.checkpoint_dir: Path | None = Path(checkpoint_dir)
        else:
            self.checkpoint_dir = self.ctx.checkpoint_dir if ctx is not None else None
        self.callbacks = list(callbacks or [])
        #: where metrics.jsonl goes (None without ctx: console only)
        self.run_dir = (self.ctx.run_dir or self.ctx.out_dir) if ctx is not None else None

        # -- processes and device -------------------------------------------
        dist.init_from_env(device=self.ctx.device)
        self.rank, self.world_size = dist.rank(), dist.world_size()
        dev = self.ctx.device
        if dev == "cuda" and self.world_size > 1:
            dev = f"cuda:{dist.local_rank()}"
        self.device = torch.device(dev)
        if self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)
        self.seed = int(self.ctx.seed) + int(config.seed)
        self.amp_dtype = self._amp_dtype()

        # -- data ----------------------------------------------------------------
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise InriaError(f"the trainer needs a map-style dataset (with __len__ and __getitem__), got "
                             f"{type(dataset).__name__}", where="train data")
        self.dataset = dataset
        n = len(dataset)
        if n == 0:
            raise InriaError("the dataset is empty", where="train data")
        self.sampler = ResumableSampler(dataset, num_replicas=self.world_size, rank=self.rank, seed=self.seed,
                                        repeats=config.repeated_augment)
        per_rank = self.sampler.num_samples
        B = config.batch_size
        if config.drop_last and per_rank < B:
            split = f", {per_rank} per process over {self.world_size} processes" if self.world_size > 1 else ""
            raise InriaError(f"batch_size {B} is larger than the dataset ({n} items{split})", where="train.batch_size",
                             hint=f"use batch_size <= {per_rank}, or drop_last: false")
        self.batches_per_epoch = per_rank // B if config.drop_last else math.ceil(per_rank / B)
        self.steps_per_epoch = self.batches_per_epoch // config.accum
        if self.steps_per_epoch == 0:
            raise InriaError(f"accum {config.accum} needs {config.accum} batches per epoch, but the dataset gives "
                             f"{self.batches_per_epoch} of batch_size {B}", where="train.accum",
                             hint=f"use accum <= {self.batches_per_epoch} or a smaller batch_size")
        self.total_steps = config.steps if config.steps > 0 else config.epochs * self.steps_per_epoch
        self._loader_gen = torch.Generator()
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=B, sampler=self.sampler, drop_last=config.drop_last,
            num_workers=config.num_workers, collate_fn=CheckedCollate(collate_fn),
            pin_memory=config.pin_memory and self.device.type == "cuda", generator=self._loader_gen)

        # -- model, optimizer, schedule ------------------------------------------
        from .optim import build_optimizer

        self.module = model.to(self.device)
        self.global_batch = B * self.world_size * config.accum
        self.lr = config.lr * self.global_batch / config.lr_base_batch if config.lr_base_batch else config.lr
        self.optimizer = build_optimizer(self.module, config, lr=self.lr)
        self.scheduler = build_scheduler(self.optimizer, config, self.total_steps, self.steps_per_epoch, self.lr)
        self.scaler = torch.amp.GradScaler(self.device.type if self.device.type == "cuda" else "cpu",
                                           enabled=self.amp_dtype is torch.float16)
        self._params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.ema = None
        if config.ema:
            from timm.utils import ModelEmaV3

            self.ema = ModelEmaV3(self.module, decay=config.ema_decay, use_warmup=config.ema_warmup)
        self.model: torch.nn.Module = self.module
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DDP(self.module, device_ids=ids, find_unused_parameters=config.ddp_find_unused)
        if config.compile:
            self.model = torch.compile(self.model)

        # -- named components ----------------------------------------------------
        if objective is None:
            objective = _load_component("objectives", config.objective, config.objective_args, "train.objective_args")
            self.objective_name = config.objective
        else:
            self.objective_name = getattr(objective, "name", None) or type(objective).__name__
        if isinstance(objective, torch.nn.Module):
            objective.to(self.device)
        self.objective = objective
        if augmentation is None:
            self.augmentations = {n: _load_component("augmentations", n, config.augmentation_args.get(n, {}),
                                                     f"train.augmentation_args.{n}")
                                  for n in config.augmentations}
        else:
            augs = augmentation if isinstance(augmentation, (list, tuple)) else [augmentation]
            self.augmentations = {f"{i}:{getattr(a, 'name', type(a).__name__)}": a for i, a in enumerate(augs)}
        unknown = set(config.augmentation_args) - set(config.augmentations)
        if augmentation is None and unknown:
            raise InriaError(f"augmentation_args for {sorted(unknown)}, which are not in augmentation "
                             f"{config.augmentations}", where="train.augmentation_args")

        # -- progress ------------------------------------------------------------
        self.tctx = TrainContext(self)
        self.global_step = 0
        self.epoch = 0
        self.step_in_epoch = 0
        self.skipped_steps = 0
        self.last_checkpoint: tuple[Path, int] | None = None
        self.metrics: dict[str, float] = {}
        self.resumed_from: Path | None = None
        self._checked_output = False
        self._pending_rng: dict | None = None

    # ------------------------------------------------------------------ helpers
    def _amp_dtype(self):
        amp = self.config.amp
        cuda = self.device.type == "cuda"
        if amp == "fp32" or (amp == "auto" and not cuda):
            return None
        if amp == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if amp == "fp16" and not cuda:
            raise InriaError("fp16 autocast needs CUDA", where="train.amp", hint="use fp32 or bf16 on CPU")
        return torch.bfloat16 if amp == "bf16" else torch.float16

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / ckpt_io.LAST

    @property
    def ema_module(self) -> torch.nn.Module | None:
        """The EMA copy of the model (None without ``ema``)."""
        return None if self.ema is None else self.ema.module

    def state_dict(self) -> dict:
        """Everything a resume needs, as tensors and plain types (gathers every rank's RNG state)."""
        rngs = dist.all_gather_object(ckpt_io.rng_state())
        state = {
            "format": ckpt_io.FORMAT, "version": ckpt_io.VERSION,
            "config": dataclasses.asdict(self.config), "world_size": self.world_size,
            "global_step": self.global_step, "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "total_steps": self.total_steps, "skipped_steps": self.skipped_steps,
            "model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "ema": None if self.ema is None else self.ema.state_dict(),
            "objective": self.objective.state_dict() if callable(getattr(self.objective, "state_dict", None)) else None,
            "augmentations": {n: a.state_dict() for n, a in self.augmentations.items()
                              if callable(getattr(a, "state_dict", None))},
            "rng": rngs, "metrics": {k: float(v) for k, v in self.metrics.items()},
        }
        return state

    def save_checkpoint(self) -> Path | None:
        """Write ``checkpoint_dir/last.pt`` atomically (rank 0 writes; every rank must call)."""
        if self.checkpoint_path is None:
            return None
        state = self.state_dict()
        if dist.is_main():
            ckpt_io.save_atomic(state, self.checkpoint_path)
        self.last_checkpoint = (self.checkpoint_path, self.global_step)
        return self.checkpoint_path

    def load_checkpoint(self, path: str | Path, force: bool = False) -> None:
        """Restore a checkpoint written by this trainer; refuses a changed config unless ``force``."""
        path = Path(path)
        ck = ckpt_io.load(path)
        changes = config_diff(ck.get("config", {}), dataclasses.asdict(self.config))
        if int(ck.get("world_size", 1)) != self.world_size:
            changes.append(f"world_size: {ck.get('world_size')} -> {self.world_size}")
        if changes and not force:
            raise InriaError(f"resume refused, the config changed since this checkpoint: {'; '.join(changes)}",
                             where=str(path), hint="pass force=True (inria run --force) to resume anyway, "
                                                   "or start a fresh run")
        ckpt_io.load_model_state(self.module, ck["model"], str(path))
        try:
            self.optimizer.load_state_dict(ck["optimizer"])
        except (ValueError, KeyError) as e:
            raise InriaError(f"optimizer state does not fit ({e})", where=str(path),
                             hint="the optimizer or param_groups differ from the run that wrote it") from None
        self.scheduler.load_state_dict(ck["scheduler"])
        if changes:  # forced: the schedule follows the new config from the restored step
            fn, step = self.scheduler.lr_lambdas[0], self.scheduler.last_epoch
            self.scheduler.base_lrs = [self.lr * float(g.get("lr_scale", 1.0)) for g in self.optimizer.param_groups]
            for g, base in zip(self.optimizer.param_groups, self.scheduler.base_lrs):
                g["initial_lr"], g["lr"] = base, base * fn(step)
        if ck.get("scaler"):
            self.scaler.load_state_dict(ck["scaler"])
        if self.ema is not None:
            if ck.get("ema") is not None:
                self.ema.load_state_dict(ck["ema"])
            else:  # EMA switched on at resume: start it from the restored weights
                self.ema.set(self.module)
        if ck.get("objective") is not None and callable(getattr(self.objective, "load_state_dict", None)):
            self.objective.load_state_dict(ck["objective"])
        for n, st in (ck.get("augmentations") or {}).items():
            if n in self.augmentations and callable(getattr(self.augmentations[n], "load_state_dict", None)):
                self.augmentations[n].load_state_dict(st)
        self.global_step = int(ck["global_step"])
        self.epoch, self.step_in_epoch = int(ck["epoch"]), int(ck["step_in_epoch"])
        if self.step_in_epoch >= self.steps_per_epoch:  # a forced batch-size change can overrun the epoch
            self.epoch, self.step_in_epoch = self.epoch + 1, 0
        self.skipped_steps = int(ck.get("skipped_steps", 0))
        self.metrics = dict(ck.get("metrics") or {})
        rngs = ck.get("rng") or []
        self._pending_rng = rngs[self.rank] if self.rank < len(rngs) and not changes else None
        self.last_checkpoint = (path, self.global_step)
        self.resumed_from = path

    # --------------------------------------------------------------------- loop
    def fit(self, resume: bool | str | Path | None = None, force: bool | None = None) -> dict[str, float]:
        """Train to ``total_steps``; returns the last logged metrics plus totals.

        ``resume``: True continues from ``checkpoint_dir/last.pt`` when it
        exists (a fresh start otherwise), a path continues from that file;
        None takes ``ctx.resume``. ``force`` (None: ``ctx.force``) accepts a
        checkpoint whose config differs.
        """
        from .sinks import run_sinks

        resume = self.ctx.resume if resume is None else resume
        force = self.ctx.force if force is None else force
        if resume is True:
            if self.checkpoint_path is not None and self.checkpoint_path.is_file():
                self.load_checkpoint(self.checkpoint_path, force=bool(force))
        elif resume:
            self.load_checkpoint(resume, force=bool(force))
        if self._pending_rng is not None:
            ckpt_io.set_rng_state(self._pending_rng)
            self._pending_rng = None
        elif self.resumed_from is None:
            ckpt_io.seed_all(dist.rank_seed(self.seed))
        sinks = run_sinks(self.run_dir) if dist.is_main() else contextlib.nullcontext()
        with sinks:
            return self._loop()

    def _loop(self) -> dict[str, float]:
        cfg = self.config
        for cb in self.callbacks:
            getattr(cb, "on_train_start", lambda t: None)(self)
        self.module.train()
        bar = self.ctx.progress(None, desc=self.name.split("/", 1)[1] if "/" in self.name else "train", total=self.total_steps, initial=self.global_step, unit="step")
        started, done_at_start = time.perf_counter(), self.global_step
        samples_total = 0
        win = _Window()
        saved_at = self.global_step if self.resumed_from is not None else -1
        try:
            while self.global_step < self.total_steps:
                self.sampler.set_epoch(self.epoch)
                self.sampler.start = self.step_in_epoch * cfg.accum * cfg.batch_size
                self._loader_gen.manual_seed((self.seed * 1_000_003 + self.rank * 10_007 + self.epoch) % 2**63)
                batches = iter(self.loader)
                epoch = self.epoch
                while self.epoch == epoch and self.global_step < self.total_steps:
                    n = self._train_step(batches, win)
                    samples_total += n
                    self.global_step += 1
                    self.step_in_epoch += 1
                    if self.step_in_epoch == self.steps_per_epoch:
                        self.epoch, self.step_in_epoch = self.epoch + 1, 0
                    bar.update(1)
                    for cb in self.callbacks:
                        getattr(cb, "on_step_end", lambda t, s: None)(self, self.global_step)
                    if self.global_step % cfg.log_every == 0 or self.global_step == self.total_steps:
                        self.metrics = win.flush(self)
                        bar.set_postfix(loss=f"{self.metrics.get('loss', float('nan')):.4g}",
                                        img_s=f"{self.metrics.get('img_s', 0):.1f}", refresh=False)
                        self._log(self.global_step, self.metrics)
                    if self.step_in_epoch == 0:  # an epoch just ended
                        for cb in self.callbacks:
                            extra = getattr(cb, "on_epoch_end", lambda t, e: None)(self, self.epoch - 1)
                            if extra:
                                self._log(self.global_step, dict(extra))
                                self.metrics.update({k: float(v) for k, v in extra.items()})
                    every = cfg.checkpoint_every
                    if (every and self.global_step % every == 0) or (not every and self.step_in_epoch == 0):
                        self.save_checkpoint()
                        saved_at = self.global_step
            if saved_at != self.global_step:
                self.save_checkpoint()
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        out = dict(self.metrics)
        out.update(steps=float(self.global_step), skipped_steps=float(self.skipped_steps),
                   train_time_s=elapsed)
        if self.global_step > done_at_start and elapsed > 0:
            out["img_s_mean"] = samples_total * self.world_size / elapsed
        for cb in self.callbacks:
            getattr(cb, "on_train_end", lambda t, m: None)(self, out)
        dist.barrier()
        return out

    def _log(self, step: int, metrics: dict) -> None:
        if dist.is_main() and self.ctx.is_main:
            from ..hooks import plugin_manager

            plugin_manager().hook.inria_log_metrics(source=self.name, step=step, metrics=metrics)

    def _next_batch(self, batches):
        try:
            return next(batches)
        except InriaError as e:
            raise unwrap_worker_error(e) from None

    def _train_step(self, batches, win: "_Window") -> int:
        """One optimizer step over ``accum`` micro-batches; returns the samples seen by this rank."""
        cfg, t = self.config, self.tctx
        t.step, t.epoch = self.global_step, self.epoch
        bad = None
        samples = 0
        ddp = self.world_size > 1
        for micro in range(cfg.accum):
            t.micro_step = micro
            batch_index = self.step_in_epoch * cfg.accum + micro
            samples += min(cfg.batch_size, self.sampler.num_samples - batch_index * cfg.batch_size)
            batch = to_device(self._next_batch(batches), self.device, non_blocking=self.device.type == "cuda")
            for aug in self.augmentations.values():
                batch = aug(batch, t)
            sync = contextlib.nullcontext() if (not ddp or micro == cfg.accum - 1) else self.model.no_sync()
            with sync:
                with self._autocast():
                    out = self.objective(self.model, batch, t)
                loss, metrics = self._check_output(out)
                value = loss.detach().float().reshape(1)
                if ddp:  # every rank learns of a NaN anywhere (a NaN in the sum), and gets the mean loss
                    value = dist.all_reduce_sum(value.clone()) / self.world_size
                value = float(value.item())
                if not math.isfinite(value):
                    if not cfg.skip_nan:
                        self._raise_nan(value)
                    bad = value
                self.scaler.scale(loss / cfg.accum).backward()
            win.add(value, metrics)
        if bad is not None:
            # backward ran anyway so DDP's collectives stay matched; the poisoned gradients are dropped
            self.optimizer.zero_grad(set_to_none=True)
            self.skipped_steps += 1
            win.skipped += 1
        else:
            if cfg.clip_grad > 0:
                self.scaler.unscale_(self.optimizer)
                if cfg.clip_mode == "norm":
                    win.add_grad_norm(torch.nn.utils.clip_grad_norm_(self._params, cfg.clip_grad))
                else:
                    from timm.utils import dispatch_clip_grad

                    dispatch_clip_grad(self._params, cfg.clip_grad, mode=cfg.clip_mode)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            if self.ema is not None:
                self.ema.update(self.module, step=self.global_step)
        self.scheduler.step()
        win.samples += samples
        return samples

    def _check_output(self, out) -> tuple[torch.Tensor, dict]:
        if self._checked_output:
            return out
        where = f"objective '{self.objective_name}'"
        if not (isinstance(out, tuple) and len(out) == 2):
            raise InriaError(f"returned {type(out).__name__}, expected a (loss, metrics) pair", where=where)
        loss, metrics = out
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise InriaError(f"returned a loss of {shape}, expected a scalar tensor", where=where)
        if not loss.requires_grad:
            raise InriaError("returned a loss that does not depend on any trainable parameter", where=where,
                             hint="check param_groups and that the objective calls the model it is given")
        if not isinstance(metrics, dict):
            raise InriaError(f"returned metrics of type {type(metrics).__name__}, expected a dict", where=where)
        self._checked_output = True
        return out

    def _raise_nan(self, value: float):
        step = self.global_step + 1
        if self.last_checkpoint is not None:
            where_ck = f"last good checkpoint: {self.last_checkpoint[0]} (step {self.last_checkpoint[1]})"
        else:
            where_ck = "no checkpoint was written yet"
        raise InriaError(f"the objective '{self.objective_name}' returned a non-finite loss ({value}) at step "
                         f"{step} of {self.total_steps} (epoch {self.epoch}); {where_ck}", where="train",
                         hint="set skip_nan: true to skip such batches, or lower lr / enable clip_grad")


class _Window:
    """Sums of loss and metrics between two log lines (metrics stay on device until then)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.loss = 0.0
        self.n = 0
        self.sums: dict[str, Any] = {}
        self.grad_norm = None
        self.grad_n = 0
        self.samples = 0
        self.skipped = 0
        self.mcount = 0
        self.t0 = time.perf_counter()

    def add(self, loss: float, metrics: dict):
        if math.isfinite(loss):
            self.loss += loss
            self.n += 1
        for k, v in metrics.items():
            v = v.detach().float() if isinstance(v, torch.Tensor) else float(v)
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.mcount += 1

    def add_grad_norm(self, norm):
        self.grad_norm = norm.detach().float() if self.grad_norm is None else self.grad_norm + norm.detach().float()
        self.grad_n += 1

    def flush(self, trainer: Trainer) -> dict[str, float]:
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        count = max(self.mcount, 1)
        out: dict[str, float] = {"loss": self.loss / self.n if self.n else float("nan")}
        keys = sorted(self.sums)
        if keys:
            vals = torch.stack([torch.as_tensor(self.sums[k], dtype=torch.float32, device=trainer.device).reshape(())
                                for k in keys])
            if trainer.world_size > 1:
                vals = dist.all_reduce_sum(vals) / trainer.world_size
            out.update({k: float(v) / count for k, v in zip(keys, vals.tolist())})
        if self.grad_norm is not None:
            out["grad_norm"] = float(self.grad_norm) / max(self.grad_n, 1)
        out["lr"] = float(trainer.optimizer.param_groups[0]["lr"])
        out["img_s"] = self.samples * trainer.world_size / elapsed
        out["epoch"] = trainer.global_step / trainer.steps_per_epoch
        if self.skipped:
            out["skipped"] = float(self.skipped)
        self.reset()
        return out

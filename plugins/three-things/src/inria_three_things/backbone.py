"""The Backbones: ``three_things_{small,base}_18x2``, ``three_things_huge_26x2``, the sequential peers
``three_things_{small,base}_36x1`` and the digits pair ``three_things_digits_6x2`` / ``three_things_digits_12x1``.

One class, :class:`ThreeThingsBackbone`; each named constructor is a subclass
whose ``Config`` defaults are that architecture (timm style: a registry of
named constructors). Every field stays configurable: ``parallel`` (branches
per block), ``stem`` (``linear`` or ``hmlp``) on any of them.

Verbs: ``fit`` (supervised, the core engine with ``config.train``; e.g.
``param_groups: attention_only`` for the paper's attention-only
fine-tuning), ``pretrain`` (SimMIM masked-patch pre-training with
``config.pretrain``), ``embed``, ``classify``, ``evaluate``. ``checkpoint``
loads official deit / timm / model-directory weights from a local path
(:mod:`inria_three_things.checkpoint`); nothing is downloaded.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from inria.config import doc
from inria.errors import InriaError
from inria.interfaces.backbone import Backbone
from inria.interfaces.base import verb
from inria.train.config import TrainConfig, train_config_field

from . import checkpoint as ckpt
from .vit import SIZES, ThreeThingsViT

#: masked pre-training defaults (SimMIM: AdamW, cosine, warm-up; mask half the patches: 16-token digit images)
PRETRAIN = dict(objective="simmim", objective_args={"mask_ratio": 0.5}, optimizer="adamw", lr=1e-3,
                weight_decay=0.05, warmup_epochs=1.0, schedule="cosine", epochs=100, batch_size=128)
#: supervised defaults: the official three-things / DeiT III ImageNet settings (LAMB, BCE, 3-Augment, mixup)
TRAIN = dict(epochs=400, batch_size=256, optimizer="lamb", lr=4e-3, weight_decay=0.05, warmup_epochs=5.0,
             warmup_lr=1e-6, objective="bce", augmentation=["three_augment", "mixup"],
             augmentation_args={"mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}})


@dataclasses.dataclass
class ThreeThingsConfig:
    img_size: int = doc(224, "input side in pixels (other sizes are resized to it)")
    patch_size: int = doc(16, "patch side; img_size must be a multiple (and, with the hMLP stem, a multiple of 4)")
    embed_dim: int = doc(384, "width")
    depth: int = doc(18, "number of blocks (sequential depth)")
    parallel: int = doc(2, "attention + MLP branches per block (1 = the usual sequential ViT)")
    num_heads: int = doc(6, "attention heads per branch (embed_dim must be a multiple)")
    mlp_ratio: float = doc(4.0, "MLP hidden width / embed_dim")
    num_classes: int = doc(1000, "classifier outputs; a checkpoint with another count gets a new head (warned)")
    layer_scale_init: float = doc(1e-4, "LayerScale initial value (official _LS models: 1e-4); 0 = no LayerScale")
    drop_path: float = doc(0.05, "stochastic-depth rate, the same in every branch (models_v2's constant rate)")
    head_dropout: float = doc(0.0, "dropout before the classifier")
    stem: Literal["linear", "hmlp"] = doc("linear", "patch stem: linear projection, or the hierarchical MLP stem")
    stem_norm: Literal["batch", "layer"] = doc("batch", "hMLP stem norm: BatchNorm (paper) or per-position LayerNorm")
    checkpoint: str | None = doc(None, "starting weights: a local official deit file, a timm state dict "
                                       "(.pth/.safetensors) or a model directory; null = random init")
    batch_size: int = doc(128, "images per forward pass in embed/classify/evaluate")
    train: TrainConfig = train_config_field(**TRAIN)
    pretrain: TrainConfig = train_config_field("masked pre-training settings (verb pretrain)", **PRETRAIN)

    def validate(self) -> None:
        for name in ("img_size", "patch_size", "embed_dim", "depth", "parallel", "num_heads", "num_classes",
                     "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size {self.img_size} is not a multiple of patch_size {self.patch_size}")
        if self.stem == "hmlp" and self.patch_size % 4:
            raise ValueError(f"stem 'hmlp' needs a patch_size that is a multiple of 4, got {self.patch_size}; "
                             f"accepted: stem 'linear', or patch_size {4 * max(1, round(self.patch_size / 4))}")
        if self.embed_dim % self.num_heads or (self.stem == "hmlp" and self.embed_dim % 4):
            raise ValueError(f"embed_dim {self.embed_dim} must be a multiple of num_heads {self.num_heads}"
                             + (" and of 4 (hMLP stem)" if self.stem == "hmlp" else ""))
        if not 0.0 <= self.drop_path < 1.0 or not 0.0 <= self.head_dropout < 1.0:
            raise ValueError("drop_path and head_dropout must be in [0, 1)")
        if self.mlp_ratio <= 0 or self.layer_scale_init < 0:
            raise ValueError("mlp_ratio must be > 0 and layer_scale_init >= 0")


@dataclasses.dataclass
class PretrainParams:
    mask_ratio: float | None = doc(None, "fraction of patches hidden per image; null = config.pretrain's")


class ThreeThingsBackbone(Backbone):
    """Parallel (or sequential) ViT with a linear or hMLP stem (timm layers, official models_v2 layout)."""

    Config: ClassVar[type] = ThreeThingsConfig

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        c = self.config
        state = ckpt.read(c.checkpoint) if c.checkpoint is not None else None  # checked before building
        self._module = ThreeThingsViT(
            img_size=c.img_size, patch_size=c.patch_size, embed_dim=c.embed_dim, depth=c.depth,
            num_heads=c.num_heads, parallel=c.parallel, mlp_ratio=c.mlp_ratio, num_classes=c.num_classes,
            layer_scale_init=c.layer_scale_init, drop_path=c.drop_path, head_dropout=c.head_dropout,
            stem=c.stem, stem_norm=c.stem_norm)
        self.device = "cpu"
        if state is not None:
            ckpt.load_into(self._module, state, where=str(c.checkpoint))

    @property
    def module(self) -> ThreeThingsViT:
        return self._module

    def load_checkpoint(self, source: str | Path) -> None:
        ckpt.load_into(self._module, Path(source).expanduser())

    def to(self, device: str) -> "ThreeThingsBackbone":
        self._module.to(device)
        self.device = str(device)
        return self

    def save(self, path: str | Path) -> Path:
        """The model directory: the base class's card.yaml, then the weights (timm layout) in safetensors."""
        from inria.modeldir import save_weights

        path = super().save(path)
        save_weights(path, self._module.state_dict(), metadata={"format": "timm-vit"})
        return path

    # -- inputs ---------------------------------------------------------------
    def prepare(self, images, where: str = "images") -> torch.Tensor:
        """(N, 3, img_size, img_size) float32 in [0, 1] from a batch, a list of (C, H, W) or a numpy array."""
        from inria.ops.image import square_batch

        return square_batch(images, self.config.img_size, where=where)

    @torch.no_grad()
    def _forward(self, images, fn) -> torch.Tensor:
        self._module.eval()
        x, bs = self.prepare(images), self.config.batch_size
        return torch.cat([fn(x[i:i + bs].to(self.device)).float().cpu() for i in range(0, len(x), bs)])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``embed``'s class-token features with gradients to the pixels (eval mode): (N, embed_dim)."""
        self._module.eval()
        return self._module.features(self.prepare(images).to(self.device))

    def embed(self, images) -> np.ndarray:
        """Class-token features after the final norm: (N, embed_dim) float32."""
        return self._forward(images, self._module.features).numpy()

    def classify(self, images) -> torch.Tensor:
        """Logits (N, num_classes) on the CPU."""
        return self._forward(images, self._module)

    # -- training ---------------------------------------------------------------
    def _train(self, module, data, config: TrainConfig, ctx, callbacks, name: str | None) -> dict[str, float]:
        from inria.train import Trainer

        # a named training (pre-training) keeps its own checkpoints, so a fit in the same step never resumes from it
        where = {"checkpoint_dir": ctx.checkpoint_dir / name} if ctx is not None and name else {}
        trainer = Trainer(module, data, config, ctx=ctx, callbacks=callbacks, name=name, **where)
        metrics = trainer.fit()
        if trainer.ema_module is not None:
            module.load_state_dict(trainer.ema_module.state_dict())
        self.device = str(trainer.device)
        for p in self._module.parameters():  # a rule like attention_only froze the rest for that run only
            p.requires_grad_(True)
        self._module.eval()
        return {k: float(v) for k, v in metrics.items()}

    def fit(self, images, labels, ctx=None, callbacks: list | None = None) -> dict[str, float]:
        """Supervised training with the core engine as ``config.train`` says (labels in [0, num_classes)).

        ``param_groups: attention_only`` trains only the attention layers, head
        and position embedding (the paper's attention-only fine-tuning).
        Mixup/CutMix get ``num_classes`` from the config.
        """
        from inria.train import TensorData

        x = self.prepare(images, where="fit images")
        y = torch.as_tensor(np.asarray(labels)).long().flatten()
        if len(y) != len(x):
            raise InriaError(f"{len(y)} labels for {len(x)} images", where="fit labels")
        if int(y.min()) < 0 or int(y.max()) >= self.config.num_classes:
            raise InriaError(f"labels span {int(y.min())}..{int(y.max())}, outside [0, {self.config.num_classes})",
                             where="fit labels", hint=f"set num_classes to at least {int(y.max()) + 1}")
        train = self.config.train
        # the recipe's own arguments of an augmentation the user switched off are not an error; other strays are
        defaults = type(self.config)().train.augmentation_args
        args = {k: dict(v) for k, v in train.augmentation_args.items()
                if k in train.augmentations or v != defaults.get(k)}
        if "mixup" in args:
            args["mixup"].setdefault("num_classes", self.config.num_classes)
        return self._train(self._module, TensorData(x, y), train.replace(augmentation_args=args), ctx, callbacks,
                           name=None if ctx is not None else self.name or "three_things")

    def pretrain_masked(self, images, ctx=None, mask_ratio: float | None = None,
                        callbacks: list | None = None) -> dict[str, float]:
        """SimMIM masked-patch pre-training on unlabelled images (``config.pretrain``); the decoder is dropped."""
        from inria.train import TensorData

        from .masked import MaskedImageModel

        config = self.config.pretrain
        if mask_ratio is not None:
            config = config.replace(objective_args=dict(config.objective_args, mask_ratio=mask_ratio))
        x = self.prepare(images, where="pretrain images")
        #: the encoder + mask token + pixel decoder of the last pre-training (not saved: the decoder is dropped)
        self.masked_model = MaskedImageModel(self._module)
        return self._train(self.masked_model, TensorData(x), config, ctx, callbacks,
                           name="pretrain")

    # -- verbs (the base embed/classify/evaluate run on the step's device: see the end of the module) ----
    @verb(inputs={"images": "images", "labels": "labels", "init": "model?"},
          outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images, labels, init=None):
        """Train on labelled images (from ``init``'s weights when wired, e.g. a pretrain step) and save the model."""
        if init is not None:
            self.load_checkpoint(init)
        self.to(ctx.device)
        metrics = self.fit(images, labels, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics}

    @verb(inputs={"images": "images"}, outputs={"model": "model", "metrics": "metrics"}, params=PretrainParams)
    def pretrain_step(self, ctx, images, mask_ratio=None):
        """Masked-patch (SimMIM) pre-training on images, labels unused; saves the encoder's model directory."""
        self.to(ctx.device)
        metrics = self.pretrain_masked(images, ctx=ctx, mask_ratio=mask_ratio)
        return {"model": self.save_model(ctx), "metrics": metrics}


def _on_device(base):
    """A base verb that first moves the module to the step's device."""
    def step(self, ctx, **kw):
        return base(self.to(ctx.device), ctx, **kw)

    step.__inria_verb__, step.__name__, step.__doc__ = base.__inria_verb__, base.__name__, base.__doc__
    return step


for _verb in ("embed_step", "classify_step", "evaluate_step"):
    setattr(ThreeThingsBackbone, _verb, _on_device(getattr(Backbone, _verb)))


def _constructor(size: str, cls_name: str, doc_line: str, **extra: Any) -> type:
    arch = SIZES[size]
    defaults = dict(img_size=arch.img_size, patch_size=arch.patch_size, embed_dim=arch.embed_dim, depth=arch.depth,
                    parallel=arch.parallel, num_heads=arch.num_heads, drop_path=arch.drop_path, **extra)
    base = {f.name: f for f in dataclasses.fields(ThreeThingsConfig)}
    fields = []
    for name, value in defaults.items():
        f = base[name]
        if isinstance(value, dict):  # a TrainConfig field with other defaults
            fields.append((name, TrainConfig, train_config_field(f.metadata.get("doc", ""), **value)))
        else:
            fields.append((name, f.type, dataclasses.field(default=value, metadata=f.metadata)))
    config = dataclasses.make_dataclass(f"{cls_name}Config", fields, bases=(ThreeThingsConfig,),
                                        namespace={"__module__": __name__})
    return type(cls_name, (ThreeThingsBackbone,), {"Config": config, "__doc__": doc_line, "__module__": __name__,
                                                   "name": f"three_things_{size}"})


#: digits at laptop scale (benchmarks/three_things_digits.py): the DeiT III digits recipe by name (LAMB, BCE,
#: 3-Augment without flip and with 2-px reflect-pad shifts; no mixup), batch 32
DIGITS_TRAIN = dict(epochs=20, batch_size=32, optimizer="lamb", lr=4e-3, weight_decay=0.05, schedule="cosine",
                    warmup_epochs=2.0, warmup_lr=1e-6, objective="bce", augmentation=["three_augment"],
                    augmentation_args={"three_augment": {"crop": "src", "padding": 2, "hflip": False}})
DIGITS_PRETRAIN = dict(PRETRAIN, epochs=30, batch_size=32)

ThreeThingsSmall18x2 = _constructor("small_18x2", "ThreeThingsSmall18x2",
                                    "ViT-S 18x2 with LayerScale (official deit_small_patch16_18x2_LS; timm vit_small_patch16_18x2_224).")
ThreeThingsBase18x2 = _constructor("base_18x2", "ThreeThingsBase18x2",
                                   "ViT-B 18x2 with LayerScale (official deit_base_patch16_18x2_LS; timm vit_base_patch16_18x2_224).")
ThreeThingsHuge26x2 = _constructor("huge_26x2", "ThreeThingsHuge26x2",
                                   "ViT-H/14 26x2 with LayerScale (official deit_huge_patch14_26x2_LS).")
ThreeThingsSmall36x1 = _constructor("small_36x1", "ThreeThingsSmall36x1",
                                    "ViT-S 36 sequential blocks, the 18x2's peer (official deit_small_patch16_36_LS).")
ThreeThingsBase36x1 = _constructor("base_36x1", "ThreeThingsBase36x1",
                                   "ViT-B 36 sequential blocks, the 18x2's peer (official deit_base_patch16_36x1_LS).")
ThreeThingsDigits6x2 = _constructor("digits_6x2", "ThreeThingsDigits6x2",
                                    "Digits-sized 6x2 parallel ViT (32x32, patch 8, width 96).", num_classes=10,
                                    train=DIGITS_TRAIN, pretrain=DIGITS_PRETRAIN)
ThreeThingsDigits12x1 = _constructor("digits_12x1", "ThreeThingsDigits12x1",
                                     "Digits-sized 12-block sequential ViT, the 6x2's equal-parameter peer.",
                                     num_classes=10, train=DIGITS_TRAIN, pretrain=DIGITS_PRETRAIN)

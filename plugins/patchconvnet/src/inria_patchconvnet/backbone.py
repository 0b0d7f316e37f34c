"""The Backbones: ``patchconvnet_s60``, ``_s120``, ``_b60``, ``_b120``, ``_l60``, ``_l120`` and ``patchconvnet_digits``.

One class, :class:`PatchConvNetBackbone`; each named constructor is a
subclass whose ``Config`` defaults are that architecture (timm style: a
registry of named constructors). Every architecture field stays
configurable.

Verbs: ``fit`` (the core engine with ``config.train``: LAMB, cosine, BCE,
3-Augment, mixup by name), ``embed`` (the pooled class token after the final
LayerNorm), ``classify``, ``evaluate``; :meth:`PatchConvNetBackbone.attention_maps`
gives the pooling layer's attention over the input (drawn per
class by ``benchmarks/patchconvnet_digits.py``). ``checkpoint`` loads the official
deit-repo weights or a model directory from a local path, or ``default``
(the weights shipped with ``patchconvnet_digits``); nothing is downloaded.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from inria.config import build, doc
from inria.errors import InriaError
from inria.interfaces.backbone import Backbone
from inria.interfaces.base import verb
from inria.train.config import TrainConfig, train_config_field

from . import checkpoint as ckpt
from .patchconvnet import SIZES, PatchConvNet, stem_widths

WEIGHTS_DIR = Path(__file__).parent / "weights"

#: the paper's ImageNet recipe as far as the deit repo's README_patchconvnet and DeiT III give it: LAMB, cosine,
#: BCE, 3-Augment and mixup/CutMix by name (epochs 400; drop-path per model is not in the file: left at 0)
TRAIN = dict(epochs=400, batch_size=256, optimizer="lamb", lr=3e-3, weight_decay=0.05, schedule="cosine",
             warmup_epochs=5.0, warmup_lr=1e-6, objective="bce", augmentation=["three_augment", "mixup"],
             augmentation_args={"mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}})

#: digits (python -m inria_patchconvnet.train_digits): the DeiT III digits recipe by name (LAMB 4e-3, BCE,
#: 3-Augment without flip and with 2-px reflect-pad shifts, no mixup), 20 epochs of batch 16
DIGITS_TRAIN = dict(epochs=20, batch_size=16, optimizer="lamb", lr=4e-3, weight_decay=0.05, schedule="cosine",
                    warmup_epochs=2.0, warmup_lr=1e-6, objective="bce", augmentation=["three_augment"],
                    augmentation_args={"three_augment": {"crop": "src", "padding": 2, "hflip": False}})


@dataclasses.dataclass
class PatchConvNetConfig:
    img_size: int = doc(224, "input side in pixels (images of another size are resized to it)")
    patch_size: int = doc(16, "stem downsampling, a power of two: one stride-2 3x3 convolution per factor 2")
    embed_dim: int = doc(384, "width of the columns")
    depth: int = doc(60, "number of column blocks (convolution + squeeze-excitation)")
    num_heads: int = doc(1, "heads of the class-token attention pooling (official: 1)")
    mlp_ratio_pool: float = doc(3.0, "MLP hidden width / embed_dim in the pooling block")
    num_classes: int = doc(1000, "classifier outputs; a checkpoint with another count gets a new head (warned)")
    layer_scale_init: float = doc(1e-4, "LayerScale initial value (official: S60 1e-4, the others 1e-6)")
    drop_path: float = doc(0.0, "stochastic-depth rate, the same in every column (the official constant rule)")
    head_dropout: float = doc(0.0, "dropout before the classifier")
    checkpoint: str | None = doc(None, "starting weights: a local official PatchConvNet .pth, a .safetensors state "
                                       "dict, a model directory, or 'default' (patchconvnet_digits' shipped "
                                       "weights); null = random init")
    batch_size: int = doc(128, "images per forward pass in embed/classify/evaluate")
    train: TrainConfig = train_config_field(**TRAIN)

    def validate(self) -> None:
        for name in ("img_size", "patch_size", "embed_dim", "depth", "num_heads", "num_classes", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        stem_widths(self.embed_dim, self.patch_size)  # power of two, width divisible
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size {self.img_size} is not a multiple of patch_size {self.patch_size}; "
                             f"accepted: {self.patch_size * max(1, self.img_size // self.patch_size)}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not a multiple of num_heads {self.num_heads}")
        if not 0.0 <= self.drop_path < 1.0 or not 0.0 <= self.head_dropout < 1.0:
            raise ValueError("drop_path and head_dropout must be in [0, 1)")
        if self.mlp_ratio_pool <= 0 or self.layer_scale_init <= 0:
            raise ValueError("mlp_ratio_pool and layer_scale_init must be > 0")


class PatchConvNetBackbone(Backbone):
    """PatchConvNet: convolutional stem, SE column blocks with LayerScale, class-token attention pooling."""

    Config: ClassVar[type] = PatchConvNetConfig
    #: folder under weights/ that ``checkpoint: default`` loads; None = this constructor ships none
    shipped_weights: ClassVar[str | None] = None

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        c = self.config
        source = self.resolve_checkpoint(c.checkpoint) if c.checkpoint is not None else None
        state = ckpt.read(source) if source is not None else None  # checked before building anything heavy
        self._module = PatchConvNet(img_size=c.img_size, patch_size=c.patch_size, num_classes=c.num_classes,
                                    embed_dim=c.embed_dim, depth=c.depth, num_heads=c.num_heads,
                                    mlp_ratio_pool=c.mlp_ratio_pool, layer_scale_init=c.layer_scale_init,
                                    drop_path=c.drop_path, head_dropout=c.head_dropout)
        self.device = "cpu"
        if state is not None:
            ckpt.load_into(self._module, state, where=str(source))

    # -- weights ------------------------------------------------------------
    @property
    def module(self) -> PatchConvNet:
        return self._module

    def resolve_checkpoint(self, name: str) -> Path:
        if name != "default":
            return Path(name).expanduser()
        if self.shipped_weights is None:
            raise InriaError(f"'{self.name or type(self).__name__}' ships no weights", where="checkpoint",
                             hint=f"pass {ckpt.ACCEPTED}, or use patchconvnet_digits with checkpoint: default")
        path = WEIGHTS_DIR / self.shipped_weights
        if not (path / "weights.safetensors").is_file():
            raise InriaError("shipped weights missing from the installed package", where=str(path),
                             hint="reinstall inria-plugin-patchconvnet or run python -m inria_patchconvnet.train_digits")
        return path

    def load_checkpoint(self, source: str | Path) -> None:
        path = self.resolve_checkpoint(str(source))
        ckpt.load_into(self._module, path)

    def to(self, device: str) -> "PatchConvNetBackbone":
        self._module.to(device)
        self.device = str(device)
        return self

    def save(self, path: str | Path) -> Path:
        """The model directory: the base class's card.yaml, then the weights (official names) in safetensors."""
        from inria.modeldir import save_weights

        path = super().save(path)
        save_weights(path, self._module.state_dict(), metadata={"format": "patchconvnet-official"})
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "PatchConvNetBackbone":
        from inria.modeldir import read_card

        card = read_card(path, expect=cls)
        obj = cls(build(cls.Config, {**card["config"], **overrides, "checkpoint": None},
                        where=f"{path}/card.yaml:config"))
        ckpt.load_into(obj._module, Path(path))
        return obj

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
        """``embed``'s pooled features with gradients to the pixels (eval mode): (N, embed_dim)."""
        self._module.eval()
        return self._module.features(self.prepare(images).to(self.device))

    # -- verbs ------------------------------------------------------------------
    def embed(self, images) -> np.ndarray:
        """Pooled features: the class token after attention pooling and the final LayerNorm, (N, embed_dim)."""
        return self._forward(images, self._module.features).numpy()

    def classify(self, images) -> torch.Tensor:
        """Logits (N, num_classes) on the CPU."""
        return self._forward(images, self._module)

    def attention_maps(self, images) -> tuple[np.ndarray, np.ndarray]:
        """The pooling layer's attention over the input: maps (N, H/p, W/p) (mean over heads) and logits (N, C).

        Each map holds the class query's softmax weights on the patches; with
        the weight it puts on itself (``1 - map.sum()``) they sum to 1.
        """
        both = self._forward(images, lambda x: torch.cat([t.flatten(1) for t in self._module.attention(x)], 1))
        logits, maps = both[:, :self.config.num_classes], both[:, self.config.num_classes:]
        grid = self.config.img_size // self.config.patch_size
        return maps.reshape(len(maps), self.config.num_heads, grid, grid).mean(1).numpy(), logits.numpy()

    # -- training ---------------------------------------------------------------
    def fit(self, images, labels, ctx=None, callbacks: list | None = None) -> dict[str, float]:
        """Supervised training with the core engine as ``config.train`` says (labels in [0, num_classes)).

        Components are named (``lamb``, ``cosine``, ``bce``, ``three_augment``,
        ``mixup``, or ``cosub`` where a plugin provides it); mixup/CutMix get
        ``num_classes`` from the config. With ``train.ema`` the EMA weights are kept.
        """
        from inria.train import TensorData, Trainer

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
        trainer = Trainer(self._module, TensorData(x, y), train.replace(augmentation_args=args), ctx=ctx,
                          callbacks=callbacks, name=None if ctx is not None else self.name or "patchconvnet")
        metrics = trainer.fit()
        if trainer.ema_module is not None:
            self._module.load_state_dict(trainer.ema_module.state_dict())
        self.device = str(trainer.device)
        self._module.eval()
        return {k: float(v) for k, v in metrics.items()}

    @verb(inputs={"images": "images", "labels": "labels", "init": "model?"},
          outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images, labels, init=None):
        """Train on labelled images (from ``init``'s weights when wired) and save the model directory."""
        if init is not None:
            self.load_checkpoint(init)
        self.to(ctx.device)
        metrics = self.fit(images, labels, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics}


def _on_device(base):
    """A base verb that first moves the module to the step's device."""
    def step(self, ctx, **kw):
        return base(self.to(ctx.device), ctx, **kw)

    step.__inria_verb__, step.__name__, step.__doc__ = base.__inria_verb__, base.__name__, base.__doc__
    return step


for _verb in ("embed_step", "classify_step", "evaluate_step"):
    setattr(PatchConvNetBackbone, _verb, _on_device(getattr(Backbone, _verb)))


def _constructor(size: str, cls_name: str, doc_line: str, shipped: str | None = None, **extra: Any) -> type:
    arch = SIZES[size]
    defaults = dict(img_size=arch.img_size, patch_size=arch.patch_size, embed_dim=arch.embed_dim, depth=arch.depth,
                    mlp_ratio_pool=arch.mlp_ratio_pool, layer_scale_init=arch.layer_scale_init, **extra)
    base = {f.name: f for f in dataclasses.fields(PatchConvNetConfig)}
    fields = []
    for name, value in defaults.items():
        f = base[name]
        if isinstance(value, dict):  # the TrainConfig field with other defaults
            fields.append((name, TrainConfig, train_config_field(f.metadata.get("doc", ""), **value)))
        else:
            fields.append((name, f.type, dataclasses.field(default=value, metadata=f.metadata)))
    config = dataclasses.make_dataclass(f"{cls_name}Config", fields, bases=(PatchConvNetConfig,),
                                        namespace={"__module__": __name__})
    return type(cls_name, (PatchConvNetBackbone,), {"Config": config, "__doc__": doc_line, "__module__": __name__,
                                                    "name": f"patchconvnet_{size}", "shipped_weights": shipped})


PatchConvNetS60 = _constructor("s60", "PatchConvNetS60", "PatchConvNet S60 (width 384, 60 columns, 25.2M; IN-1k 82.1 %).")
PatchConvNetS120 = _constructor("s120", "PatchConvNetS120", "PatchConvNet S120 (width 384, 120 columns, 47.7M; IN-1k 83.2 %).")
PatchConvNetB60 = _constructor("b60", "PatchConvNetB60", "PatchConvNet B60 (width 768, 60 columns, 99.4M; IN-1k 83.5 %).")
PatchConvNetB120 = _constructor("b120", "PatchConvNetB120", "PatchConvNet B120 (width 768, 120 columns, 188.6M; IN-1k 84.1 %).")
PatchConvNetL60 = _constructor("l60", "PatchConvNetL60", "PatchConvNet L60 (width 1024, 60 columns, 176.0M).")
PatchConvNetL120 = _constructor("l120", "PatchConvNetL120", "PatchConvNet L120 (width 1024, 120 columns, 334.3M).")
PatchConvNetDigits = _constructor("digits", "PatchConvNetDigits",
                                  "Digits-sized PatchConvNet (32x32, patch 4, width 128, 10 columns, 0.68M); "
                                  "checkpoint: default = the shipped model.", shipped="digits", num_classes=10,
                                  checkpoint="default", train=DIGITS_TRAIN)

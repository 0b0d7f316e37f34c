"""The DeiT III backbones: ``deit3_tiny`` ... ``deit3_huge`` and ``deit3_digits``.

One class, :class:`DeiT3Backbone`; each named constructor is a subclass whose
``Config`` carries that size's architecture and the paper's ImageNet-1k
training recipe as defaults (timm style: a registry of named constructors,
metadata next to the model). Every architecture field stays configurable, so
a small-scale run is ``deit3_tiny`` with ``img_size: 32, patch_size: 4,
depth: 6``.

``checkpoint`` picks the starting weights (see :mod:`inria_deit3.checkpoint`):
a local official ``deit_3_*.pth``, a timm ``deit3_*`` state dict, a model
directory, or ``default`` = the weights shipped with the constructor (only
``deit3_digits`` ships weights: DeiT III trained on scikit-learn's digits by
``python -m inria_deit3.train_digits``). Nothing is ever downloaded.
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
from .vit import SIZES, DeiT3ViT

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclasses.dataclass
class DeiT3Config:
    img_size: int = doc(224, "input side in pixels (images of another size are resized to it); a checkpoint "
                             "trained at another size gets its position embedding resampled")
    patch_size: int = doc(16, "patch side in pixels; img_size must be a multiple of it")
    embed_dim: int = doc(384, "width")
    depth: int = doc(12, "number of transformer blocks")
    num_heads: int = doc(6, "attention heads (embed_dim must be a multiple)")
    mlp_ratio: float = doc(4.0, "MLP hidden width / embed_dim")
    num_classes: int = doc(1000, "classifier outputs; a checkpoint with another count gets a new head (warned)")
    layer_scale_init: float = doc(1e-4, "LayerScale initial value (DeiT III: 1e-4)")
    drop_path: float = doc(0.05, "stochastic-depth rate, the same in every block (DeiT III's uniform rule)")
    head_dropout: float = doc(0.0, "dropout before the classifier (DeiT III: 0)")
    checkpoint: str | None = doc(None, "starting weights: a local deit_3_*.pth, a timm deit3 state dict "
                                       "(.pth/.safetensors), a model directory, or 'default' (shipped weights; "
                                       "deit3_digits only); null = random init")
    batch_size: int = doc(128, "images per forward pass in embed/classify/evaluate")
    train: TrainConfig = train_config_field()

    def validate(self) -> None:
        for name in ("img_size", "patch_size", "embed_dim", "depth", "num_heads", "num_classes", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size {self.img_size} is not a multiple of patch_size {self.patch_size}; "
                             f"accepted: {self.patch_size * max(1, self.img_size // self.patch_size)} or "
                             f"{self.patch_size * (self.img_size // self.patch_size + 1)}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not a multiple of num_heads {self.num_heads}")
        if not 0.0 <= self.drop_path < 1.0 or not 0.0 <= self.head_dropout < 1.0:
            raise ValueError("drop_path and head_dropout must be in [0, 1)")
        if self.mlp_ratio <= 0 or self.layer_scale_init <= 0:
            raise ValueError("mlp_ratio and layer_scale_init must be > 0")


def paper_recipe(size: str) -> dict[str, Any]:
    """The paper's ImageNet-1k pre-training settings for ``size`` (README_revenge.md commands).

    800 epochs of LAMB, unscaled lr 4e-3 (S; also used for Ti) or 3e-3 (M/B/L/H),
    batch 2048 (256 per GPU x 8 here), weight decay 0.05, 5 warm-up epochs
    from 1e-6, cosine; BCE on binarised mixup 0.8 / CutMix 1.0 targets, no
    label smoothing; 3-Augment with colour jitter 0.3; repeated augmentation x3. Mixup's ``num_classes``
    comes from the backbone config at ``fit``.
    """
    arch = SIZES[size]
    return dict(
        epochs=800, batch_size=256 if arch.embed_dim <= 768 else 64, repeated_augment=3, optimizer="lamb",
        lr=4e-3 if arch.embed_dim <= 384 else 3e-3, lr_base_batch=0, weight_decay=0.05,
        schedule="cosine", warmup_epochs=5.0, warmup_lr=1e-6,
        objective="bce", augmentation=["three_augment", "mixup"],
        augmentation_args={"mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "label_smoothing": 0.0}},
    )


def _train_config(cls_name: str, **defaults: Any) -> type:
    """A TrainConfig subclass whose *class* defaults are this recipe's.

    A recipe's partial ``train: {epochs: 3}`` is built against the field's
    type, so the recipe's other settings (lamb, bce, ...) must be the type's
    own defaults to survive a partial override.
    """
    import typing

    base = {f.name: f for f in dataclasses.fields(TrainConfig)}
    hints = typing.get_type_hints(TrainConfig)
    fields = [(name, hints[name], doc(value, base[name].metadata.get("doc", ""))) for name, value in defaults.items()]
    return dataclasses.make_dataclass(cls_name, fields, bases=(TrainConfig,), namespace={"__module__": __name__})


def _sized_config(cls_name: str, **defaults: Any) -> type:
    """A subclass of DeiT3Config with other defaults (field docs kept); ``train`` gets its own TrainConfig type."""
    import typing

    base = {f.name: f for f in dataclasses.fields(DeiT3Config)}
    hints = typing.get_type_hints(DeiT3Config)
    fields = []
    for name, value in defaults.items():
        if name == "train":
            train_cls = _train_config(cls_name.removesuffix("Config") + "Train", **value)
            fields.append((name, train_cls, dataclasses.field(default_factory=train_cls, metadata=base[name].metadata)))
        else:
            fields.append((name, hints[name], dataclasses.field(default=value, metadata=base[name].metadata)))
    return dataclasses.make_dataclass(cls_name, fields, bases=(DeiT3Config,), namespace={"__module__": __name__})


def _on_step_device(base_step):
    """The base class's verb, with the module moved to ``ctx.device`` first."""
    def step(self, ctx, **kw):
        self.to(ctx.device)
        return base_step(self, ctx, **kw)

    step.__inria_verb__ = base_step.__inria_verb__
    step.__name__, step.__doc__ = base_step.__name__, base_step.__doc__
    return step


class DeiT3Backbone(Backbone):
    """DeiT III Vision Transformer (timm VisionTransformer, LayerScale 1e-4, pos-embed before the class token)."""

    Config: ClassVar[type] = DeiT3Config
    #: folder name under weights/ used by ``checkpoint: default``; None = no shipped weights
    shipped_weights: ClassVar[str | None] = None

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        c = self.config
        # read (and so check) the checkpoint before building anything heavy
        state, where = None, None
        if c.checkpoint is not None:
            path = self.resolve_checkpoint(c.checkpoint)
            state, where = ckpt.read_state_dict(path), str(path)
        self._module = DeiT3ViT(img_size=c.img_size, patch_size=c.patch_size, embed_dim=c.embed_dim, depth=c.depth,
                                num_heads=c.num_heads, mlp_ratio=c.mlp_ratio, num_classes=c.num_classes,
                                layer_scale_init=c.layer_scale_init, drop_path=c.drop_path,
                                head_dropout=c.head_dropout)
        self.device = "cpu"
        if state is not None:
            ckpt.load_into(self._module, state, where=where)

    # -- weights ------------------------------------------------------------
    @property
    def module(self) -> DeiT3ViT:
        return self._module

    def resolve_checkpoint(self, name: str) -> Path:
        if name == "default":
            if self.shipped_weights is None:
                raise InriaError(f"'{self.name or type(self).__name__}' ships no weights", where="checkpoint",
                                 hint="pass a local deit_3_*.pth or timm deit3 state dict, or use deit3_digits "
                                      "with checkpoint: default")
            path = WEIGHTS_DIR / self.shipped_weights
            if not (path / "weights.safetensors").is_file():
                raise InriaError("shipped weights missing from the installed package", where=str(path),
                                 hint="reinstall inria-plugin-deit3 or run python -m inria_deit3.train_digits")
            return path
        return Path(name).expanduser()

    def load_checkpoint(self, source: str | Path) -> None:
        """Load official / timm / model-directory weights (see :mod:`inria_deit3.checkpoint`)."""
        path = self.resolve_checkpoint(str(source))
        ckpt.load_into(self._module, path)

    def to(self, device: str) -> "DeiT3Backbone":
        self._module.to(device)
        self.device = device
        return self

    def save(self, path: str | Path) -> Path:
        from inria.modeldir import save_weights, write_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_weights(path, self._module.state_dict(), metadata={"format": "timm-deit3"})
        write_card(path, self, weights="weights.safetensors", naming="timm (blocks.i.ls1.gamma)")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DeiT3Backbone":
        from inria.modeldir import read_card

        card = read_card(path, expect=cls)
        values = dict(card["config"], checkpoint=None)  # the weights come from this directory
        obj = cls(build(cls.Config, values, where=f"{path}/card.yaml:config"))
        ckpt.load_into(obj._module, Path(path))
        return obj

    # -- inputs ---------------------------------------------------------------
    def prepare(self, images, where: str = "images") -> torch.Tensor:
        """(N, 3, img_size, img_size) float32 in [0, 1] from a batch, a list or a numpy array."""
        from inria.ops.image import resize

        side = self.config.img_size
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        items = [images] if isinstance(images, torch.Tensor) and images.dim() == 4 else None
        if items is None:
            if isinstance(images, torch.Tensor) and images.dim() == 3:
                items = [images.unsqueeze(0)]
            elif isinstance(images, (list, tuple)):
                items = [torch.as_tensor(im).unsqueeze(0) if torch.as_tensor(im).dim() == 3 else torch.as_tensor(im)
                         for im in images]
            else:
                raise InriaError(f"expected images (N, 3, H, W) or a list of (3, H, W), got "
                                 f"{type(images).__name__}{tuple(getattr(images, 'shape', ()))}", where=where)
        out = []
        for i, x in enumerate(items):
            if x.dim() != 4 or x.shape[1] not in (1, 3):
                raise InriaError(f"image {i} has shape {tuple(x.shape[-3:])}; expected 3 (or 1) channels first",
                                 where=where, hint="images are float tensors (N, 3, H, W) in [0, 1]")
            if x.dtype == torch.uint8:
                x = x.float() / 255
            x = x.float()
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            if min(x.shape[-2:]) < 1:
                raise InriaError(f"image {i} is empty ({tuple(x.shape[-2:])})", where=where)
            if tuple(x.shape[-2:]) != (side, side):
                x = resize(x, size=(side, side))
            out.append(x)
        if not out:
            raise InriaError("no images", where=where)
        batch = torch.cat(out) if len(out) > 1 else out[0]
        if not torch.isfinite(batch).all():
            raise InriaError("images contain NaN or inf", where=where)
        return batch

    def _batches(self, images):
        x = self.prepare(images)
        for i in range(0, len(x), self.config.batch_size):
            yield x[i:i + self.config.batch_size].to(self.device)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``embed``'s class-token features with gradients to the pixels (eval mode): (N, embed_dim)."""
        self._module.eval()
        return self._module.features(self.prepare(images).to(self.device))

    # -- verbs ------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, images) -> np.ndarray:
        """Class-token features after the final LayerNorm: (N, embed_dim) float32."""
        self._module.eval()
        feats = [self._module.features(x).float().cpu() for x in self._batches(images)]
        return torch.cat(feats).numpy().astype(np.float32)

    @torch.no_grad()
    def classify(self, images) -> torch.Tensor:
        """Logits (N, num_classes) on the CPU."""
        self._module.eval()
        return torch.cat([self._module(x).float().cpu() for x in self._batches(images)])

    # the base verbs, run on the step's device
    embed_step = _on_step_device(Backbone.embed_step)
    classify_step = _on_step_device(Backbone.classify_step)
    evaluate_step = _on_step_device(Backbone.evaluate_step)

    @verb(inputs={"images": "images", "labels": "labels", "init": "model?"},
          outputs={"model": "model", "metrics": "metrics"})
    def fit_step(self, ctx, images, labels, init=None):
        """Train on labelled images (from ``init``'s weights when wired) and save the model directory.

        ``init`` is a model directory from an earlier step (e.g. pre-training at
        192 before fine-tuning at 224): its weights are loaded into this
        step's configuration (position embedding resampled, head re-initialised
        for another class count), then training runs with this step's settings.
        """
        if init is not None:
            self.load_checkpoint(init)
        metrics = self.fit(images, labels, ctx=ctx)
        return {"model": self.save_model(ctx), "metrics": metrics or {}}

    def fit(self, images, labels, ctx=None, callbacks: list | None = None) -> dict[str, float]:
        """Train with the core engine (:class:`inria.train.Trainer`) as ``config.train`` says.

        Images are resized to ``img_size``; labels are class indices in
        ``[0, num_classes)``. ``images`` may instead be a map-style dataset of
        ``(image, label)`` pairs already at ``img_size`` (``labels=None``). Mixup/CutMix get ``num_classes`` from the config.
        With ``train.ema`` the EMA weights are kept at the end. Returns the
        engine's final metrics.
        """
        from inria.train import TensorData, Trainer

        train = self.config.train
        if isinstance(images, torch.utils.data.Dataset) and labels is None:
            data = images  # a map-style dataset of (image at img_size, label) pairs, e.g. a lazy image folder
        else:
            x = self.prepare(images, where="fit images")
            data = TensorData(x, self._labels(labels, len(x)))
        args = {k: dict(v) for k, v in train.augmentation_args.items()}
        # the recipe's default arguments of an augmentation the user switched off are not an error
        defaults = type(train)().augmentation_args
        for name in [n for n in args if n not in train.augmentations and args[n] == defaults.get(n)]:
            del args[name]
        if "mixup" in train.augmentations:
            mix = args.setdefault("mixup", {})
            if mix.setdefault("num_classes", self.config.num_classes) != self.config.num_classes:
                raise InriaError(f"mixup num_classes {mix['num_classes']} differs from num_classes "
                                 f"{self.config.num_classes}", where="train.augmentation_args.mixup.num_classes",
                                 hint="leave it out: fit fills it in")
        trainer = Trainer(self._module, data, train.replace(augmentation_args=args), ctx=ctx,
                          callbacks=callbacks, name=(ctx.step_id if ctx is not None else self.name or "deit3"))
        metrics = trainer.fit()
        if trainer.ema_module is not None:
            self._module.load_state_dict(trainer.ema_module.state_dict())
        self.device = str(trainer.device)
        self._module.eval()
        return {k: float(v) for k, v in metrics.items()}

    def _labels(self, labels, n: int) -> torch.Tensor:
        y = torch.as_tensor(np.asarray(labels)).long().flatten()
        if len(y) != n:
            raise InriaError(f"{len(y)} labels for {n} images", where="fit labels")
        if int(y.min()) < 0 or int(y.max()) >= self.config.num_classes:
            raise InriaError(f"labels span {int(y.min())}..{int(y.max())}, outside [0, {self.config.num_classes})",
                             where="fit labels", hint=f"set num_classes to at least {int(y.max()) + 1}")
        return y


_CONSTRUCTORS: dict[str, type] = {}


def _constructor(size: str, cls_name: str, doc_line: str, **extra: Any) -> type:
    arch = SIZES[size]
    defaults = dict(patch_size=arch.patch_size, embed_dim=arch.embed_dim, depth=arch.depth,
                    num_heads=arch.num_heads, drop_path=arch.drop_path, train=paper_recipe(size))
    defaults.update(extra)
    config = _sized_config(f"{cls_name}Config", **defaults)
    # ``name`` as the entry point (the registry sets it too): cards written by a directly built class say the same
    cls = type(cls_name, (DeiT3Backbone,), {"Config": config, "__doc__": doc_line, "__module__": __name__,
                                            "name": f"deit3_{size}"})
    _CONSTRUCTORS[size] = cls
    return cls


DeiT3Tiny = _constructor("tiny", "DeiT3Tiny", "DeiT III ViT-Ti/16 (width 192, depth 12, 3 heads; the official deit_tiny_patch16_LS).")
DeiT3Small = _constructor("small", "DeiT3Small", "DeiT III ViT-S/16 (width 384, depth 12, 6 heads; IN-1k 81.4 % at 224).")
DeiT3Medium = _constructor("medium", "DeiT3Medium", "DeiT III ViT-M/16 (width 512, depth 12, 8 heads).")
DeiT3Base = _constructor("base", "DeiT3Base", "DeiT III ViT-B/16 (width 768, depth 12, 12 heads; IN-1k 83.8 % at 224).")
DeiT3Large = _constructor("large", "DeiT3Large", "DeiT III ViT-L/16 (width 1024, depth 24, 16 heads; IN-1k 84.9 % at 224).")
DeiT3Huge = _constructor("huge", "DeiT3Huge", "DeiT III ViT-H/14 (width 1280, depth 32, 16 heads; IN-1k 85.2 % at 224).")


#: the CPU-sized digits run (python -m inria_deit3.train_digits): 32x32 upsampled digits, patch 4.
#: Width 96 (not 192): one CPU epoch costs 11 s instead of 28 s, and 20 epochs fit the ~4-minute budget per run.
DIGITS_ARCH = dict(img_size=32, patch_size=4, embed_dim=96, depth=6, num_heads=3, num_classes=10, drop_path=0.05)
#: 3-Augment adapted to digits: no flip (digits are not mirror-symmetric), milder crops (reflect-pad 2 px and
#: shift, i.e. half an original pixel, instead of random-resized crops). No mixup/CutMix: in this 20-epoch budget
#: they kept the model at chance for 6 epochs and ended at 75.8 % held-out instead of 96.9 %. Batch 16: the same CPU
#: cost per epoch as 64, four times the updates on 1437 images.
DIGITS_AUGMENT = {"crop": "src", "padding": 2, "hflip": False}
DIGITS_TRAIN = dict(
    epochs=20, batch_size=16, optimizer="lamb", lr=4e-3, weight_decay=0.05, schedule="cosine", warmup_epochs=2.0,
    warmup_lr=1e-6, objective="bce", augmentation=["three_augment"],
    augmentation_args={"three_augment": DIGITS_AUGMENT},
)


class DeiT3Digits(DeiT3Backbone):
    """DeiT III at digit scale (32x32 input, patch 4, width 96, depth 6); ``checkpoint: default`` = shipped weights."""

    Config = _sized_config("DeiT3DigitsConfig", **DIGITS_ARCH, train=DIGITS_TRAIN)
    name = "deit3_digits"
    shipped_weights = "digits"

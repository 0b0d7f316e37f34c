"""Self-supervised ResNet Backbones: the latent spaces this plugin marks in (usable by any plugin by name).

``ssl_resnet_cpu``: the narrow ResNet trained here with SimCLR on two CPU
cores (``python -m inria_ssl_watermarking.train_default``); ``checkpoint:
default`` loads the shipped weights. ``dino_resnet50``: torchvision's
ResNet-50 in the layout of DINO's released checkpoints, the paper's
``dino_r50_plus.pth`` included, loaded from a path (nothing is downloaded).

Both implement the core's differentiable :meth:`Backbone.features`, which
pixel-optimising methods need; ``embed`` is the same without gradients.
Images keep their aspect: the short side is resized to ``img_size`` (the
nets end in global pooling, so any size works).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from inria.config import doc
from inria.errors import InriaError
from inria.interfaces.backbone import Backbone
from inria.train.config import TrainConfig, train_config_field

from .resnet import ARCHS

MODELS_DIR = Path(__file__).parent / "models"
ACCEPTED = ("a DINO/torchvision ResNet state dict (.pth: plain, or under 'state_dict' / 'model_state_dict' / "
            "'teacher', keys optionally prefixed 'module.' / 'backbone.'), a .safetensors file or a model directory")

#: the CPU recipe (train_default.py): SimCLR on 96-px crops, 64-px views, batch 64 images (128 views)
CPU_TRAIN = dict(steps=2000, batch_size=64, optimizer="adamw", lr=2e-3, weight_decay=1e-4, schedule="cosine",
                 warmup_steps=100, objective="simclr", objective_args={"temperature": 0.2, "views": {"size": 64}},
                 log_every=25)


@dataclasses.dataclass
class SSLBackboneConfig:
    arch: str = doc("resnet_cpu", "network: resnet_cpu (512-d, trained here) or resnet50 (2048-d, DINO's layout)")
    img_size: int | None = doc(128, "short side the images are resized to before the net; null = native size")
    checkpoint: str | None = doc(None, f"weights: 'default' (the shipped ssl_resnet_cpu), {ACCEPTED}; null = random init")
    batch_size: int = doc(32, "images per forward pass in embed")
    crop: int = doc(96, "side of the random crops fit() trains on (views are cut from them)")
    train: TrainConfig = train_config_field(**CPU_TRAIN)

    def validate(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch {self.arch!r} is not one of {sorted(ARCHS)}")
        if self.img_size is not None and self.img_size < 16:
            raise ValueError(f"img_size {self.img_size} must be >= 16 or null")
        if self.batch_size < 1 or self.crop < 16:
            raise ValueError("batch_size must be >= 1 and crop >= 16")


def dino_state_dict(state: dict, where: str) -> dict[str, torch.Tensor]:
    """The ResNet trunk's weights from a DINO-style state dict: the official loader's unwrapping and prefixes.

    ``fc.*`` (a classifier) and ``head.*`` (DINO's projection head) are dropped:
    the marking network ends at the pooled features.
    """
    for key in ("state_dict", "model_state_dict", "teacher"):
        if isinstance(state.get(key), dict):
            state = state[key]
    out = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        k = k.replace("module.", "").replace("backbone.", "")
        if k.startswith(("fc.", "head.")):
            continue
        out[k] = v
    if not out:
        raise InriaError("no tensors in the checkpoint", where=where, hint=f"expected {ACCEPTED}")
    return out


class SSLBackbone(Backbone):
    """A ResNet feature extractor trained without labels (SimCLR here, DINO for the paper's checkpoint)."""

    Config: ClassVar[type] = SSLBackboneConfig
    #: folder under models/ that ``checkpoint: default`` loads; None = this constructor ships none
    shipped: ClassVar[str | None] = None

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        self._module = ARCHS[self.config.arch]()
        self.device = "cpu"
        if self.config.checkpoint is not None:
            self.load_checkpoint(self.config.checkpoint)
        self._module.eval()

    @property
    def module(self) -> torch.nn.Module:
        return self._module

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return self._module.dim

    # -- weights ------------------------------------------------------------
    def resolve_checkpoint(self, name: str) -> Path:
        if name != "default":
            return Path(name).expanduser()
        if self.shipped is None:
            raise InriaError(f"'{self.name or type(self).__name__}' ships no weights", where="checkpoint",
                             hint=f"pass {ACCEPTED}, or use ssl_resnet_cpu with checkpoint: default")
        path = MODELS_DIR / self.shipped
        if not (path / "weights.safetensors").is_file():
            raise InriaError("shipped weights missing from the installed package", where=str(path),
                             hint="reinstall inria-plugin-ssl-watermarking or run "
                                  "python -m inria_ssl_watermarking.train_default")
        return path

    def load_checkpoint(self, source: str | Path) -> None:
        from inria.modeldir import read_state_dict

        path = self.resolve_checkpoint(str(source))
        state = dino_state_dict(read_state_dict(path, hint=ACCEPTED, unwrap=("state_dict", "model_state_dict",
                                                                              "teacher", "model")), str(path))
        trunk = self._module.trunk
        own = trunk.state_dict()
        missing = [k for k in own if k not in state]
        shapes = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
        if missing or shapes:
            bad = missing[0] if missing else f"{shapes[0]} {tuple(state[shapes[0]].shape)} vs {tuple(own[shapes[0]].shape)}"
            raise InriaError(f"not a {self.config.arch} checkpoint: {len(missing)} missing and {len(shapes)} "
                             f"mis-shaped tensors (first: {bad})", where=str(path),
                             hint=f"arch {self.config.arch} expects {ACCEPTED}")
        trunk.load_state_dict({k: state[k] for k in own})

    def to(self, device: str) -> "SSLBackbone":
        self._module.to(device)
        self.device = str(device)
        return self

    def save(self, path: str | Path) -> Path:
        from inria.modeldir import save_weights

        path = super().save(path)
        save_weights(path, self._module.trunk.state_dict(), metadata={"format": f"torchvision-{self.config.arch}"})
        return path

    # -- inputs ---------------------------------------------------------------
    def _resized(self, x: torch.Tensor) -> torch.Tensor:
        side = self.config.img_size
        h, w = x.shape[-2:]
        if side is None or min(h, w) == side:
            return x
        size = (max(1, round(h * side / min(h, w))), max(1, round(w * side / min(h, w))))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable features (N, D) of a float batch (N, 3, H, W) in [0, 1] (gradients flow to the pixels)."""
        if not (isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[1] == 3):
            raise InriaError(f"expected a float batch (N, 3, H, W), got {tuple(getattr(images, 'shape', ()))}",
                             where="features", hint="images are float tensors (N, 3, H, W) in [0, 1]")
        return self._module(self._resized(images.to(self.device).float()))

    @torch.no_grad()
    def embed(self, images) -> np.ndarray:
        """Pooled features (N, D) float32; a list of images of different sizes is accepted."""
        from inria.ops.image import as_list

        self._module.eval()
        items = as_list(images) if not isinstance(images, np.ndarray) else list(torch.from_numpy(images))
        if not items:
            raise InriaError("no images", where="embed")
        out = []
        for i, im in enumerate(items):
            im = torch.as_tensor(im)
            if im.dim() != 3 or im.shape[0] not in (1, 3) or min(im.shape[-2:]) < 1:
                raise InriaError(f"image {i} has shape {tuple(im.shape)}; expected (3, H, W)", where="embed images")
            im = im.float() / 255 if im.dtype == torch.uint8 else im.float()
            out.append(im.expand(3, -1, -1))
        feats = []
        same = all(t.shape == out[0].shape for t in out)
        groups = [torch.stack(out[i:i + self.config.batch_size]) for i in range(0, len(out), self.config.batch_size)] \
            if same else [t.unsqueeze(0) for t in out]
        for g in groups:
            feats.append(self.features(g).float().cpu())
        return torch.cat(feats).numpy().astype(np.float32)

    def classify(self, images) -> torch.Tensor:
        raise InriaError(f"'{self.name}' is a self-supervised feature extractor without a classifier",
                         where="classify", hint="use embed (features) or evaluate with knn_k; fine-tune another "
                                                "Backbone for classes")

    def evaluate_step(self, ctx, images, labels, model=None, knn_k=10):
        """k-NN accuracy on the features (there is no classifier for top-1)."""
        from inria.eval.metrics import knn_accuracy

        self.to(ctx.device)
        return {"metrics": {f"knn{knn_k}": knn_accuracy(self.embed(images), np.asarray(labels), k=knn_k or 10)}}

    evaluate_step.__inria_verb__ = Backbone.evaluate_step.__inria_verb__

    # -- training -------------------------------------------------------------
    def fit(self, images, labels=None, ctx=None, callbacks: list | None = None) -> dict[str, float]:
        """SimCLR (``config.train``) on random ``crop``-pixel crops of the images; labels are not used."""
        from inria.data.offline import CropDataset
        from inria.ops.image import as_list

        train = self.config.train
        data = CropDataset([im.float() for im in as_list(images)], self.config.crop,
                           length=max(train.batch_size, len(as_list(images))) * 8, seed=train.seed)
        return self.fit_dataset(data, ctx=ctx, callbacks=callbacks)

    def fit_dataset(self, data, ctx=None, callbacks: list | None = None, config: TrainConfig | None = None):
        """SimCLR through the core engine on a map-style dataset of image crops; the projector is dropped after."""
        from inria.train import Trainer

        from .objective import ContrastiveModel

        model = ContrastiveModel(self._module, self.dim)
        trainer = Trainer(model, data, config or self.config.train, ctx=ctx, callbacks=callbacks,
                          name=None if ctx is not None else self.name or "ssl_backbone")
        metrics = trainer.fit()
        self.device = str(trainer.device)
        self._module.eval()
        return {k: float(v) for k, v in metrics.items()}


class SSLResNetCPU(SSLBackbone):
    """The narrow ResNet (512-d) trained here with SimCLR on CPU; checkpoint: default = the shipped weights."""

    name = "ssl_resnet_cpu"
    shipped = "ssl_resnet_cpu"
    Config = dataclasses.make_dataclass(
        "SSLResNetCPUConfig",
        [("checkpoint", str | None, dataclasses.field(default="default", metadata=dataclasses.fields(
            SSLBackboneConfig)[2].metadata))],
        bases=(SSLBackboneConfig,), namespace={"__module__": __name__})


class DinoResNet50(SSLBackbone):
    """torchvision ResNet-50 (2048-d) for DINO checkpoints such as the paper's dino_r50_plus.pth (from a path)."""

    name = "dino_resnet50"
    Config = dataclasses.make_dataclass(
        "DinoResNet50Config",
        [("arch", str, dataclasses.field(default="resnet50", metadata=dataclasses.fields(SSLBackboneConfig)[0].metadata)),
         ("img_size", int | None, dataclasses.field(default=224, metadata=dataclasses.fields(SSLBackboneConfig)[1].metadata))],
        bases=(SSLBackboneConfig,), namespace={"__module__": __name__})

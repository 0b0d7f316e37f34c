"""The ``pq_mim`` Codec: image -> PQ indices -> MIM-coded bytes in the core container, and back.

Bitstream: :mod:`inria.bitstream` (magic, format version, image size, model
id = hash of the weights, payload length) around this codec's 8-byte header
(:mod:`.header`: the coding settings and a checksum of the tokens) and the
range-coded tokens (:mod:`.entropy_model`).

Inputs: one (3, H, W) float tensor in [0, 1] (a (1, 3, H, W) batch of one is
accepted). A (1, H, W) grayscale image is expanded to 3 equal channels (the
decoded image is then RGB with equal channels). A (4, H, W) RGBA image is
refused: silently dropping or compositing the alpha would lose data the
caller may care about; ``inria.data.images`` composites it on white when
loading files. uint8 tensors are read as value / 255.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from inria.bitstream import model_id, pack, unpack
from inria.errors import InriaError
from inria.interfaces import Codec

from .autoencoder import PQAutoencoder, pq_autoencoder
from .config import ARCHITECTURE_FIELDS, PQMIMConfig
from .entropy_model import MIMEntropyModel
from .header import CodingSettings, from_meta, to_meta
from .mim import MIMTransformer, mim_transformer

DEFAULT_DIR = Path(__file__).parent / "default"


class PQMIM(Codec):
    """Product-quantized VQ-VAE + masked-image-modelling entropy model (El-Nouby et al., TMLR 2023)."""

    Config = PQMIMConfig

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        directory = self._checkpoint_dir(self.config.checkpoint) if self.config.checkpoint else None
        if directory is not None:
            self.config = _adopt_architecture(self.config, directory)
        c = self.config
        self.autoencoder: PQAutoencoder = pq_autoencoder(c).eval()
        self.mim: MIMTransformer = mim_transformer(c).eval()
        if directory is not None:
            self._load_weights(directory)
        self._coder: MIMEntropyModel | None = None
        self._id: bytes | None = None

    # -- weights ----------------------------------------------------------------------
    @staticmethod
    def _checkpoint_dir(checkpoint: str) -> Path:
        if checkpoint == "default":
            if not (DEFAULT_DIR / "weights.safetensors").is_file():
                raise InriaError("the default pq_mim model is not built in this installation",
                                 where="checkpoint", hint="run: python -m inria_pq_mim.train_default")
            return DEFAULT_DIR
        path = Path(checkpoint).expanduser()
        if not path.is_dir():
            raise InriaError(f"'{checkpoint}' is not a model directory", where="checkpoint",
                             hint="accepted: 'default', '' (random weights) or a directory written by save()")
        return path

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {f"autoencoder.{k}": v for k, v in self.autoencoder.state_dict().items()}
        state.update({f"mim.{k}": v for k, v in self.mim.state_dict().items()})
        return state

    def _load_weights(self, directory: Path) -> None:
        from inria.modeldir import load_weights

        state = load_weights(directory)
        for prefix, module in (("autoencoder.", self.autoencoder), ("mim.", self.mim)):
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            own = module.state_dict()
            missing = sorted(set(own) - set(part))
            wrong = [k for k in own if k in part and part[k].shape != own[k].shape]
            if missing or wrong:
                raise InriaError(f"weights do not fit the architecture (missing {missing[:3]}, wrong shape "
                                 f"{wrong[:3]})", where=str(directory / "weights.safetensors"))
            module.load_state_dict(part, strict=False)
        self.weights_changed()

    def weights_changed(self) -> None:
        """Forget the cached model id and float64 coder after the weights moved (fit, load)."""
        self._coder = None
        self._id = None

    @property
    def model_id(self) -> bytes:
        if self._id is None:
            self._id = model_id(self.state_dict())
        return self._id

    @property
    def coder(self) -> MIMEntropyModel:
        """The entropy model on a float64 copy of the transformer (shared by with_overrides views)."""
        if self._coder is None:
            self._coder = MIMEntropyModel(self.mim)
        return self._coder

    def save(self, path: str | Path, card_extra: dict | None = None) -> Path:
        """Model directory: card.yaml (config with checkpoint='', model id, ``card_extra``) + weights.safetensors."""
        from inria.modeldir import save_weights, write_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_weights(path, self.state_dict(), metadata={"model_id": self.model_id.hex()})
        config = self.config
        self.config = dataclasses.replace(config, checkpoint="")  # the card describes the weights beside it
        try:
            write_card(path, self, model_id=self.model_id.hex(), **(card_extra or {}))
        finally:
            self.config = config
        return path

    @classmethod
    def load(cls, path: str | Path) -> "PQMIM":
        from inria.config import build
        from inria.modeldir import read_card

        card = read_card(path, expect=cls)
        values = dict(card["config"], checkpoint=str(path))
        return cls(build(cls.Config, values, where=f"{path}/card.yaml:config"))

    def with_overrides(self, **changes: Any) -> "PQMIM":
        """A view of this codec with other coding settings, sharing the weights (rate sweeps, hybrid mode)."""
        fixed = sorted(set(changes) & set(ARCHITECTURE_FIELDS + ("checkpoint",)))
        if fixed:
            raise InriaError(f"cannot override {', '.join(fixed)} on a built pq_mim model (they define the weights)",
                             hint="sweep coding fields such as active_subquantizers, coding_groups, send_groups")
        from inria.config import build

        config = build(PQMIMConfig, {**dataclasses.asdict(self.config), **changes}, where="with_overrides")
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.config = config
        return other

    # -- the codec contract ------------------------------------------------------------------
    def compress(self, image) -> bytes:
        x = as_rgb(image)
        h, w = x.shape[-2:]
        if h > 65535 or w > 65535:
            raise InriaError(f"image is {h}x{w}; the container holds at most 65535 px per side")
        from inria.ops.image import pad_to_multiple

        padded, _ = pad_to_multiple(x.unsqueeze(0), self.autoencoder.downsampling)
        indices = self.autoencoder.encode(padded)[0]
        settings = CodingSettings.from_config(self.config)
        payload, check = self.coder.compress(indices, settings)
        return pack(payload, h, w, self.model_id, to_meta(settings, check))

    def decompress(self, data: bytes):
        box = unpack(data, expect_model=self.model_id, codec="pq_mim model")
        settings, check = from_meta(box.meta, self.config.num_subquantizers)
        ds = self.autoencoder.downsampling
        indices, decoded_check, soft = self.coder.decompress(box.payload, -(-box.height // ds),
                                                             -(-box.width // ds), settings)
        if decoded_check != check:
            raise InriaError("corrupt bitstream (checksum of the decoded tokens does not match the header)",
                             hint="the file was altered, or was decoded by a different build of the model")
        img = self.autoencoder.decode(indices.unsqueeze(0), settings.active, soft=soft)[0]
        return img[:, :box.height, :box.width]

    # -- training ------------------------------------------------------------------------
    def fit(self, images, ctx=None) -> dict[str, float]:
        """Stage 1 (autoencoder, MSE [+ perceptual]) then stage 2 (MIM on frozen indices), via inria.train."""
        from .training import fit_codec

        return fit_codec(self, images, ctx)


def _adopt_architecture(config: PQMIMConfig, directory: Path) -> PQMIMConfig:
    """Architecture fields left at their defaults follow the checkpoint's card; a field set otherwise must match it."""
    from inria.modeldir import adopt_architecture, read_card

    return adopt_architecture(config, directory, ARCHITECTURE_FIELDS, card=read_card(directory, expect=PQMIM))


def as_rgb(image) -> torch.Tensor:
    """Validate one image and return it as a float32 (3, H, W) tensor in [0, 1] (see the module doc)."""
    if not isinstance(image, torch.Tensor):
        raise InriaError(f"pq_mim compresses a torch tensor (3, H, W) in [0, 1], not {type(image).__name__}")
    x = image.detach().cpu()
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() != 3:
        raise InriaError(f"image of shape {tuple(image.shape)}; pq_mim compresses one (3, H, W) image")
    ch, h, w = x.shape
    if h < 1 or w < 1:
        raise InriaError(f"empty image ({h}x{w})")
    if ch == 4:
        raise InriaError("image has 4 channels (RGBA?); pq_mim codes RGB (3, H, W)",
                         hint="composite or drop the alpha first (inria.data.images composites on white)")
    if ch not in (1, 3):
        raise InriaError(f"image has {ch} channels; pq_mim accepts 3 (RGB) or 1 (grayscale, expanded to RGB)")
    if x.dtype == torch.uint8:
        x = x.float() / 255
    elif not x.is_floating_point():
        raise InriaError(f"image dtype {x.dtype}; pq_mim accepts float tensors in [0, 1] or uint8")
    x = x.float()
    if not torch.isfinite(x).all():
        raise InriaError("image contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.5 or hi > 1.5:
        raise InriaError(f"image values span [{lo:.3g}, {hi:.3g}]; pq_mim expects [0, 1]",
                         hint="divide 0..255 images by 255")
    x = x.clamp(0, 1)
    return x.expand(3, h, w).contiguous() if ch == 1 else x

"""The ``ms_illm`` and ``noganms`` Codecs: image -> HiFiC latents -> CompressAI rANS bytes in the core container.

Bitstream: :mod:`inria.bitstream` (magic, version, image size, model id =
hash of the weights and CDF tables, lengths) around the 9-byte header of
:mod:`.header` (hyper-string length, CRC-32) and the two rANS strings (the
hyper-latent under the factorized ``EntropyBottleneck``, the latent under the
``GaussianConditional`` with the predicted means and scales). bpp counts every
byte.

Coding runs on CPU. The hyper-synthesis (means and scales) runs in float64 on
both sides from the decoded hyper-latent, so the scale-table indexes the rANS
coder needs are the same in every process (a flip of one index would
desynchronise the coder); the decoder network runs in float32.

Inputs: one (3, H, W) float tensor in [0, 1] (a batch of one is accepted).
Images of any size >= 1x1 are padded (replicate) to multiples of 64, the
padding unit, and cropped back after decoding, so images smaller than the
unit code too (the padding costs bits). ``ms_illm`` and ``noganms`` share the
network and the bitstream; they differ in training (``noganms`` stops after
stage 1) and in their shipped weights, so a stream of one is refused by the
other by model id.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import torch

from inria.bitstream import model_id, pack, unpack
from inria.errors import InriaError
from inria.interfaces import Codec

from .config import ARCHITECTURE_FIELDS, SHIPPED, MSILLMConfig
from .header import split_payload, to_meta
from .hific import PAD_UNIT, HiFiCAutoencoder

WEIGHTS = Path(__file__).parent / "weights"


class MSILLM(Codec):
    """MS-ILLM (Muckley et al., ICML 2023): HiFiC mean-scale hyperprior + implicit local likelihood GAN training."""

    Config = MSILLMConfig
    #: the plugin's shipped models of this codec are weights/<kind>_<low|mid>
    kind = "ms_illm"
    adversarial = True

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        c = self.config
        state = None
        if c.official:
            from .official import read_official

            state, arch = read_official(c.official)
            self.config = c = dataclasses.replace(c, checkpoint="", **arch)
        elif c.checkpoint:
            directory = self._checkpoint_dir(c.checkpoint)
            self.config = c = _adopt_architecture(c, directory)
            from inria.modeldir import load_weights

            state = load_weights(directory)
            where = str(directory / "weights.safetensors")
        self.model = HiFiCAutoencoder(c.widths, c.latent_channels, c.hyper_channels, c.residual_blocks,
                                      centered=c.centered).eval()
        if state is not None:
            load_into(self.model, state, where=c.official or where)
        else:
            self.model.update()
        self.weights_changed()

    # -- weights -----------------------------------------------------------------------------------
    def _checkpoint_dir(self, checkpoint: str) -> Path:
        if checkpoint in SHIPPED:
            directory = WEIGHTS / f"{self.kind}_{checkpoint}"
            if not (directory / "weights.safetensors").is_file():
                raise InriaError(f"the shipped {self.kind} '{checkpoint}' model is not built in this installation",
                                 where="checkpoint", hint="run: python -m inria_ms_illm.train_default")
            return directory
        path = Path(checkpoint).expanduser()
        if not path.is_dir():
            raise InriaError(f"'{checkpoint}' is not a model directory", where="checkpoint",
                             hint=f"accepted: {', '.join(map(repr, SHIPPED))}, '' (random weights), a directory "
                                  "written by save(), or official= a NeuralCompression state dict")
        return path

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items()}

    def weights_changed(self) -> None:
        """Recompute the CDF tables' cache, the model id and the float64 hyper-synthesis after the weights moved."""
        self._id: bytes | None = None
        self._hyper64: tuple[torch.nn.Module, torch.nn.Module] | None = None

    @property
    def model_id(self) -> bytes:
        if self._id is None:
            self._id = model_id(self.state_dict())
        return self._id

    def _synthesis64(self):
        if self._hyper64 is None:
            m = self.model
            self._hyper64 = (copy.deepcopy(m.hyper_synthesis_mean).cpu().double().eval(),
                             copy.deepcopy(m.hyper_synthesis_scale).cpu().double().eval())
        return self._hyper64

    def save(self, path: str | Path, card_extra: dict | None = None) -> Path:
        """Model directory: card.yaml (config with checkpoint='', model id, ``card_extra``) + weights.safetensors."""
        from inria.modeldir import save_weights, write_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_weights(path, self.state_dict(), metadata={"model_id": self.model_id.hex()})
        config = self.config
        self.config = dataclasses.replace(config, checkpoint="", official="")
        try:
            write_card(path, self, model_id=self.model_id.hex(), **(card_extra or {}))
        finally:
            self.config = config
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any):
        from inria.config import build
        from inria.modeldir import read_card

        card = read_card(path, expect=cls)
        values = dict(card["config"], **overrides, checkpoint=str(path), official="")
        return cls(build(cls.Config, values, where=f"{path}/card.yaml:config"))

    # -- the codec contract ----------------------------------------------------------------------------
    def _check_size(self, h: int, w: int) -> None:
        if h * w > self.config.max_pixels:
            raise InriaError(f"image is {h}x{w} = {h * w} px; this {self.name or self.kind} codes at most "
                             f"max_pixels={self.config.max_pixels}", hint="raise max_pixels or tile the image")

    @torch.no_grad()
    def compress(self, image) -> bytes:
        from inria.ops.image import pad_to_multiple

        x = as_rgb(image, self.name or self.kind)
        h, w = x.shape[-2:]
        if h > 65535 or w > 65535:
            raise InriaError(f"image is {h}x{w}; the container holds at most 65535 px per side")
        self._check_size(h, w)
        m = self.model.cpu().eval()
        padded, _ = pad_to_multiple(x.unsqueeze(0), PAD_UNIT)
        y = m.analysis(padded)
        z = m.hyper_analysis(y)
        z_string = m.hyper_bottleneck.compress(z)[0]
        z_hat = m.hyper_bottleneck.decompress([z_string], z.shape[-2:])
        means, scales = (f(z_hat.double()) for f in self._synthesis64())
        indexes = m.latent_bottleneck.build_indexes(scales)
        y_string = m.latent_bottleneck.compress(y.double(), indexes, means=means)[0]
        payload = z_string + y_string
        return pack(payload, h, w, self.model_id, to_meta(h, w, self.model_id, len(z_string), payload))

    @torch.no_grad()
    def decompress(self, data: bytes):
        label = self.name or self.kind
        box = unpack(data, expect_model=self.model_id, codec=f"{label} model")
        self._check_size(box.height, box.width)
        z_string, y_string = split_payload(box, label)
        m = self.model.cpu().eval()
        lh, lw = -(-box.height // PAD_UNIT) * 4, -(-box.width // PAD_UNIT) * 4
        zh, zw = lh // 4, lw // 4
        z_hat = m.hyper_bottleneck.decompress([_bounded(z_string, m.hyper * zh * zw)], (zh, zw))
        means, scales = (f(z_hat.double()) for f in self._synthesis64())
        indexes = m.latent_bottleneck.build_indexes(scales)
        y_hat = m.latent_bottleneck.decompress([_bounded(y_string, m.latent * lh * lw)], indexes, means=means)
        img = m.synthesis(y_hat.float())[0, :, :box.height, :box.width]
        return img.clamp(0, 1)

    # -- training ------------------------------------------------------------------------------------
    def fit(self, images, ctx=None) -> dict[str, float]:
        """Stage 1 (No-GAN) then, for ms_illm, the tokenizer and stage 2 (GAN), each through inria.train."""
        from .training import fit_codec

        return fit_codec(self, images, ctx, adversarial=self.adversarial)


class NoGANMS(MSILLM):
    """The No-GAN baseline of MS-ILLM: the same network and bitstream, trained by stage 1 only."""

    kind = "noganms"
    adversarial = False


def _bounded(string: bytes, symbols: int) -> bytes:
    """Zero-pad a rANS string so that the decoder's unchecked reads stay inside it, whatever the bytes say.

    CompressAI's ``decode_with_indexes`` reads 8 bytes to start, at most one 32-bit word per symbol, and for
    escaped (bypass) values at most 16 words per word of the string; zeros end every bypass run.
    """
    return string + bytes(8 + 4 * symbols + 64 * len(string) + 64)


def load_into(model: HiFiCAutoencoder, state: dict[str, torch.Tensor], where: str) -> None:
    """Load a state dict (ours or NeuralCompression's: the same names), resizing the CDF-table buffers first.

    Missing or extra names, or tensors of another shape, are a one-line error naming the file: the checkpoint is
    of another architecture.
    """
    own = model.state_dict()
    tables = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
    constants = (".target", ".bound", ".scale_bound")  # set in __init__; older CompressAI releases did not save them
    missing = sorted(k for k in own if k not in state and not k.endswith(tables + constants))
    extra = sorted(k for k in state if k not in own)
    wrong = [k for k in own if k in state and not k.endswith(tables) and state[k].shape != own[k].shape]
    if missing or extra or wrong:
        detail = "; ".join(f"{label} {names[:3]}" for label, names in
                           (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)) if names)
        raise InriaError(f"checkpoint is of another architecture ({detail})", where=where,
                         hint="an ms_illm/noganms model directory or a NeuralCompression HiFiCAutoencoder state dict")
    buffers = dict(model.named_buffers())
    for name, value in state.items():
        if name.endswith(tables) and name in buffers:
            module_name, _, attr = name.rpartition(".")
            model.get_submodule(module_name).register_buffer(attr, torch.empty_like(value))
    model.load_state_dict({k: v for k, v in state.items()}, strict=False)
    if any(not state.get(f"{n}._quantized_cdf", torch.empty(0)).numel()
           for n in ("hyper_bottleneck", "latent_bottleneck")):
        model.update()  # a checkpoint saved before update(): build the tables from its parameters


def _adopt_architecture(config: MSILLMConfig, directory: Path) -> MSILLMConfig:
    """The card's architecture where the config left it default (:func:`inria.modeldir.adopt_architecture`)."""
    from inria.modeldir import adopt_architecture, read_card

    card = read_card(directory)
    if card.get("implementation") not in ("ms_illm", "noganms"):
        raise InriaError(f"holds a '{card.get('implementation')}' model, not an ms_illm/noganms one",
                         where=str(directory / "card.yaml"))
    return adopt_architecture(config, directory, ARCHITECTURE_FIELDS, card=card)


def as_rgb(image, label: str) -> torch.Tensor:
    """One (3, H, W) float32 image in [0, 1] (a (1, 3, H, W) batch of one accepted); one-line errors otherwise."""
    from inria.ops.watermark import check_images

    if isinstance(image, torch.Tensor) and image.dim() == 4:
        if image.shape[0] != 1:
            raise InriaError(f"{label} compresses one image, got a batch of {image.shape[0]}", where="image")
        image = image[0]
    if not isinstance(image, torch.Tensor):
        raise InriaError(f"{label} compresses a torch tensor (3, H, W) in [0, 1], not {type(image).__name__}",
                         where="image")
    x = check_images([image.detach().cpu()], where="image")[0].float()
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.5 or hi > 1.5:
        raise InriaError(f"image values span [{lo:.3g}, {hi:.3g}]; {label} expects [0, 1]", where="image",
                         hint="divide 0..255 images by 255")
    return x.clamp(0, 1)

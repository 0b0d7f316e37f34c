"""The two Watermarkers: ``stable_signature`` (key rooted in a latent decoder) and ``hidden`` (post hoc).

Both detect with the binomial test of :mod:`.detection` and evaluate with
the core's attack names. See the package docstring for the model files.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inria.config import build, doc
from inria.errors import InriaError
from inria.interfaces import Watermarker
from inria.interfaces.base import verb
from inria.interfaces.types import Detection
from inria.train import TrainConfig, train_config_field

from . import detection as det
from .extractor import MIN_SIDE, Extractor

MODELS_DIR = Path(__file__).parent / "models"


# -- shared helpers ------------------------------------------------------------------------

def _device(ctx) -> torch.device:
    return torch.device(getattr(ctx, "device", "cpu") or "cpu")


def _load_model_dir(cls, path):
    """A model directory written by ``save``: its card's config, with ``checkpoint`` pointing at the directory."""
    from inria.modeldir import read_card

    card = read_card(path, expect=cls)
    values = dict(card["config"])
    values["checkpoint"] = str(path)
    return cls(build(cls.Config, values, where=f"{path}/card.yaml:config"))


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda", "auto") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ValueError(f"device '{device}' is not accepted; accepted: cpu, cuda, cuda:N, auto")


def _configured_device(wm) -> torch.device:
    """The device a step's ctx set (evaluate), else the config's (``auto``: cuda when available)."""
    if getattr(wm, "_dev", None) is not None:
        return wm._dev
    from inria.context import resolve_device

    return torch.device(resolve_device(wm.config.device))


def _groups(images: list[torch.Tensor]) -> list[list[int]]:
    """Indices of images grouped by size, so each group runs as one batch."""
    by: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        by.setdefault(tuple(im.shape), []).append(i)
    return list(by.values())


def _as_list(images) -> list[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        return list(images.unbind(0)) if images.dim() == 4 else [images]
    return list(images)


def _like_input(outputs: list[torch.Tensor], images):
    if isinstance(images, torch.Tensor) and images.dim() == 4:
        return torch.stack(outputs)
    if isinstance(images, torch.Tensor):
        return outputs[0]
    return outputs


def _bits_of(extractor: Extractor, images: list[torch.Tensor], batch_size: int, device) -> tuple[np.ndarray, np.ndarray]:
    logits = torch.zeros(len(images), extractor.bits)
    extractor.to(device).eval()
    with torch.no_grad():
        for idx in _groups(images):
            for s in range(0, len(idx), batch_size):
                chunk = idx[s:s + batch_size]
                x = torch.stack([images[i] for i in chunk]).to(device).float()
                logits[chunk] = extractor(x).float().cpu()
    return (logits > 0).numpy(), logits.numpy()


def _resolve_checkpoint(value: str, kind: str) -> Path | None:
    if value in ("none", ""):
        return None
    if value == "default":
        return MODELS_DIR / kind
    p = Path(value).expanduser()
    if not p.exists():
        raise InriaError(f"checkpoint not found: {p}", where="checkpoint",
                         hint="'default', 'none', or a model directory written by fit/save")
    return p


@dataclasses.dataclass
class EvaluateParams:
    attacks: list[str] = doc(["none", "crop_0.5", "crop_0.1", "rotate_25", "rotate_90", "jpeg_80", "jpeg_50",
                              "brightness_1.5", "brightness_2", "contrast_1.5", "contrast_2", "saturation_1.5",
                              "saturation_2", "sharpness_1.5", "sharpness_2", "resize_0.5", "resize_0.1", "text",
                              "crop_0.5+brightness_1.5+jpeg_80"],
                             "attacks, in the core's names (default: inria.ops.attacks.PAPER_ATTACKS)")
    examples: int = doc(4, "images for the report: original, watermarked, amplified difference (x10)")
    message_seed: int = doc(0, "seed of the random messages (hidden)")


def _examples(originals: list[torch.Tensor], marked: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    out = []
    for x, y in list(zip(originals, marked))[:n]:
        diff = ((y - x).abs() * 10).clamp(0, 1)
        out += [x, y, diff]
    return out


def evaluate_attacks(watermarker, marked: list[torch.Tensor], keys: np.ndarray, attacks: list[str],
                     unmarked: list[torch.Tensor] | None = None, ctx=None) -> dict[str, Any]:
    """Bit accuracy, p-values and TPR at the target FPR under each attack (core names).

    ``keys``: (N, k) the key/message each marked image carries. With
    ``unmarked`` images, the empirical false-positive rate under the same
    attack is reported too. Keys of the result: ``attacks`` (one row per
    attack) and flat ``bit_accuracy/<attack>``, ``tpr/<attack>``,
    ``log10_p/<attack>`` (median) for charts.
    """
    from inria.ops.attacks import apply

    rows, flat = [], {}
    for name in attacks:
        attacked = _as_list(apply(name, marked))
        bits, logits = watermarker.extract(attacked)
        d = det.binomial_test(bits, keys, fpr=watermarker.config.fpr)
        row = {"attack": name, "bit_accuracy": float(np.mean(d.bit_accuracy)),
               "tpr": float(np.mean(d.detected)), "median_log10_p": float(np.median(det.log10_pvalue(d.p_value))),
               "min_bit_accuracy": float(np.min(d.bit_accuracy))}
        if unmarked is not None:
            ub, _ = watermarker.extract(_as_list(apply(name, unmarked)))
            du = det.binomial_test(ub, keys, fpr=watermarker.config.fpr)
            row["fpr_empirical"] = float(np.mean(du.detected))
            row["bit_accuracy_unmarked"] = float(np.mean(du.bit_accuracy))
        rows.append(row)
        flat[f"bit_accuracy/{name}"] = row["bit_accuracy"]
        flat[f"tpr/{name}"] = row["tpr"]
        flat[f"log10_p/{name}"] = row["median_log10_p"]
        if ctx is not None:
            ctx.log_metrics(len(rows), {f"{name}/bit_accuracy": row["bit_accuracy"], f"{name}/tpr": row["tpr"]})
    return {"attacks": rows, **flat}


# -- stable_signature --------------------------------------------------------------------------

@dataclasses.dataclass
class StableSignatureConfig:
    checkpoint: str = doc("default", "'default' (the shipped small model), a model directory written by fit/save, "
                                     "or 'none' (build from extractor + vae + decoder)")
    extractor: str | None = doc(None, "a TorchScript extractor file, e.g. the paper's dec_48b_whit.torchscript.pt; "
                                      "TorchScript is code: name only files you trust")
    vae: str | None = doc(None, "a local diffusers AutoencoderKL folder (a Stable Diffusion 'vae' folder); nothing is "
                                "downloaded")
    decoder: str | None = doc(None, "watermarked decoder weights in LDM names: the paper's sd2_decoder.pth or a "
                                    "checkpoint_XXX.pth of finetune_ldm_decoder.py (needs vae and key)")
    key: str | None = doc(None, "the decoder's key as a 0/1 string (keys.txt); for fit, the key to root "
                                "(random from the seed when unset)")
    keys: list[str] = doc([], "identification: keys of N watermarked decoders; detect reports the matching one with "
                              "the FPR corrected for N")
    bits: int = doc(48, "key length; must match the extractor")
    fpr: float = doc(1e-6, "target false-positive rate of the binomial test (48 bits: >= 41 matching)")
    batch_size: int = doc(8, "images per forward pass in embed/detect")
    device: str = doc("cpu", "where embed/detect run when called directly: cpu, cuda, cuda:N or auto (a recipe "
                             "step uses the recipe's device)")
    image_size: int = doc(256, "fit: side of the training crops (the paper: 256)")
    train: TrainConfig = train_config_field(
        objective="stable_signature_decoder", optimizer="adamw", lr=5e-4, steps=100, warmup_steps=20,
        batch_size=4, weight_decay=0.0, schedule="cosine", log_every=10,
        help="decoder tuning through inria.train; objective_args: loss_i (watson-dft | mse | ssim | watson-vgg | "
             "lpips), lambda_i, lambda_w, temperature (10), loss_w (bce | mse), loss_weights, "
             "loss_backbone_weights (local paths), attacks (an attack-layer config; off as in the paper)")

    def validate(self) -> None:
        _check_device(self.device)
        if self.bits < 1:
            raise ValueError(f"bits must be >= 1, got {self.bits}")
        if not 0 < self.fpr < 1:
            raise ValueError(f"fpr must be in (0, 1), got {self.fpr}")
        if self.batch_size < 1 or self.image_size < MIN_SIDE:
            raise ValueError(f"batch_size must be >= 1 and image_size >= {MIN_SIDE}")
        if self.key is not None:
            det.parse_key(self.key, self.bits, where="key")
        for i, k in enumerate(self.keys):
            det.parse_key(k, self.bits, where=f"keys[{i}]")
        if self.decoder is not None and self.key is None:
            raise ValueError("decoder needs its key (the line of keys.txt that goes with it)")
        if self.decoder is not None and self.vae is None:
            raise ValueError("decoder (LDM weights) needs vae, the local diffusers AutoencoderKL folder to load it into")


class StableSignature(Watermarker):
    """Stable Signature: every image decoded by the watermarked decoder carries one fixed key.

    ``embed`` auto-encodes the images (latent encoder, then the watermarked
    decoder) and returns the key for each image; ``detect`` extracts bits and
    tests them against the key (or identifies among ``keys``).
    """

    Config = StableSignatureConfig
    name = "stable_signature"

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        self.bits = self.config.bits
        self._built = False
        self.extractor: Extractor | None = None
        self.autoencoder = None        # Autoencoder (original)
        self.watermarked = None        # Autoencoder (tuned decoder side)
        self.key: np.ndarray | None = None
        self._card_extra: dict = {}

    @classmethod
    def from_parts(cls, extractor: Extractor, autoencoder, /, watermarked=None, key=None, **config) -> "StableSignature":
        """Build from in-memory parts: an extractor, an autoencoder (module or :class:`Autoencoder`), and
        optionally an already watermarked copy and its key (else call :meth:`fit`)."""
        from .autoencoder import Autoencoder

        wm = cls(checkpoint="none", **config)
        wm.extractor = extractor.eval().requires_grad_(False)
        wm.autoencoder = autoencoder if isinstance(autoencoder, Autoencoder) else Autoencoder(autoencoder)
        wm.autoencoder.eval().requires_grad_(False)
        wm.autoencoder.check_latents()
        if watermarked is not None:
            wm.watermarked = watermarked if isinstance(watermarked, Autoencoder) else Autoencoder(watermarked)
            wm._check_pair()
        if key is not None:
            wm.key = det.parse_key(key, wm.bits)
        if extractor.bits != wm.bits:
            raise InriaError(f"the extractor outputs {extractor.bits} bits but bits={wm.bits}", where="bits")
        wm._built = True
        return wm

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        if self._built:
            return
        from . import modelfiles

        cfg = self.config
        path = _resolve_checkpoint(cfg.checkpoint, "stable_signature")
        parts = modelfiles.read_stable_signature(path, cfg) if path is not None else {}
        self.extractor = parts.get("extractor")
        self.autoencoder = parts.get("autoencoder")
        self.watermarked = parts.get("watermarked")
        self.key = parts.get("key")
        self._card_extra = parts.get("extra", {})
        if cfg.extractor is not None:
            from .extractor import load_torchscript

            self.extractor = load_torchscript(cfg.extractor, cfg.bits, where="extractor")
        if cfg.vae is not None:
            if (self._card_extra.get("autoencoder") or {}).get("kind") != "diffusers":
                self.watermarked = None  # a decoder tuned on another autoencoder does not carry over
                self.key = None
            self.autoencoder = self.autoencoder if parts.get("vae_from_config") else modelfiles.load_diffusers_vae(cfg.vae)
        if cfg.decoder is not None:
            from .official import load_into_vae

            tuned = self.autoencoder.tunable_copy()
            load_into_vae(tuned.module, cfg.decoder, where="decoder")
            self.watermarked = tuned.requires_grad_(False)
        if cfg.key is not None:
            self.key = det.parse_key(cfg.key, cfg.bits, where="key")
        if self.extractor is not None and self.extractor.bits != cfg.bits:
            raise InriaError(f"the extractor outputs {self.extractor.bits} bits but the config says bits={cfg.bits}",
                             where="bits")
        if self.autoencoder is not None:
            self.autoencoder.check_latents(where="vae")
            if self.watermarked is not None:
                self._check_pair()
        self._built = True

    def _check_pair(self) -> None:
        """The watermarked decoder must decode the latents of this autoencoder's encoder."""
        with torch.no_grad():
            z = self.autoencoder.encode(torch.full((1, 3, 64, 64), 0.5))
            try:
                self.watermarked.decode(z)
            except Exception as e:
                raise InriaError(f"the watermarked decoder cannot decode this VAE's latents of shape {tuple(z.shape)} "
                                 f"({type(e).__name__})", where="vae",
                                 hint="the VAE and the watermarked decoder come from different autoencoders") from None

    def _need(self, what: str) -> None:
        self._build()
        if what in ("extractor", "all") and self.extractor is None:
            raise InriaError("no extractor: use checkpoint 'default', a model directory, or extractor=<TorchScript file>",
                             where="extractor")
        if what in ("decoder", "all"):
            if self.autoencoder is None:
                raise InriaError("no autoencoder: use checkpoint 'default' or vae=<diffusers AutoencoderKL folder>",
                                 where="vae")
            if self.watermarked is None or self.key is None:
                raise InriaError("no watermarked decoder: run fit, or give decoder=<file> and key=<bits>", where="decoder")

    # -- maths ----------------------------------------------------------------------------
    def extract(self, images: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """Bits and logits of (3, H, W) images, no input checks (evaluation applies attacks that shrink images)."""
        self._need("extractor")
        return _bits_of(self.extractor, images, self.config.batch_size, self._device)

    @property
    def _device(self) -> torch.device:
        return _configured_device(self)

    def decode_pair(self, images) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(watermarked D'(E(x)), non-watermarked D(E(x))) for each image, same sizes as the inputs."""
        self._need("decoder")
        imgs = _as_list(det.check_images(images, MIN_SIDE))
        marked: list = [None] * len(imgs)
        plain: list = [None] * len(imgs)
        dev = self._device
        self.autoencoder.to(dev).eval()
        self.watermarked.to(dev).eval()
        with torch.no_grad():
            for idx in _groups(imgs):
                for s in range(0, len(idx), self.config.batch_size):
                    chunk = idx[s:s + self.config.batch_size]
                    x = torch.stack([imgs[i] for i in chunk]).to(dev).float()
                    h, w = x.shape[-2:]
                    xp, _ = self.autoencoder.pad(x)
                    z = self.autoencoder.encode(xp)
                    yw = self.watermarked.decode(z)[..., :h, :w].clamp(0, 1).cpu()
                    y0 = self.autoencoder.decode(z)[..., :h, :w].clamp(0, 1).cpu()
                    for j, i in enumerate(chunk):
                        marked[i], plain[i] = yw[j], y0[j]
        return marked, plain

    def embed(self, images, messages=None):
        """Auto-encode through the watermarked decoder; ``messages`` is ignored (the key is in the weights)."""
        marked, _ = self.decode_pair(images)
        n = len(marked)
        return _like_input(marked, images), np.broadcast_to(self.key, (n, self.bits)).copy()

    def detect(self, images, reference=None) -> Detection:
        """Test each image against the key (or identify among ``keys``); bit accuracy against ``reference``."""
        self._need("extractor")
        imgs = _as_list(det.check_images(images, MIN_SIDE))
        bits, logits = self.extract(imgs)
        ref = det.parse_messages(reference, len(imgs), self.bits) if reference is not None else None
        if self.config.keys:
            table = np.stack([det.parse_key(k, self.bits, f"keys[{i}]") for i, k in enumerate(self.config.keys)])
            return det.binomial_test(bits, table, fpr=self.config.fpr, identify=True, reference=ref, logits=logits)
        if self.key is None:
            raise InriaError("no key to test against: give key=<bits> (or keys=[...] to identify)", where="key")
        return det.binomial_test(bits, self.key, fpr=self.config.fpr, reference=ref, logits=logits)

    # -- training ---------------------------------------------------------------------------
    def fit(self, images=None, ctx=None) -> dict[str, float]:
        """Tune a copy of the decoder so every decoded image carries the key (encoder and extractor frozen)."""
        from inria.train import Trainer

        from .data import CropDataset, TrainImages
        from .objectives import DecoderTuning

        self._build()
        if self.extractor is None or self.autoencoder is None:
            self._need("extractor")
            self._need("decoder")
        cfg = self.config
        seed = int(getattr(ctx, "seed", 0)) + cfg.train.seed
        key = self.key if cfg.key is not None else None
        if key is None:
            key = np.random.default_rng(seed).integers(0, 2, cfg.bits).astype(bool)
        length = max(cfg.train.steps, 1) * cfg.train.batch_size * cfg.train.accum
        if images is None or (not isinstance(images, torch.Tensor) and len(images) == 0):
            data = TrainImages(cfg.image_size, length, seed=seed)
        else:
            data = CropDataset(_as_list(det.check_images(images, MIN_SIDE)), cfg.image_size, length, seed=seed)
        tuned = self.autoencoder.tunable_copy()
        model = DecoderTuning(self.autoencoder, tuned, self.extractor, torch.from_numpy(key))
        metrics = Trainer(model, data, cfg.train, ctx=ctx, name="stable_signature").fit()
        model.cpu()
        self.watermarked = tuned.requires_grad_(False).eval()
        self.key = key
        self.extractor.requires_grad_(False)
        return {k: float(v) for k, v in metrics.items()} | {"key": det.key_string(key)}

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path) -> Path:
        from . import modelfiles

        self._need("decoder")
        return modelfiles.write_stable_signature(Path(path), self)

    @classmethod
    def load(cls, path) -> "StableSignature":
        return _load_model_dir(cls, path)

    # -- pipeline -------------------------------------------------------------------------------
    def install(self, pipe, check: bool = True, images=None):
        """Put the watermarked decoder into a diffusers pipeline's VAE (``pipe.vae``), then check it took.

        The check auto-encodes ``images`` (default: held-out photo crops)
        through ``pipe.vae`` and raises an InriaError if the key does not
        come out (the 50 % bit accuracy of a forgotten swap).
        """
        from .pipeline import install

        self._need("decoder")
        return install(pipe, self, check=check, images=images)

    # -- verbs ----------------------------------------------------------------------------------------
    @verb(inputs={"images": "images", "model": "model?"}, outputs={"metrics": "metrics", "images": "images"},
          params=EvaluateParams)
    def evaluate_step(self, ctx, images, model=None, attacks=None, examples=4, message_seed=0):
        """Robustness (bit accuracy, p-values, TPR at the FPR) under attacks, and quality vs x and vs D(z)."""
        from inria.eval.metrics import image_quality

        self._dev = _device(ctx)
        attacks = list(attacks) if attacks is not None else EvaluateParams().attacks
        originals = _as_list(det.check_images(images, MIN_SIDE))
        marked, plain = self.decode_pair(originals)
        keys = np.broadcast_to(self.key, (len(marked), self.bits))
        metrics: dict[str, Any] = {}
        metrics.update(image_quality(originals, marked))
        metrics.update({f"{k}_vs_decode": v for k, v in image_quality(plain, marked).items()})
        metrics["psnr_decode_vs_original"] = image_quality(originals, plain)["psnr"]
        metrics.update(evaluate_attacks(self, marked, keys, attacks, unmarked=plain, ctx=ctx))
        metrics["key"] = det.key_string(self.key)
        metrics["threshold"] = det.threshold(self.bits, self.config.fpr)
        return {"metrics": metrics, "images": _examples(originals, marked, examples)}


# -- hidden ------------------------------------------------------------------------------------------

@dataclasses.dataclass
class HiddenConfig:
    checkpoint: str = doc("default", "'default' (the shipped small model), a model directory written by fit/save, a "
                                     "checkpoint of the paper's hidden/main.py (.pth, weights-only load), or 'none'")
    arch: str = doc("paper", "architecture for fit from scratch: 'paper' (64 channels), 'small' (same depths, narrower) "
                           "or 'cpu' (3-block extractor, the shipped default's)")
    bits: int = doc(48, "message length")
    scaling_w: float = doc(0.3, "watermark strength at embed (ImageNet-normalised units; the paper trains with 0.3)")
    scale_channels: bool = doc(False, "weight the residual towards blue (the code's option; off for the paper)")
    fpr: float = doc(1e-6, "target false-positive rate of the binomial test")
    keys: list[str] = doc([], "identification: detect reports which of these messages each image carries")
    batch_size: int = doc(8, "images per forward pass in embed/detect")
    device: str = doc("cpu", "where embed/detect run when called directly: cpu, cuda, cuda:N or auto (a recipe "
                             "step uses the recipe's device)")
    image_size: int = doc(256, "fit: side of the training crops (the paper: 256)")
    train: TrainConfig = train_config_field(
        objective="hidden_message", optimizer="lamb", lr=5e-3, epochs=300, warmup_epochs=5, batch_size=16,
        weight_decay=0.0, schedule="cosine", min_lr=1e-6, log_every=50,
        help="HiDDeN training through inria.train (the paper: LAMB, 300 epochs, crop/resize/JPEG attacks); "
             "objective_args: margin, lambda_i, loss_i, attacks (crop, resize, jpeg, blur, rotate, jitter, flip)")

    def validate(self) -> None:
        from .hidden import ARCHS

        _check_device(self.device)
        if self.arch not in ARCHS:
            raise ValueError(f"arch '{self.arch}' is not one of {sorted(ARCHS)}")
        if self.bits < 1 or not 0 < self.fpr < 1 or self.scaling_w < 0:
            raise ValueError("bits must be >= 1, fpr in (0, 1) and scaling_w >= 0")
        for i, k in enumerate(self.keys):
            det.parse_key(k, self.bits, where=f"keys[{i}]")


class Hidden(Watermarker):
    """HiDDeN applied post hoc: the encoder adds a message-dependent residual to any image."""

    Config = HiddenConfig
    name = "hidden"

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        self.bits = self.config.bits
        self._built = False
        self.embedder = None
        self.decoder = None
        self.arch = None

    def _build(self) -> None:
        if self._built:
            return
        from . import modelfiles

        path = _resolve_checkpoint(self.config.checkpoint, "hidden")
        if path is not None:
            self.arch, self.embedder, self.decoder = modelfiles.read_hidden(path, self.config)
            if self.arch.bits != self.config.bits:
                raise InriaError(f"the checkpoint holds a {self.arch.bits}-bit model but the config says "
                                 f"bits={self.config.bits}", where="bits")
        self._built = True

    def _need(self) -> None:
        self._build()
        if self.embedder is None or self.decoder is None:
            raise InriaError("no HiDDeN model: use checkpoint 'default', a model directory or a hidden/main.py "
                             "checkpoint, or run fit", where="checkpoint")

    @property
    def _device(self) -> torch.device:
        return _configured_device(self)

    @property
    def extractor(self) -> Extractor:
        self._need()
        return Extractor(self.decoder, self.decoder.bits)

    def extract(self, images: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        return _bits_of(self.extractor, images, self.config.batch_size, self._device)

    def embed(self, images, messages=None):
        self._need()
        imgs = _as_list(det.check_images(images, MIN_SIDE))
        msgs = self.random_messages(len(imgs)) if messages is None else det.parse_messages(messages, len(imgs), self.bits)
        out: list = [None] * len(imgs)
        dev = self._device
        self.embedder.to(dev).eval()
        with torch.no_grad():
            for idx in _groups(imgs):
                for s in range(0, len(idx), self.config.batch_size):
                    chunk = idx[s:s + self.config.batch_size]
                    x = torch.stack([imgs[i] for i in chunk]).to(dev).float()
                    m = torch.from_numpy(msgs[chunk]).to(dev)
                    y = self.embedder(x, m, scaling_w=self.config.scaling_w).cpu()
                    for j, i in enumerate(chunk):
                        out[i] = y[j]
        return _like_input(out, images), msgs

    def detect(self, images, reference=None) -> Detection:
        """Test each image against its reference message (or identify among ``keys``).

        Without a reference and without ``keys`` there is nothing to test:
        p-values are 1 and nothing is detected (the decoded bits are returned).
        """
        self._need()
        imgs = _as_list(det.check_images(images, MIN_SIDE))
        bits, logits = self.extract(imgs)
        ref = det.parse_messages(reference, len(imgs), self.bits) if reference is not None else None
        if self.config.keys:
            table = np.stack([det.parse_key(k, self.bits, f"keys[{i}]") for i, k in enumerate(self.config.keys)])
            return det.binomial_test(bits, table, fpr=self.config.fpr, identify=True, reference=ref, logits=logits)
        if ref is None:
            n = len(imgs)
            return Detection(bits=bits, p_value=np.ones(n), detected=np.zeros(n, bool), score=np.zeros(n, np.int64),
                             bit_accuracy=np.full(n, np.nan), fpr=self.config.fpr, extra={"note": "no reference"})
        return det.binomial_test(bits, ref, fpr=self.config.fpr, logits=logits)

    def fit(self, images=None, ctx=None) -> dict[str, float]:
        """Train encoder and extractor from scratch (``arch``) through the attack layer."""
        from inria.train import Trainer

        from .data import CropDataset, TrainImages
        from .hidden import ARCHS, HiddenEmbedder, hidden_decoder, hidden_encoder, set_bn_momentum
        from .objectives import HiddenModel

        cfg = self.config
        arch = dataclasses.replace(ARCHS[cfg.arch], bits=cfg.bits)
        enc, dec = hidden_encoder(arch), hidden_decoder(arch)
        set_bn_momentum(enc, 0.01)
        set_bn_momentum(dec, 0.01)
        embedder = HiddenEmbedder(enc, cfg.scaling_w, cfg.scale_channels)
        seed = int(getattr(ctx, "seed", 0)) + cfg.train.seed
        steps = cfg.train.steps if cfg.train.steps > 0 else None
        length = (steps or 64) * cfg.train.batch_size * cfg.train.accum if steps else 10_000
        if images is None or (not isinstance(images, torch.Tensor) and len(images) == 0):
            data = TrainImages(cfg.image_size, length, seed=seed)
        else:
            data = CropDataset(_as_list(det.check_images(images, MIN_SIDE)), cfg.image_size, length, seed=seed)
        model = HiddenModel(embedder, dec)
        metrics = Trainer(model, data, cfg.train, ctx=ctx, name="hidden").fit()
        model.cpu().eval()
        self.arch, self.embedder, self.decoder = arch, embedder, dec
        self._built = True
        return {k: float(v) for k, v in metrics.items()}

    def save(self, path) -> Path:
        from . import modelfiles

        self._need()
        return modelfiles.write_hidden(Path(path), self)

    @classmethod
    def load(cls, path) -> "Hidden":
        return _load_model_dir(cls, path)

    @verb(inputs={"images": "images", "model": "model?"}, outputs={"metrics": "metrics", "images": "images"},
          params=EvaluateParams)
    def evaluate_step(self, ctx, images, model=None, attacks=None, examples=4, message_seed=0):
        """Robustness (bit accuracy, p-values, TPR at the FPR) under attacks, and quality vs the originals."""
        from inria.eval.metrics import image_quality

        self._dev = _device(ctx)
        attacks = list(attacks) if attacks is not None else EvaluateParams().attacks
        originals = _as_list(det.check_images(images, MIN_SIDE))
        msgs = self.random_messages(len(originals), seed=message_seed)
        marked, msgs = self.embed(originals, msgs)
        marked = _as_list(marked)
        metrics: dict[str, Any] = dict(image_quality(originals, marked))
        metrics.update(evaluate_attacks(self, marked, msgs, attacks, unmarked=originals, ctx=ctx))
        metrics["threshold"] = det.threshold(self.bits, self.config.fpr)
        return {"metrics": metrics, "images": _examples(originals, marked, examples)}

"""The watermarkers ``ssl_zero_bit`` and ``ssl_multi_bit`` (Fernandez et al., ICASSP 2022).

Features come from any installed Backbone chosen by name (``backbone:``,
through the core registry; it must implement the differentiable
``Backbone.features``), then the normalisation layer (PCA whitening).

Zero-bit: a secret unit carrier ``a``; an image is marked when its feature
``x`` lies in the double hypercone ``|cos(x, a)| > cos(theta)``, with theta
solved so that a random direction falls inside with probability ``fpr``.
The p-value of a cosine ``c`` in D dimensions is ``I_{1-c^2}((D-1)/2, 1/2)``
(``inria.eval.metrics.cosine_pvalue``). Marking maximises
``R = (1 + tan^2 theta)(x.a)^2 - |x|^2`` (R > 0 inside the cone).

Multi-bit: K orthonormal carriers (scipy's ``ortho_group``); bit k is the
sign of ``x.a_k``; marking minimises the hinge ``sum_k max(0, m - s_k x.a_k) / K``.
With a reference message the p-value is the binomial tail of the matching
bits. Text messages use 8 bits per character (``embed_text`` / ``decoded_text``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from inria.config import doc
from inria.errors import InriaError
from inria.interfaces.types import Detection
from inria.interfaces.watermarker import Watermarker

from .marking import MarkingConfig, optimise

MIN_SIDE = 16
NORMLAYER_FILE = "normlayer.safetensors"


def _check_fpr(fpr: float) -> None:
    if not (isinstance(fpr, (int, float)) and 0.0 < fpr < 1.0):
        raise ValueError(f"fpr {fpr!r} must be in (0, 1), e.g. 1e-6")


@dataclasses.dataclass
class SSLConfig:
    backbone: str = doc("ssl_resnet_cpu", "Backbone (by name, any installed plugin) whose features carry the mark")
    backbone_args: dict[str, Any] = doc({}, "configuration of that Backbone, e.g. {checkpoint: dino_r50_plus.pth}")
    normlayer: str | None = doc("default", "feature normalisation: 'default' (the one shipped with ssl_resnet_cpu), "
                                           "'fit' (PCA whitening fitted on the images given to fit), a path to an "
                                           "official out2048_*.pth or a .safetensors {weight, bias}, or null (none)")
    whitening_shrinkage: float = doc(0.0, "with normlayer: fit, an eigenvalue floor as a fraction of the largest "
                                          "(0 = the official whitening; see normlayer.fit_whitening)")
    carrier_seed: int = doc(0, "seed of the secret carrier(s): the key; detection needs the same seed")
    fpr: float = doc(1e-6, "target false-positive rate of the detector, in (0, 1)")
    lambda_w: float = doc(1.0, "weight of the watermark loss (official: 1 zero-bit, 5e4 multi-bit)")
    marking: MarkingConfig = dataclasses.field(default_factory=MarkingConfig,
                                               metadata={"doc": "the pixel optimisation (marking.MarkingConfig)"})
    device: str = doc("cpu", "cpu | cuda | cuda:N for calls outside a recipe")
    seed: int = doc(0, "seed of the marking augmentations")

    def validate(self) -> None:
        _check_fpr(self.fpr)
        if not self.backbone or not isinstance(self.backbone, str):
            raise ValueError("backbone must name an installed Backbone, e.g. ssl_resnet_cpu")
        if self.lambda_w <= 0:
            raise ValueError(f"lambda_w {self.lambda_w} must be > 0")


@dataclasses.dataclass
class MultiBitConfig(SSLConfig):
    bits: int = doc(30, "K, the number of carriers (bits per image); at most the feature dimension")
    margin: float = doc(5.0, "hinge margin m on the projections (official: 5)")
    lambda_w: float = doc(5e4, "weight of the watermark loss (official multi-bit: 5e4)")

    def validate(self) -> None:
        super().validate()
        if self.bits < 1:
            raise ValueError(f"bits {self.bits} must be >= 1")
        if self.margin <= 0:
            raise ValueError(f"margin {self.margin} must be > 0")


class _SSLWatermarker(Watermarker):
    """Shared machinery: the backbone by name, the normalisation layer, marking and feature extraction."""

    Config: ClassVar[type] = SSLConfig

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        self._backbone = None
        self._normlayer: torch.nn.Module | None = None
        self._fitted = False
        self.device = self.config.device
        self.last_log: list[dict] = []

    # -- the latent space -------------------------------------------------------
    @property
    def backbone(self):
        if self._backbone is None:
            import inria

            name = self.config.backbone
            try:
                bb = inria.create("backbone", name, **dict(self.config.backbone_args))
            except InriaError as e:
                raise InriaError(f"backbone '{name}' cannot be created: {e}", where="backbone") from None
            bb.to(self.device)
            self._backbone = bb
        return self._backbone

    @property
    def dim(self) -> int:
        """D, the dimension of the (normalised) features the carriers live in."""
        if self._normlayer is None:
            self._resolve_normlayer()
        if self._normlayer is not None and hasattr(self._normlayer, "out_features"):
            return int(self._normlayer.out_features)
        return self._raw_dim()

    def _raw_dim(self) -> int:
        dim = getattr(self.backbone, "dim", None)
        if dim is None:
            with torch.no_grad():
                dim = int(self.backbone.features(torch.full((1, 3, 64, 64), 0.5)).shape[-1])
        return int(dim)

    def _resolve_normlayer(self) -> None:
        from .normlayer import load_normlayer

        spec = self.config.normlayer
        if spec is None:
            self._normlayer = torch.nn.Identity()
            return
        if spec == "fit":
            if not self._fitted:
                raise InriaError("normlayer: fit needs fit(images) before embed/detect", where="normlayer",
                                 hint="call fit (a recipe's fit step) on unmarked images, or give a path")
            return
        if spec == "default":
            bb = self.backbone
            shipped = getattr(bb, "shipped", None)
            ckpt = getattr(bb.config, "checkpoint", None)
            if not shipped or ckpt != "default":
                raise InriaError(f"no shipped normlayer for backbone '{self.config.backbone}' (checkpoint {ckpt!r})",
                                 where="normlayer", hint="set normlayer: fit (whitening fitted on your images) or a "
                                                         "path to a normlayer of this backbone")
            path = bb.resolve_checkpoint("default") / NORMLAYER_FILE
        else:
            path = Path(spec).expanduser()
        self._normlayer = load_normlayer(path, self._raw_dim()).to(self.device)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised features (N, D) of a float batch, differentiable."""
        if self._normlayer is None:
            self._resolve_normlayer()
        return self._normlayer(self.backbone.features(x.to(self.device)))  # the core refuses a backbone without

    def fit(self, images, ctx=None) -> dict[str, float]:
        """With ``normlayer: fit``: PCA-whiten the backbone's features of these (unmarked) images."""
        from inria.ops.watermark import check_images

        from .normlayer import fit_whitening

        if self.config.normlayer != "fit":
            return {}
        imgs = check_images(images, MIN_SIDE)
        feats = torch.as_tensor(self.backbone.embed(imgs))
        if len(feats) < 2:
            raise InriaError(f"whitening needs at least 2 images, got {len(feats)}", where="fit images")
        w, b = fit_whitening(feats, shrinkage=self.config.whitening_shrinkage)
        layer = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(w * w.shape[1])  # scaled by D as the official loader does
            layer.bias.copy_(b * w.shape[1])
        self._normlayer = layer.requires_grad_(False).to(self.device)
        self._fitted = True
        return {"whitening_images": float(len(feats)), "dim": float(w.shape[0])}

    def save(self, path: str | Path) -> Path:
        from .normlayer import save_normlayer

        path = super().save(path)
        if self.config.normlayer == "fit" and self._fitted:
            d = self._normlayer.weight.shape[1]
            save_normlayer(Path(path) / NORMLAYER_FILE, self._normlayer.weight / d, self._normlayer.bias / d)
        return path

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "_SSLWatermarker":
        obj = super().load(path, **overrides)
        if obj.config.normlayer == "fit" and (Path(path) / NORMLAYER_FILE).is_file():
            obj.config.normlayer = str(Path(path) / NORMLAYER_FILE)
        return obj

    # -- marking ----------------------------------------------------------------
    def _images(self, images, where: str) -> list[torch.Tensor]:
        from inria.ops.watermark import check_images

        imgs = check_images(images, MIN_SIDE, where=where)
        return [im for im in (imgs if isinstance(imgs, list) else list(imgs.unbind(0)))]

    def _mark(self, images, loss_w) -> list[torch.Tensor]:
        imgs = self._images(images, "images")
        self.backbone.module.eval()
        for p in self.backbone.module.parameters():
            p.requires_grad_(False)
        self.last_log = []
        return optimise([im.to(self.device) for im in imgs], self.features, loss_w, self.config.lambda_w,
                        self.config.marking, seed=self.config.seed, log=self.last_log)

    @torch.no_grad()
    def _decode_features(self, images) -> torch.Tensor:
        imgs = self._images(images, "images")
        self.backbone.module.eval()
        out = []
        for im in imgs:  # one at a time: attacked images come in any size
            out.append(self.features(im.unsqueeze(0).float()).double().cpu())
        return torch.cat(out)

    @staticmethod
    def _like(images, marked: list[torch.Tensor]):
        if isinstance(images, torch.Tensor):
            return torch.stack(marked).to(images.device).reshape(images.shape)
        return marked


class SSLZeroBit(_SSLWatermarker):
    """Zero-bit SSL watermarking: the hypercone test around a secret carrier (no message)."""

    name = "ssl_zero_bit"
    bits = 0

    def carrier(self) -> torch.Tensor:
        """The secret unit carrier (1, D), from ``carrier_seed``."""
        g = torch.Generator().manual_seed(int(self.config.carrier_seed))
        a = torch.randn(1, self.dim, generator=g, dtype=torch.float64)
        return a / a.norm()

    def threshold(self) -> float:
        """cos(theta): the cosine a random direction exceeds with probability ``fpr``."""
        from inria.eval.metrics import cosine_threshold

        return cosine_threshold(self.dim, self.config.fpr)

    def random_messages(self, n: int, seed: int = 0) -> np.ndarray:
        return np.zeros((n, 0), dtype=bool)

    def embed(self, images, messages=None):
        """Mark the images (messages are ignored: zero-bit carries none); returns (marked, empty (N, 0) bits)."""
        a = self.carrier().float().to(self.device)
        cos = self.threshold()
        rho = 1.0 + (1.0 - cos ** 2) / cos ** 2  # 1 + tan^2 theta

        def loss_w(ft, rows):
            dot = ft @ a.t()
            return -(rho * dot.pow(2) - ft.pow(2).sum(-1, keepdim=True)).sum()

        marked = self._mark(images, loss_w)
        return self._like(images, marked), np.zeros((len(marked), 0), dtype=bool)

    def detect(self, images, reference=None) -> Detection:
        """|cos(x, a)| per image, its p-value ``I_{1-c^2}((D-1)/2, 1/2)`` and R; detected when p < fpr."""
        from inria.eval.metrics import cosine_pvalue

        ft = self._decode_features(images)
        a = self.carrier()
        dot = (ft @ a.t()).squeeze(-1)
        norm = ft.norm(dim=-1).clamp_min(1e-12)
        cos = (dot / norm).abs().numpy()
        cth = self.threshold()
        rho = 1.0 + (1.0 - cth ** 2) / cth ** 2
        r = (rho * dot.pow(2) - norm.pow(2)).numpy()
        p = cosine_pvalue(cos, self.dim)
        return Detection(bits=np.zeros((len(p), 0), bool), p_value=p, detected=p < self.config.fpr, score=cos,
                         bit_accuracy=None, fpr=self.config.fpr, extra={"R": r, "cos_threshold": cth})


class SSLMultiBit(_SSLWatermarker):
    """Multi-bit SSL watermarking: K orthonormal carriers, one bit per projection sign."""

    name = "ssl_multi_bit"
    Config: ClassVar[type] = MultiBitConfig

    def __init__(self, config: Any = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        self.bits = int(self.config.bits)

    def carriers(self) -> torch.Tensor:
        """K orthonormal carriers (K, D): the first K rows of a Haar-random orthogonal matrix (scipy)."""
        from scipy.stats import ortho_group

        d, k = self.dim, self.bits
        if k > d:
            raise InriaError(f"bits {k} exceed the feature dimension {d}", where="bits",
                             hint=f"at most {d} carriers are orthonormal in {d} dimensions")
        if k == 1:
            g = torch.Generator().manual_seed(int(self.config.carrier_seed))
            a = torch.randn(1, d, generator=g, dtype=torch.float64)
            return a / a.norm()
        return torch.from_numpy(ortho_group.rvs(d, random_state=int(self.config.carrier_seed))[:k])

    def _messages(self, messages, n: int) -> np.ndarray:
        from inria.ops.watermark import parse_messages

        if messages is None:
            return self.random_messages(n, seed=self.config.seed)
        arr = np.asarray(messages)
        if arr.ndim == 2 and arr.shape[1] > self.bits:
            raise InriaError(f"messages have {arr.shape[1]} bits but this watermarker carries {self.bits}",
                             where="messages", hint=f"at most {self.bits} bits (the bits field; K carriers)")
        return parse_messages(messages, n, self.bits)

    def embed(self, images, messages=None):
        """Mark each image with its message (bool (N, bits); None draws random ones)."""
        n = len(self._images(images, "images"))
        msgs = self._messages(messages, n)
        carriers = self.carriers().float().to(self.device)
        signs = torch.from_numpy(msgs.astype(np.float32) * 2 - 1).to(self.device)
        m, k = self.config.margin, self.bits

        def loss_w(ft, rows):
            dots = ft @ carriers.t()
            return torch.clamp(m - dots * signs[rows], min=0).sum() / k

        marked = self._mark(images, loss_w)
        return self._like(images, marked), msgs

    def embed_text(self, images, text: str | list[str]):
        """Mark with a text message (8 bits per character, zero-padded to ``bits``)."""
        from inria.ops.watermark import text_to_bits

        n = len(self._images(images, "images"))
        texts = [text] * n if isinstance(text, str) else list(text)
        if len(texts) != n:
            raise InriaError(f"{len(texts)} texts for {n} images", where="text")
        msgs = np.stack([text_to_bits(t, self.bits, where="text") for t in texts])
        return self.embed(images, msgs)

    def decoded_text(self, detection: Detection) -> list[str]:
        from inria.ops.watermark import bits_to_text

        return [bits_to_text(b) for b in detection.bits]

    def detect(self, images, reference=None) -> Detection:
        """Bits = signs of the projections; with ``reference``, bit accuracy and the binomial p-value.

        Without a reference there is nothing to test: p-values are 1 and
        nothing is detected (the decoded bits are returned).
        """
        from inria.eval.metrics import binomial_pvalue
        from inria.ops.watermark import parse_messages

        ft = self._decode_features(images)
        dots = ft @ self.carriers().t()
        bits = (dots > 0).numpy()
        n = len(bits)
        extra = {"projections": dots.float().numpy()}
        if reference is None:
            p = np.ones(n)
            return Detection(bits=bits, p_value=p, detected=np.zeros(n, bool), score=np.full(n, np.nan),
                             bit_accuracy=None, fpr=self.config.fpr, extra=extra)
        ref = parse_messages(reference, n, self.bits, where="reference")
        matches = (bits == ref).sum(-1)
        p = binomial_pvalue(matches, self.bits)
        return Detection(bits=bits, p_value=p, detected=p < self.config.fpr, score=matches.astype(float),
                         bit_accuracy=matches / self.bits, fpr=self.config.fpr,
                         extra={**extra, "word_correct": matches == self.bits})

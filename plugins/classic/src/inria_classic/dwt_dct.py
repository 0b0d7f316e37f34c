"""``dwt_dct``: frequency-domain watermarks from the invisible-watermark package.

The library (https://github.com/ShieldMnt/invisible-watermark, the watermark
of Stable Diffusion's reference scripts) is used as is; this module only
converts images and messages and adds the statistical test.

Methods (``method``), all the library's own:

- ``dwtDctSvd`` (default): Haar DWT of the U (chroma) plane, then per 4x4
  block a DCT and an SVD; each bit is quantised into the block's largest
  singular value. Decodes every bit of every test photo.
- ``dwtDct``: the library's default and Stable Diffusion's; the bit goes
  into the largest coefficient of each 4x4 block of the DWT's LL band. On
  flat images the embedding itself can move which coefficient is largest,
  so bits are lost even without an attack (coffee, 256x256: 62 % of 32
  bits), which is why it is not the default here.
- ``rivaGan``: a small learned encoder/decoder run with onnxruntime
  (optional extra ``rivagan``), fixed 32 bits, about 1-2 s per image on CPU.

Messages: any length works for the DWT methods (the library repeats the
``bits`` over the image's 8x8-pixel blocks, so more bits means fewer votes
per bit); RivaGAN takes exactly 32. The library refuses images of fewer
than 256*256 pixels, and with a side under 8 px no block fits.

Detection follows the core's rule for bit messages: the number m of decoded
bits equal to the reference gives p = P(Binomial(k, 1/2) >= m), the chance
that an unmarked image matches that well, and an image is *detected* when
p < ``fpr``. With 32 bits and fpr 1e-6 that means at least 30 matching bits.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import torch
from imwatermark import WatermarkDecoder, WatermarkEncoder
from inria import InriaError
from inria.config import doc
from inria.eval.metrics import binomial_pvalue, bit_accuracy
from inria.interfaces import Detection, Watermarker

from .images import check_image, from_rgb_array, to_rgb_array

MIN_PIXELS = 256 * 256  # the library's own check (WatermarkEncoder.encode / WatermarkDecoder.decode)
BLOCK = 8               # one Haar level halves each side, then 4x4 blocks: a bit lives in 8x8 pixels
MAX_BITS = 1024         # the fewest blocks an accepted image has is over 500; keep every bit voted on
RIVAGAN_BITS = 32


@dataclasses.dataclass
class DwtDctConfig:
    method: Literal["dwtDctSvd", "dwtDct", "rivaGan"] = doc(
        "dwtDctSvd", "the library's method: dwtDctSvd (robust), dwtDct (its default, fragile on flat images), "
                     "rivaGan (needs the 'rivagan' extra, 32 bits)")
    bits: int = doc(32, f"message length, 1..{MAX_BITS} (rivaGan: exactly {RIVAGAN_BITS})")
    fpr: float = doc(1e-6, "target false-positive rate: an image is detected when its binomial p-value is below it")

    def validate(self) -> None:
        if not 1 <= self.bits <= MAX_BITS:
            raise ValueError(f"bits {self.bits} is out of range; accepted: an integer 1..{MAX_BITS}")
        if self.method == "rivaGan" and self.bits != RIVAGAN_BITS:
            raise ValueError(f"bits {self.bits} does not work with method rivaGan; accepted: bits {RIVAGAN_BITS}")
        if not 0 < self.fpr < 1:
            raise ValueError(f"fpr {self.fpr} is not a probability; accepted: 0 < fpr < 1")


class DwtDct(Watermarker):
    """DWT-DCT(-SVD) and RivaGAN watermarks (invisible-watermark) with a binomial detection test."""

    name = "dwt_dct"
    Config = DwtDctConfig

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.bits = self.config.bits
        if self.config.method == "rivaGan":
            _load_rivagan()

    # -- the Watermarker contract -------------------------------------------------
    def embed(self, images, messages=None):
        """Mark each image with its message; returns (marked images in the input's kind, bool (N, bits) messages)."""
        batch, same_kind = self._batch(images, "embed")
        if messages is None:
            messages = self.random_messages(len(batch))
        messages = self._messages(messages, len(batch), "embed", "messages")
        marked = []
        for i, (image, message) in enumerate(zip(batch, messages)):
            encoder = WatermarkEncoder()
            encoder.set_watermark("bits", message.astype(int).tolist())
            bgr = encoder.encode(self._bgr(image, i, "embed"), self.config.method)
            marked.append(from_rgb_array(bgr[:, :, ::-1], device=image.device))
        return same_kind(marked), messages

    def detect(self, images, reference=None) -> Detection:
        """Decode each image's bits; with a reference message, test them (p-value, detected)."""
        batch, _ = self._batch(images, "detect")
        decoder = WatermarkDecoder("bits", self.bits)
        bits = np.zeros((len(batch), self.bits), dtype=bool)
        for i, image in enumerate(batch):
            bits[i] = np.asarray(decoder.decode(self._bgr(image, i, "detect"), self.config.method), dtype=bool)
        extra = {"method": self.config.method}
        if reference is None:  # nothing to test against: decoded bits only
            nan = np.full(len(batch), np.nan)
            return Detection(bits=bits, p_value=nan, detected=np.zeros(len(batch), bool), score=nan.copy(),
                             fpr=self.config.fpr, extra=extra)
        reference = self._messages(reference, len(batch), "detect", "reference")
        matches = (bits == reference).sum(axis=1)
        p_value = binomial_pvalue(matches, self.bits)
        return Detection(bits=bits, p_value=p_value, detected=p_value < self.config.fpr, score=matches.astype(float),
                         bit_accuracy=bit_accuracy(bits, reference), fpr=self.config.fpr, extra=extra)

    # -- conversions ------------------------------------------------------------------
    def _batch(self, images, verb):
        """A list of checked (3, H, W) images, and a function giving the output in the input's kind."""
        if isinstance(images, torch.Tensor) and images.dim() == 4:
            batch, same_kind = list(images.unbind(0)), lambda out: torch.stack(out) if out else images[:0].clone()
        elif isinstance(images, torch.Tensor) and images.dim() == 3:
            batch, same_kind = [images], lambda out: out[0]
        elif isinstance(images, (list, tuple)):
            batch, same_kind = list(images), list
        else:
            raise InriaError(f"got {type(images).__name__} {tuple(getattr(images, 'shape', ()))}",
                             where=f"{self.name}.{verb}",
                             hint="accepted: a float tensor (N, 3, H, W) in [0, 1], or a list of (3, H, W) ones")
        return [check_image(im, where=f"{self.name}.{verb}: image {i}") for i, im in enumerate(batch)], same_kind

    def _bgr(self, image: torch.Tensor, index: int, verb: str) -> np.ndarray:
        """(3, H, W) float RGB -> the library's (H, W, 3) uint8 BGR, after checking it is large enough."""
        h, w = image.shape[-2:]
        if h * w < MIN_PIXELS or min(h, w) < BLOCK or (h // BLOCK) * (w // BLOCK) < self.bits:
            raise InriaError(
                f"image {index} is {h}x{w} px, below the minimum of {MIN_PIXELS} px (256x256) with sides >= {BLOCK} px"
                + (f" and {self.bits} blocks of {BLOCK}x{BLOCK} px" if h * w >= MIN_PIXELS and min(h, w) >= BLOCK else ""),
                where=f"{self.name}.{verb}",
                hint="use larger images; after a shrinking attack resize back with its _up suffix (crop_0.5_up)")
        return np.ascontiguousarray(to_rgb_array(image)[:, :, ::-1])

    def _messages(self, messages, n: int, verb: str, what: str) -> np.ndarray:
        """Bool (n, bits) from (n, bits) or one (bits,) message for all; 0/1 ints accepted."""
        arr = np.asarray(messages.cpu() if isinstance(messages, torch.Tensor) else messages)
        if arr.ndim == 1 and arr.shape[0] == self.bits:
            arr = np.broadcast_to(arr, (n, self.bits))
        if arr.shape != (n, self.bits) or not (arr.dtype == bool or np.isin(arr, (0, 1)).all()):
            raise InriaError(f"{what} of shape {arr.shape} ({arr.dtype})", where=f"{self.name}.{verb}",
                             hint=f"accepted: bool or 0/1 of shape ({n}, {self.bits}), or one ({self.bits},) message for all")
        return np.array(arr, dtype=bool)


def _load_rivagan() -> None:
    """Load the library's RivaGAN ONNX sessions (once per process), or say which extra to install."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise InriaError("method 'rivaGan' needs onnxruntime, which is not installed", where="dwt_dct.method",
                         hint="pip install 'inria-plugin-classic[rivagan]'") from None
    WatermarkEncoder.loadModel()

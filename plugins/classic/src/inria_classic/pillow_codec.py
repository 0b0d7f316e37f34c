"""What JPEG and WebP share: Pillow does the coding, we pick the quality.

The bytes a codec returns are the image file itself (a complete JPEG or
WebP file, header included), so bpp = ``len(data) * 8 / (H * W)`` counts
everything a decoder needs, and any image viewer opens the output. These
formats carry their own size, so no :mod:`inria.bitstream` container is
added around them.

Rate control. ``quality`` (1..100) is passed to the encoder as is. When
``target_bpp`` is set it wins: for each image, a bisection over the integer
qualities 1..100 finds the largest quality whose file fits the budget
(``len(data) * 8 <= target_bpp * H * W``), about 7 encodes per image. File
size grows with quality for both formats, so the largest fitting quality is
also the one with the largest rate <= target. When even quality 1 is over
budget, the quality-1 file is returned (the smallest the format can do), so
its rate is above the target.
"""
from __future__ import annotations

import dataclasses
import io
from typing import ClassVar

import numpy as np
from inria import InriaError
from inria.config import doc
from inria.interfaces import Codec
from PIL import Image

from .images import check_image, from_rgb_array, to_rgb_array

QUALITY_RANGE = (1, 100)


@dataclasses.dataclass
class PillowConfig:
    quality: int = doc(75, "encoder quality, 1 (smallest file) .. 100 (best); ignored when target_bpp is set")
    target_bpp: float | None = doc(None, "bits per pixel to aim at: per image, the largest quality whose "
                                         "file is at most this rate (bisection over 1..100); null = use quality")

    def validate(self) -> None:
        lo, hi = QUALITY_RANGE
        if not lo <= self.quality <= hi:
            raise ValueError(f"quality {self.quality} is out of range; accepted: an integer {lo}..{hi}")
        if self.target_bpp is not None and not self.target_bpp > 0:
            raise ValueError(f"target_bpp {self.target_bpp} is not a positive number of bits per pixel; "
                             f"accepted: > 0, or null to use quality")


class PillowCodec(Codec):
    """A codec whose bytes are a file Pillow writes and reads (subclasses: jpeg, webp)."""

    Config = PillowConfig
    #: Pillow's format name
    format: ClassVar[str] = ""
    #: the largest side the format can store
    max_side: ClassVar[int] = 0

    # -- what a subclass says about its format ------------------------------
    def save_options(self) -> dict:
        """Format-specific keyword arguments of ``Image.save`` (besides quality)."""
        return {}

    @staticmethod
    def looks_like(data: bytes) -> bool:
        """True when ``data`` starts like a file of this format (checked before any parsing)."""
        raise NotImplementedError

    # -- the Codec contract -----------------------------------------------------
    def compress(self, image) -> bytes:
        """One (3, H, W) float image in [0, 1] -> the bytes of a complete file."""
        image = check_image(image, where=f"{self.name}.compress")
        h, w = image.shape[-2:]
        if max(h, w) > self.max_side:
            raise InriaError(f"image of {h}x{w} px is too large for {self.format}", where=f"{self.name}.compress",
                             hint=f"accepted: sides up to {self.max_side} px")
        picture = Image.fromarray(to_rgb_array(image))
        if self.config.target_bpp is None:
            return self.encode(picture, self.config.quality)
        return self.search_quality(picture)[1]

    def decompress(self, data: bytes):
        """The bytes of a file of this format -> the (3, H, W) float image."""
        where = f"{self.name}.decompress"
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InriaError(f"got a {type(data).__name__}", where=where, hint=f"accepted: the bytes of a {self.format} file")
        data = bytes(data)
        if not self.looks_like(data):
            raise InriaError(f"these {len(data)} bytes are not a {self.format} file", where=where,
                             hint=f"accepted: the bytes {self.name}.compress returns")
        try:
            # formats=[...]: Pillow must not fall back to another decoder.
            with Image.open(io.BytesIO(data), formats=[self.format]) as picture:
                picture.load()  # decode now, so a truncated file fails here
                rgb = picture.convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise InriaError(f"corrupt or truncated {self.format} file ({len(data)} bytes): {e}", where=where) from None
        return from_rgb_array(np.asarray(rgb))

    # -- rate control ----------------------------------------------------------------
    def encode(self, picture: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        picture.save(buf, format=self.format, quality=int(quality), **self.save_options())
        return buf.getvalue()

    def search_quality(self, picture: Image.Image) -> tuple[int, bytes]:
        """(quality, file) for ``target_bpp``: the largest quality whose file fits the budget."""
        budget_bits = self.config.target_bpp * picture.width * picture.height
        lo, hi = QUALITY_RANGE
        best = None
        tried = {}
        while lo <= hi:
            mid = (lo + hi) // 2
            tried[mid] = data = self.encode(picture, mid)
            if len(data) * 8 <= budget_bits:
                best, lo = (mid, data), mid + 1
            else:
                hi = mid - 1
        if best is None:  # over budget even at the lowest quality: the smallest file there is
            q = QUALITY_RANGE[0]
            best = (q, tried.get(q) or self.encode(picture, q))
        return best

"""``jpeg``: baseline JPEG through Pillow (libjpeg), the reference every codec is compared to."""
from __future__ import annotations

import dataclasses
from typing import Literal

from inria.config import doc

from .pillow_codec import PillowCodec, PillowConfig


@dataclasses.dataclass
class JpegConfig(PillowConfig):
    # In YAML write it quoted ('4:2:0'): YAML 1.1 reads an unquoted 4:2:0 as the base-60 number 14520.
    subsampling: Literal["4:2:0", "4:2:2", "4:4:4"] = doc(
        "4:2:0", "chroma subsampling; 4:2:0 halves both chroma sides (the usual JPEG), 4:4:4 keeps them")


class Jpeg(PillowCodec):
    """JPEG (Pillow/libjpeg): quality 1..100 or a target bpp; bytes = the .jpg file."""

    name = "jpeg"  # the entry-point name (the registry sets it too)
    Config = JpegConfig
    format = "JPEG"
    max_side = 65500  # libjpeg's JPEG_MAX_DIMENSION

    def save_options(self) -> dict:
        return {"subsampling": self.config.subsampling}

    @staticmethod
    def looks_like(data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"  # SOI marker, then the next marker
